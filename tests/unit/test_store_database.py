"""The database: migrations, transactions, SQLite settings, concurrent writers, column types."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from kamado.store.database import Database
from kamado.store.tables import metadata, resources as res_t
from kamado.store.types import decode_value, encode_value, escape_nul, unescape_nul
from tests.conftest_store import ctx, db, db_url, resources  # noqa: F401

TABLES = {"resources", "tags", "associations", "log_groups", "log_streams", "log_events", "metric_points",
          "final_metrics"}


def table_names(database: Database) -> set[str]:
    return set(sa.inspect(database.engine).get_table_names())


def test_upgrade_creates_the_schema_on_an_empty_database(db_url):
    database = Database(db_url)
    try:
        assert database.current_revision() is None
        assert not TABLES & table_names(database)
        database.upgrade()
        assert TABLES <= table_names(database)
        assert database.current_revision() == database.head_revision() == "0003"
    finally:
        database.close()


def test_upgrading_twice_is_a_no_op(db, resources, ctx):
    resources.create(ctx, "Experiment", "kept", "arn:kept", {"n": 1})
    db.upgrade()
    assert db.current_revision() == "0003"
    assert resources.get(ctx, "Experiment", "kept").data == {"n": 1}


def test_migrations_build_exactly_the_tables_module(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                metadata)
    assert diff == []


def test_sqlite_connection_settings(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'deep' / 'er' / 'k.db'}")  # parents made
    try:
        with database.session(write=False) as s:
            pragma = lambda name: s.execute(sa.text(f"PRAGMA {name}")).scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("synchronous") == 1  # NORMAL
            assert pragma("busy_timeout") == 30000
    finally:
        database.close()


def test_session_commits_or_rolls_back_and_nested_sessions_join(db, resources, ctx):
    with pytest.raises(RuntimeError):
        with db.session():
            resources.create(ctx, "Experiment", "doomed", "arn:doomed", {})
            raise RuntimeError("boom")
    assert resources.get(ctx, "Experiment", "doomed", missing_ok=True) is None

    with pytest.raises(RuntimeError):
        with db.session() as outer:
            with db.session() as inner:
                assert inner is outer
                resources.create(ctx, "Experiment", "inner", "arn:inner", {})
            raise RuntimeError("outer fails after inner finished")
    assert resources.get(ctx, "Experiment", "inner", missing_ok=True) is None

    with db.session():
        resources.create(ctx, "Experiment", "kept", "arn:kept", {})
    assert resources.get(ctx, "Experiment", "kept").name == "kept"


def test_a_duplicate_inside_a_transaction_leaves_the_transaction_usable(db, resources, ctx):
    from kamado.errors import ValidationError

    with db.session():
        resources.create(ctx, "Experiment", "one", "arn:one", {})
        with pytest.raises(ValidationError):
            resources.create(ctx, "Experiment", "one", "arn:one", {})
        resources.create(ctx, "Experiment", "two", "arn:two", {})
    assert {r.name for r in resources.list(ctx, "Experiment")[0]} == {"one", "two"}


def test_concurrent_read_modify_write_loses_nothing(db, resources, ctx):
    """Many threads increment one counter: each a read followed by a write in one
    transaction. SQLite needs BEGIN IMMEDIATE for this, Postgres the row lock."""
    resources.create(ctx, "Counter", "c", "arn:counter", {"n": 0})
    threads, per_thread, errors = 8, 10, []

    def work():
        try:
            for _ in range(per_thread):
                resources.update(ctx, "Counter", "c", lambda d: {"n": d["n"] + 1})
        except Exception as exc:  # collected, the assertion below reports it
            errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    assert resources.get(ctx, "Counter", "c").data["n"] == threads * per_thread


AWKWARD = {
    "when": dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone(dt.timedelta(hours=5))),
    "nul": "a\x00b\x01c",
    "nan": float("nan"),
    "inf": float("-inf"),
    "blob": b"\x00\xffbytes",
    "looks_tagged": {"__dt__": "not a date"},
    "nul key": {"k\x00": 1},
    "nested": [{"t": dt.datetime(1999, 12, 31, tzinfo=dt.timezone.utc)}, None, True, 3, 2.5],
}


def test_json_data_round_trips_python_values(resources, ctx):
    resources.create(ctx, "Thing", "t", "arn:t", AWKWARD)
    data = resources.get(ctx, "Thing", "t").data
    assert data["when"] == AWKWARD["when"]
    assert data["when"].tzinfo == dt.timezone.utc
    assert data["nul"] == "a\x00b\x01c"
    assert data["nan"] != data["nan"]  # NaN
    assert data["inf"] == float("-inf")
    assert data["blob"] == b"\x00\xffbytes"
    assert data["looks_tagged"] == {"__dt__": "not a date"}
    assert data["nul key"] == {"k\x00": 1}
    assert data["nested"] == AWKWARD["nested"]


def test_text_columns_accept_nul_on_every_backend(db, resources, ctx):
    resources.create(ctx, "Thing", "t", "arn:t", {})
    resources.add_tags("arn:t", [{"Key": "k\x00", "Value": "v\x00\x01"}])
    assert resources.list_tags("arn:t")[0] == [{"Key": "k\x00", "Value": "v\x00\x01"}]


def test_timestamps_are_stored_in_utc(db, resources, ctx):
    created = dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    resources.create(ctx, "Thing", "t", "arn:t", {}, creation_time=created)
    with db.session(write=False) as s:
        raw = s.execute(sa.select(res_t.c.creation_time)).scalar()
    assert raw == dt.datetime(2026, 5, 6, 14, 8, 9, tzinfo=dt.timezone.utc)
    assert resources.get(ctx, "Thing", "t").creation_time == created


@pytest.mark.parametrize("text", ["", "plain", "\x00", "\x01", "\x01\x02", "a\x00\x01\x00b"])
def test_nul_escaping_is_lossless(text):
    assert unescape_nul(escape_nul(text)) == text
    assert "\x00" not in escape_nul(text)


def test_json_encoding_refuses_what_it_cannot_store():
    with pytest.raises(TypeError):
        encode_value({"x": object()})
    assert decode_value(encode_value({"d": {"__pairs__": 1}})) == {"d": {"__pairs__": 1}}
