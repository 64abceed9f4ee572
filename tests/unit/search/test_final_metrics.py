"""The store's side of Search: final_metrics kept beside metric_points (and filled by the
migration from points already there), the number parser both backends share, and the
preloads that let Search render a page through each family's Describe."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kamado.store.database import Database
from kamado.store.metrics import MetricPoint, MetricStore
from kamado.store.tables import final_metrics, metric_points
from kamado.store.types import parse_integer, parse_number
from tests.conftest_store import ctx, db, db_url, resources  # noqa: F401


def finals(db):  # noqa: F811
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(final_metrics.c.source_arn, final_metrics.c.name,
                                      final_metrics.c.value, final_metrics.c.step).order_by(
            final_metrics.c.source_arn, final_metrics.c.name)).all()
    return [tuple(r) for r in rows]


def test_put_keeps_the_newest_point_of_each_metric(db):  # noqa: F811
    m = MetricStore(db)
    m.put("a", [MetricPoint("x", 1.0, 10, 0), MetricPoint("y", 2.0, 10), MetricPoint("x", 3.0,
                                                                                     5, 1)])
    m.put("a", [MetricPoint("x", 4.0, 1, 2)])  # written last: newest, whatever its timestamp
    m.put("b", [MetricPoint("x", 9.0, 1)])
    assert finals(db) == [("a", "x", 4.0, 2), ("a", "y", 2.0, None), ("b", "x", 9.0, None)]
    assert {k: p.value for k, p in m.last("a").items()} == {"x": 4.0, "y": 2.0}
    m.delete("a")
    assert finals(db) == [("b", "x", 9.0, None)]


def test_preloaded_last_answers_from_one_query(db):  # noqa: F811
    m = MetricStore(db)
    m.put("a", [MetricPoint("x", 1.0, 10, 3)])
    with m.preloaded(["a", "none"]):
        with db.engine.connect() as conn:  # the points go; the preload still answers
            conn.execute(metric_points.delete())
            conn.commit()
        assert m.last("a") == {"x": MetricPoint("x", 1.0, 10, 3)}
        assert m.last("none") == {}
    assert m.last("a") == {}


def test_preloaded_resources_answer_get(resources, ctx):  # noqa: F811
    made = resources.create(ctx, "Experiment", "Exp", "arn:exp", {"n": 1})
    with resources.preloaded([made]):
        resources.update(ctx, "Experiment", "Exp", {"n": 2})  # for update: reads the row
        assert resources.get(ctx, "Experiment", "exp").data == {"n": 1}  # case-insensitive key
        assert resources.get(ctx, "Experiment", "Exp", for_update=True).data == {"n": 2}
    assert resources.get(ctx, "Experiment", "Exp").data == {"n": 2}


def test_the_migration_fills_final_metrics_from_existing_points(db_url):  # noqa: F811
    database = Database(db_url)
    try:
        database.upgrade("0002")
        with database.engine.begin() as conn:
            conn.execute(metric_points.insert(), [
                dict(source_arn="a", name="x", value=v, timestamp=i, step=i)
                for i, v in enumerate((1.0, 5.0, 2.0))] + [
                dict(source_arn="b", name="x", value=7.0, timestamp=0, step=None)])
        database.upgrade()
        assert database.current_revision() == "0003"
        assert finals(database) == [("a", "x", 2.0, 2), ("b", "x", 7.0, None)]
    finally:
        database.close()


@pytest.mark.parametrize("text,number,integer", [
    ("0.3", 0.3, 0.0), ("2.7", 2.7, 2.0), ("-2.7", -2.7, -2.0), ("1e-2", 0.01, 0.0),
    (".5", 0.5, 0.0), ("5.", 5.0, 5.0), ("+3", 3.0, 3.0), ("abc", None, None),
    (" 1", None, None), ("1\n", None, None), ("1e300", None, None), ("", None, None),
    ("0x10", None, None), ("nan", None, None), ("١", None, None), (None, None, None),
])
def test_what_reads_as_a_number(text, number, integer):
    assert parse_number(text) == number
    assert parse_integer(text) == integer


def test_both_backends_read_numbers_alike(db):  # noqa: F811
    """SQLite through kamado_number, Postgres through the same pattern and a cast."""
    texts = ["0.3", "-2.75", "1e-2", ".5", "5.", "+3", "abc", " 1", "1e300", "",
             "123456789012345678901234567890.5", "7e99"]
    from kamado.store.types import NUMBER_PATTERN

    with db.engine.connect() as conn:
        for t in texts:
            if db.dialect == "postgresql":
                got = conn.execute(sa.text(
                    "SELECT CASE WHEN CAST(:t AS text) ~ :p THEN CAST(:t AS float8) END"),
                    {"t": t, "p": NUMBER_PATTERN}).scalar()
            else:
                got = conn.execute(sa.text("SELECT kamado_number(:t)"), {"t": t}).scalar()
            assert got == parse_number(t), t
