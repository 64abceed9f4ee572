"""What a search expression becomes in SQL on each backend, and what is left to Python."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

import kamado.services.sagemaker.search as registrations  # registers the families
from kamado.search.expression import Junction, parse
from kamado.search.query import Query, _required
from kamado.search.sql import Translator, order_by
from kamado.store.tables import resources as res_t

TJ = registrations.searchable("TrainingJob").schema


def sql_of(dialect: str, expression: dict, sort: str | None = None):
    entry = registrations.searchable("TrainingJob")
    query = Query(None, Translator(dialect, entry.fields), "TrainingJob", None)
    plan = query.plan(parse(expression, entry.schema),
                      entry.schema.resolve(sort) if sort else None)
    statement = sa.select(res_t.c.id).select_from(plan.sql.from_()).where(*plan.where)
    if plan.sort_keys is not None:
        statement = statement.order_by(*order_by(plan.sort_keys, True))
    d = sqlite.dialect() if dialect == "sqlite" else postgresql.dialect()
    return plan, str(statement.compile(dialect=d, compile_kwargs={"literal_binds": True}))


def test_a_metric_filter_and_sort_become_one_indexed_join():
    expression = {"Filters": [{"Name": "Metrics.validation:auc", "Operator": "GreaterThan",
                               "Value": "0.9"}]}
    for dialect in ("sqlite", "postgresql"):
        plan, text = sql_of(dialect, expression, "Metrics.validation:auc")
        assert plan.residual is None
        assert ("JOIN final_metrics AS s0 ON s0.source_arn = resources.arn AND s0.name = "
                "'validation:auc'") in text
        assert "s0.value > 0.9" in text and "ORDER BY s0.value DESC, resources.id DESC" in text
        assert "EXISTS" not in text and "LEFT OUTER" not in text
    # sorted by a metric that no condition requires: an outer join, resources without it last
    plan, text = sql_of("sqlite", {"Filters": [{"Name": "TrainingJobName", "Value": "x"}]},
                        "Metrics.validation:auc")
    assert "LEFT OUTER JOIN final_metrics" in text
    assert "ORDER BY CASE WHEN (s0.value IS NOT NULL) THEN 0 ELSE 2 END ASC" in text


def test_json_paths_per_backend():
    e = {"Filters": [{"Name": "HyperParameters.eta", "Operator": "LessThan", "Value": "0.5"},
                     {"Name": "InputDataConfig.ChannelName", "Value": "train"}]}
    _, text = sql_of("sqlite", e)
    assert ("kamado_number(CASE WHEN (json_type(resources.data, "
            "'$.\"HyperParameters\".\"eta\"') = 'text')") in text
    assert "json_each(resources.data, '$.\"InputDataConfig\"')" in text
    _, text = sql_of("postgresql", e)
    assert "resources.data #>> ARRAY['HyperParameters', 'eta']" in text
    assert "jsonb_array_elements" in text and " ~ '^[+-]?" in text


def test_tags_are_rows_of_their_own_table():
    _, text = sql_of("sqlite", {"Filters": [{"Name": "Tags.team", "Operator": "In",
                                             "Value": "a,b"}]})
    assert "EXISTS (SELECT 1 AS anon_1 \nFROM tags AS r0 \nWHERE r0.arn = resources.arn AND " \
           "r0.\"key\" = 'team' AND r0.value IN ('a', 'b'))" in text


def test_what_is_left_to_python():
    e = {"Filters": [{"Name": "TrainingJobName", "Operator": "Contains", "Value": "a"},
                     {"Name": "TrainingTimeInSeconds", "Operator": "GreaterThan", "Value": "9"}]}
    plan, _ = sql_of("sqlite", e)
    assert len(plan.where) == 1 and plan.residual.prop.name == "TrainingTimeInSeconds"
    # an Or goes to SQL whole or not at all
    plan, _ = sql_of("sqlite", {**e, "Operator": "Or"})
    assert plan.where == [] and isinstance(plan.residual, Junction)
    # a property kept nowhere in SQL cannot be sorted on there
    plan, _ = sql_of("sqlite", {"Filters": [{"Name": "TrainingJobName"}]},
                     "BillableTimeInSeconds")
    assert plan.sort_keys is None


def test_the_same_search_compiles_to_the_same_sql():
    """Alias names come from the query, not a global counter: SQLAlchemy's statement cache
    sees the same statement every time."""
    e = {"Filters": [{"Name": "Tags.a", "Value": "1"}, {"Name": "Tags.b", "Value": "2"}],
         "NestedFilters": [{"NestedPropertyName": "InputDataConfig", "Filters": [
             {"Name": "InputDataConfig.ChannelName", "Value": "x"}]}]}
    assert sql_of("sqlite", e, "Tags.c")[1] == sql_of("sqlite", e, "Tags.c")[1]


def test_required_sees_only_top_level_conditions_that_need_a_value():
    prop = TJ.resolve("Metrics.m")
    need = parse({"Filters": [{"Name": "Metrics.m", "Operator": "LessThan", "Value": "1"}]}, TJ)
    assert _required(need, prop)
    assert not _required(parse({"Filters": [{"Name": "Metrics.m", "Operator": "NotEquals",
                                             "Value": "1"}]}, TJ), prop)
    assert not _required(parse({"Operator": "Or", "Filters": [
        {"Name": "Metrics.m", "Operator": "LessThan", "Value": "1"},
        {"Name": "TrainingJobName", "Value": "x"}]}, TJ), prop)
