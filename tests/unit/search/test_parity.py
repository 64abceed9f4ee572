"""SQL and Python agree: every condition kamado translates into SQL selects exactly the
resources the Python evaluator (the definition of each operator) selects on the rendered
records, sorts them the same way and pages through them the same way — on SQLite and
Postgres, over training jobs built to hit the corners (numbers and non-numbers as
hyperparameters, missing members, lists of 0-3 elements, tags, metrics, booleans, times)."""

from __future__ import annotations

import random

import pytest

from kamado.search import searchable
from kamado.search.expression import parse
from tests.unit.search.stock import CTX, platform, query_for, random_jobs  # noqa: F401

JOBS = 120
SCOPE = "test"

# (property, operator, values): every one translates into SQL for training jobs.
CASES = [
    ("TrainingJobName", "Equals", ["Job-003-beta", "job-003-beta"]),
    ("TrainingJobName", "NotEquals", ["Job-003-beta"]),
    ("TrainingJobName", "Contains", ["alpha", "Gamma", "gamma", "-01"]),
    ("TrainingJobName", "In", ["Job-001-alpha,Job-002-beta, Job-003-Gamma"]),
    ("TrainingJobName", "Exists", [None]),
    ("TrainingJobStatus", "Equals", ["Completed", "Failed"]),
    ("TrainingJobStatus", "In", ["Failed,Stopped"]),
    ("TrainingJobStatus", "NotEquals", ["Completed"]),
    ("HyperParameters.eta", "GreaterThan", ["0.3", "0.29", "1", "2", "-5"]),
    ("HyperParameters.eta", "GreaterThanOrEqualTo", ["0.3", "2"]),
    ("HyperParameters.eta", "LessThan", ["0.1", "1", "0"]),
    ("HyperParameters.eta", "LessThanOrEqualTo", ["2", "0.05"]),
    ("HyperParameters.eta", "Equals", ["0.3", "2", "abc", "0.30"]),
    ("HyperParameters.eta", "NotEquals", ["0.3", "abc"]),
    ("HyperParameters.eta", "Contains", ["0", "."]),
    ("HyperParameters.eta", "In", ["abc,2,0.3"]),
    ("HyperParameters.eta", "Exists", [None]),
    ("HyperParameters.eta", "NotExists", [None]),
    ("HyperParameters.max_depth", "GreaterThan", ["5", "5.5"]),
    ("HyperParameters.objective", "Equals", ["binary:logistic"]),
    ("HyperParameters.objective", "Contains", ["soft", "reg:"]),
    ("HyperParameters.model.dotted", "Equals", ["x"]),
    ("HyperParameters.model.dotted", "Exists", [None]),
    ("Metrics.validation:auc", "GreaterThan", ["0.5", "0.9"]),
    ("Metrics.validation:auc", "LessThanOrEqualTo", ["0.2"]),
    ("Metrics.validation:auc", "Equals", ["0.5"]),
    ("Metrics.validation:auc", "NotEquals", ["0.5"]),
    ("Metrics.validation:auc", "Exists", [None]),
    ("Metrics.train:loss", "NotExists", [None]),
    ("Metrics.nothing", "Exists", [None]),
    ("FinalMetricDataList.Value", "GreaterThan", ["0.95"]),
    ("FinalMetricDataList.MetricName", "Equals", ["train:loss"]),
    ("Tags.team", "Equals", ["vision", "Vision"]),
    ("Tags.team", "NotEquals", ["vision"]),
    ("Tags.team", "Contains", ["i"]),
    ("Tags.team", "In", ["nlp,ml-ops"]),
    ("Tags.team", "Exists", [None]),
    ("Tags.team", "NotExists", [None]),
    ("Tags.owner:id", "Equals", ["2"]),
    ("Tags", "Exists", [None]),
    ("InputDataConfig.ChannelName", "Equals", ["validation"]),
    ("InputDataConfig.ChannelName", "NotEquals", ["train"]),
    ("InputDataConfig.ChannelName", "In", ["test,validation"]),
    ("InputDataConfig.DataSource.S3DataSource.S3Uri", "Contains", ["/test/", "Job-00"]),
    ("InputDataConfig", "Exists", [None]),
    ("InputDataConfig", "NotExists", [None]),
    ("ResourceConfig.InstanceCount", "GreaterThan", ["2"]),
    ("ResourceConfig.InstanceCount", "Equals", ["1"]),
    ("ResourceConfig.InstanceType", "Equals", ["ml.c5.xlarge"]),
    ("ResourceConfig", "Exists", [None]),
    ("EnableNetworkIsolation", "Equals", ["true", "FALSE"]),
    ("EnableNetworkIsolation", "NotEquals", ["true"]),
    ("TrainingStartTime", "GreaterThan", ["2026-03-01T05:00:00", "2026-03-01T05:00:00.25Z"]),
    ("TrainingStartTime", "LessThanOrEqualTo", ["2026-03-01T02:00:00+00:00"]),
    ("TrainingStartTime", "Equals", ["2026-03-01T00:00:00"]),
    ("TrainingEndTime", "NotExists", [None]),
    ("CreationTime", "GreaterThan", ["2026-03-01T01:00:00"]),
    ("LastModifiedTime", "LessThan", ["2026-03-01T02:00:00"]),
    ("VpcConfig.Subnets", "Equals", ["subnet-b"]),
    ("VpcConfig.Subnets", "NotEquals", ["subnet-b"]),
    ("VpcConfig", "Exists", [None]),
    ("SecondaryStatusTransitions.Status", "Equals", ["Training"]),
    ("SecondaryStatusTransitions.StatusMessage", "Contains", ["ing now"]),
    ("FailureReason", "Contains", ["Error"]),
    ("FailureReason", "Exists", [None]),
    ("ModelArtifacts", "NotExists", [None]),
]

NESTED = [
    {"NestedPropertyName": "InputDataConfig", "Filters": [
        {"Name": "InputDataConfig.ChannelName", "Operator": "Equals", "Value": "test"},
        {"Name": "InputDataConfig.DataSource.S3DataSource.S3Uri", "Operator": "Contains",
         "Value": "Job-0"}]},
    {"NestedPropertyName": "FinalMetricDataList", "Filters": [
        {"Name": "FinalMetricDataList.MetricName", "Operator": "Equals", "Value": "train:loss"},
        {"Name": "FinalMetricDataList.Value", "Operator": "LessThan", "Value": "0.5"}]},
    {"NestedPropertyName": "SecondaryStatusTransitions", "Filters": [
        {"Name": "SecondaryStatusTransitions.Status", "Operator": "NotEquals",
         "Value": "Training"}]},
]

SORTS = ["TrainingJobName", "TrainingJobStatus", "CreationTime", "LastModifiedTime",
         "HyperParameters.eta", "HyperParameters.max_depth", "HyperParameters.objective",
         "Metrics.validation:auc", "Metrics.train:loss", "Tags.team", "Tags.owner:id",
         "ResourceConfig.InstanceCount", "ResourceConfig.InstanceType", "TrainingStartTime",
         "EnableNetworkIsolation", "FailureReason"]


def _filter(name, op, value):
    return {"Name": name, "Operator": op, **({"Value": value} if value is not None else {})}


@pytest.fixture(scope="module")
def jobs(platform):  # noqa: F811
    return random_jobs(platform, JOBS)


def names(platform, expression, sort=None, descending=True, python=False,  # noqa: F811
          page_size=1000, expect_sql=True):
    entry = searchable("TrainingJob")
    node = parse(expression, entry.schema)
    prop = entry.schema.resolve(sort) if sort else None
    query = query_for(platform, entry)
    if expect_sql and not python:
        plan = query.plan(node, prop)
        assert plan.residual is None, f"not translated: {expression}"
        assert plan.sort_keys is not None, f"sort not translated: {sort}"
    out, token = [], None
    while True:
        page = query.page(CTX, node, prop, descending, page_size, token, SCOPE,
                          python_only=python)
        out += [r["TrainingJobName"] for r in page.records]
        token = page.next_token
        if not token:
            return out, page


@pytest.mark.parametrize("name,op,values", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_each_condition_selects_what_python_selects(platform, jobs, name, op, values):  # noqa: F811
    for value in values:
        expression = {"Filters": [_filter(name, op, value)]}
        in_sql, page = names(platform, expression)
        in_python, _ = names(platform, expression, python=True)
        assert in_sql == in_python, (name, op, value)
        assert page.total == len(in_sql) and page.exact


def test_the_cases_are_not_vacuous(platform, jobs):  # noqa: F811
    """Most cases select some jobs and leave out others, so agreeing means something."""
    mixed = 0
    for name, op, values in CASES:
        for value in values:
            found, _ = names(platform, {"Filters": [_filter(name, op, value)]})
            mixed += 0 < len(found) < JOBS
    assert mixed >= 0.8 * sum(len(v) for _, _, v in CASES)


@pytest.mark.parametrize("nested", NESTED, ids=[n["NestedPropertyName"] for n in NESTED])
def test_nested_filters_agree(platform, jobs, nested):  # noqa: F811
    expression = {"NestedFilters": [nested]}
    in_sql, _ = names(platform, expression)
    assert in_sql == names(platform, expression, python=True)[0]
    assert 0 < len(in_sql) < JOBS


def test_random_expressions_agree(platform, jobs):  # noqa: F811
    rng = random.Random(11)
    flat = [(n, o, v) for n, o, values in CASES for v in values]

    def expression(depth: int) -> dict:
        out: dict = {"Filters": [_filter(*rng.choice(flat)) for _ in range(rng.randint(1, 3))]}
        if rng.random() < 0.3:
            out["NestedFilters"] = [rng.choice(NESTED)]
        if depth and rng.random() < 0.6:
            out["SubExpressions"] = [expression(depth - 1) for _ in range(rng.randint(1, 2))]
        out["Operator"] = rng.choice(["And", "Or"])
        return out

    checked = 0
    for _ in range(60):
        e = expression(2)
        contains = sum(f["Operator"] == "Contains" for f in _walk_filters(e))
        if contains > 1:
            continue
        in_sql, _ = names(platform, e)
        assert in_sql == names(platform, e, python=True)[0], e
        checked += 1
    assert checked > 30


def _walk_filters(e):
    yield from e.get("Filters") or []
    for n in e.get("NestedFilters") or []:
        yield from n["Filters"]
    for s in e.get("SubExpressions") or []:
        yield from _walk_filters(s)


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("descending", [True, False], ids=["desc", "asc"])
def test_sorting_and_paging_agree(platform, jobs, sort, descending):  # noqa: F811
    everything, _ = names(platform, None, sort, descending)
    assert len(everything) == JOBS
    assert everything == names(platform, None, sort, descending, python=True)[0]
    # pages of 7, through NextToken, in SQL and in Python, give the same sequence
    assert names(platform, None, sort, descending, page_size=7)[0] == everything
    assert names(platform, None, sort, descending, python=True, page_size=7)[0] == everything


@pytest.mark.parametrize("sort", ["Metrics.validation:auc", "Tags.team", "TrainingJobName"])
def test_a_filter_on_the_sort_property_agrees(platform, jobs, sort):  # noqa: F811
    op, value = {"Metrics.validation:auc": ("GreaterThan", "0.3"),
                 "Tags.team": ("NotEquals", "nlp"),
                 "TrainingJobName": ("Contains", "lph")}[sort]
    e = {"Filters": [_filter(sort, op, value)]}
    for descending in (True, False):
        in_sql, page = names(platform, e, sort, descending, page_size=5)
        assert in_sql == names(platform, e, sort, descending, python=True)[0]
        assert 0 < len(in_sql) < JOBS


@pytest.mark.parametrize("batch", [200, 10])
def test_conditions_left_to_python_page_like_the_rest(platform, jobs, batch,  # noqa: F811
                                                       monkeypatch):
    """TrainingTimeInSeconds is computed by Describe, so it is evaluated on rendered records
    (read ``batch`` rows at a time); mixed with SQL conditions, paged 4 at a time, the answer
    is the same."""
    monkeypatch.setattr("kamado.search.query.BATCH", batch)
    e = {"Filters": [_filter("TrainingTimeInSeconds", "GreaterThan", "200"),
                     _filter("HyperParameters.eta", "Exists", None)]}
    entry = searchable("TrainingJob")
    plan = query_for(platform, entry).plan(parse(e, entry.schema), None)
    assert len(plan.where) == 1 and plan.residual is not None
    paged, page = names(platform, e, expect_sql=False, page_size=4)
    assert paged == names(platform, e, python=True)[0]
    assert 0 < len(paged) < JOBS
    assert page.exact and page.total == len(paged)
    first = query_for(platform, entry).page(CTX, parse(e, entry.schema), None, True, 2, None,
                                            SCOPE)
    if batch < JOBS:  # a lower bound until the scan has read every row
        assert not first.exact and 3 <= first.total <= len(paged)
    else:
        assert first.exact and first.total == len(paged)


@pytest.mark.parametrize("expression,sort", [
    (None, None),  # SQL
    ({"Filters": [_filter("TrainingTimeInSeconds", "Exists", None)]}, None),  # SQL + Python
    (None, "BillableTimeInSeconds")])  # sorted in Python
def test_a_resource_gone_before_it_is_rendered_is_left_out(platform, jobs, expression,  # noqa: F811
                                                            sort):
    entry = searchable("TrainingJob")
    query = query_for(platform, entry)
    render = query.render
    query.render = lambda found: [None if r.name == "Job-005-alpha" else rec
                                  for r, rec in zip(found, render(found))]
    prop = entry.schema.resolve(sort) if sort else None
    page = query.page(CTX, parse(expression, entry.schema), prop, True, 1000, None, SCOPE)
    got = [r["TrainingJobName"] for r in page.records]
    assert "Job-005-alpha" not in got and len(got) >= 50
