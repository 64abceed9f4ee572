"""SageMaker Metrics through boto3's ``sagemaker-metrics`` client: BatchPutMetrics logs a trial
component's series (refusing bad entries one by one in ``Errors``), BatchGetMetrics reads them
back per step or per time bucket, and DescribeTrialComponent summarises them."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
from botocore.exceptions import ClientError

from tests.e2e.experiments.conftest import unique

UTC = dt.timezone.utc


def code(exc_info) -> str:
    return exc_info.value.response["Error"]["Code"]


def component(sm) -> tuple[str, str]:
    name = unique("tc")
    return name, sm.create_trial_component(TrialComponentName=name)["TrialComponentArn"]


def query(arn: str, stat: str, period: str = "IterationNumber",
          axis: str = "IterationNumber", name: str = "loss", **extra) -> dict:
    return {"MetricName": name, "ResourceArn": arn, "MetricStat": stat, "Period": period,
            "XAxisType": axis, **extra}


def test_put_then_read_by_step(sm, metrics):
    name, arn = component(sm)
    now = dt.datetime.now(UTC)
    # Two points at step 0 and 1, one at step 2, given out of order.
    data = [(1, 0.6), (0, 1.0), (0, 0.8), (2, 0.3), (1, 0.5)]
    out = metrics.batch_put_metrics(TrialComponentName=name, MetricData=[
        {"MetricName": "loss", "Step": step, "Value": value,
         "Timestamp": now - dt.timedelta(seconds=10 - i)} for i, (step, value) in enumerate(data)])
    assert "Errors" not in out
    by_step = {0: [1.0, 0.8], 1: [0.6, 0.5], 2: [0.3]}
    expected = {
        "Min": [min(v) for v in by_step.values()], "Max": [max(v) for v in by_step.values()],
        "Avg": [sum(v) / len(v) for v in by_step.values()],
        "Count": [float(len(v)) for v in by_step.values()],
        "StdDev": [statistics.pstdev(v) for v in by_step.values()],
        "Last": [v[-1] for v in by_step.values()]}  # the newest point of each step
    results = metrics.batch_get_metrics(MetricQueries=[query(arn, stat) for stat in expected])[
        "MetricQueryResults"]
    for (stat, values), result in zip(expected.items(), results):
        assert result["Status"] == "Complete"
        assert result["XAxisValues"] == [0, 1, 2]
        assert result["MetricValues"] == pytest.approx(values), stat

    # The component's summary covers every point; Last is the newest one.
    summary = sm.describe_trial_component(TrialComponentName=name)["Metrics"]
    assert len(summary) == 1
    values = [v for _, v in data]
    assert summary[0]["MetricName"] == "loss" and summary[0]["SourceArn"] == arn
    assert (summary[0]["Count"], summary[0]["Min"], summary[0]["Max"], summary[0]["Last"]) == \
        (5, 0.3, 1.0, 0.5)
    assert summary[0]["Avg"] == pytest.approx(sum(values) / 5)
    assert summary[0]["StdDev"] == pytest.approx(statistics.pstdev(values))
    assert abs((summary[0]["TimeStamp"] - (now - dt.timedelta(seconds=6))).total_seconds()) < 1


def test_read_by_time_bucket_between_start_and_end(sm, metrics):
    name, arn = component(sm)
    base = dt.datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=3)
    offsets = [0, 10, 70, 400, 3700]  # seconds after the hour
    metrics.batch_put_metrics(TrialComponentName=name, MetricData=[
        {"MetricName": "loss", "Value": float(i + 1), "Timestamp": base + dt.timedelta(seconds=s)}
        for i, s in enumerate(offsets)])
    t0 = int(base.timestamp())
    results = metrics.batch_get_metrics(MetricQueries=[
        query(arn, "Count", "OneMinute", "Timestamp"),
        query(arn, "Avg", "FiveMinute", "Timestamp"),
        query(arn, "Max", "OneHour", "Timestamp"),
        query(arn, "Count", "OneMinute", "Timestamp", Start=t0 + 60, End=t0 + 400),
    ])["MetricQueryResults"]
    assert results[0]["XAxisValues"] == [t0, t0 + 60, t0 + 360, t0 + 3660]
    assert results[0]["MetricValues"] == [2.0, 1.0, 1.0, 1.0]
    assert results[1]["XAxisValues"] == [t0, t0 + 300, t0 + 3600]
    assert results[1]["MetricValues"] == [2.0, 4.0, 5.0]
    assert results[2]["XAxisValues"] == [t0, t0 + 3600]
    assert results[2]["MetricValues"] == [4.0, 5.0]
    # Start and End are inclusive: the points at +70 s and +400 s.
    assert results[3]["XAxisValues"] == [t0 + 60, t0 + 360]
    assert results[3]["MetricValues"] == [1.0, 1.0]
    # Points logged without a step have no iteration number.
    by_step = metrics.batch_get_metrics(MetricQueries=[query(arn, "Count")])[
        "MetricQueryResults"][0]
    assert (by_step["Status"], by_step["XAxisValues"], by_step["MetricValues"]) == \
        ("Complete", [], [])


def test_bad_entries_are_refused_one_by_one(sm, metrics):
    name, arn = component(sm)
    now = dt.datetime.now(UTC)
    out = metrics.batch_put_metrics(TrialComponentName=name, MetricData=[
        {"MetricName": "loss", "Value": 0.5, "Timestamp": now},
        {"MetricName": "loss", "Value": float("nan"), "Timestamp": now},
        {"MetricName": "loss", "Value": float("inf"), "Timestamp": now},
        {"MetricName": "loss", "Value": 0.4, "Timestamp": now - dt.timedelta(days=15)},
        {"MetricName": "loss", "Value": 0.3, "Timestamp": now + dt.timedelta(hours=3)},
        {"MetricName": "loss", "Value": 0.2, "Timestamp": now - dt.timedelta(days=13)},
    ])
    assert out["Errors"] == [{"Code": "VALIDATION_ERROR", "MetricIndex": i} for i in (1, 2, 3, 4)]
    summary = sm.describe_trial_component(TrialComponentName=name)["Metrics"][0]
    assert (summary["Count"], summary["Last"], summary["Min"]) == (2, 0.5, 0.2)


def test_a_component_has_at_most_100_metric_names(sm, metrics):
    name, _ = component(sm)
    now = dt.datetime.now(UTC)
    for batch in range(10):
        out = metrics.batch_put_metrics(TrialComponentName=name, MetricData=[
            {"MetricName": f"m{batch * 10 + i}", "Value": 1.0, "Timestamp": now}
            for i in range(10)])
        assert "Errors" not in out
    out = metrics.batch_put_metrics(TrialComponentName=name, MetricData=[
        {"MetricName": "m0", "Value": 2.0, "Timestamp": now},     # a known name: stored
        {"MetricName": "m100", "Value": 2.0, "Timestamp": now},   # the 101st: refused
    ])
    assert out["Errors"] == [{"Code": "METRIC_LIMIT_EXCEEDED", "MetricIndex": 1}]
    got = {m["MetricName"]: m for m in sm.describe_trial_component(
        TrialComponentName=name)["Metrics"]}
    assert len(got) == 100 and got["m0"]["Count"] == 2 and "m100" not in got


def test_requests_that_are_refused_whole(sm, metrics, exp_server):
    now = dt.datetime.now(UTC)
    entry = {"MetricName": "loss", "Value": 1.0, "Timestamp": now}
    with pytest.raises(ClientError) as err:
        metrics.batch_put_metrics(TrialComponentName=unique("missing"), MetricData=[entry])
    assert code(err) == "ResourceNotFound"
    name, _ = component(sm)
    with pytest.raises(ClientError) as err:  # the model: names are lowercase
        metrics.batch_put_metrics(TrialComponentName=name.upper(), MetricData=[entry])
    assert code(err) == "ValidationException"
    raw = exp_server.client("sagemaker-metrics", parameter_validation=False)
    for data in ([entry] * 11, [{**entry, "Step": -1}], []):
        with pytest.raises(ClientError) as err:
            raw.batch_put_metrics(TrialComponentName=name, MetricData=data)
        assert code(err) == "ValidationException", data
    with pytest.raises(ClientError) as err:
        raw.batch_get_metrics(MetricQueries=[query("arn:aws:sagemaker:us-east-1:000000000000:"
                                                   "experiment-trial-component/x", "Avg")] * 101)
    assert code(err) == "ValidationException"


def test_each_query_is_answered_on_its_own(sm, metrics):
    name, arn = component(sm)
    metrics.batch_put_metrics(TrialComponentName=name, MetricData=[
        {"MetricName": "loss", "Value": 0.7, "Step": 0, "Timestamp": dt.datetime.now(UTC)}])
    missing = arn + "-missing"
    now = int(dt.datetime.now(UTC).timestamp())
    results = metrics.batch_get_metrics(MetricQueries=[
        query(arn, "Avg"),
        query(missing, "Avg"),
        query(arn, "Avg", period="OneMinute"),  # one value per step needs Period IterationNumber
        query(arn, "Avg", "OneMinute", "Timestamp", Start=now, End=now - 60),
        query(arn, "Avg", name="never-logged"),
        query(arn, "Avg", "IterationNumber", "Timestamp"),
    ])["MetricQueryResults"]
    assert [r["Status"] for r in results] == ["Complete", "ValidationError", "ValidationError",
                                              "ValidationError", "Complete", "Complete"]
    assert results[0]["MetricValues"] == [0.7]
    assert missing in results[1]["Message"]
    assert "IterationNumber" in results[2]["Message"]
    assert "Start" in results[3]["Message"]
    assert results[4]["XAxisValues"] == [] and results[4]["MetricValues"] == []
    # Per step, at the time of the step's first point.
    assert results[5]["MetricValues"] == [0.7]
    assert abs(results[5]["XAxisValues"][0] - now) <= 2


def test_deleting_a_component_deletes_its_series(sm, metrics):
    name, arn = component(sm)
    metrics.batch_put_metrics(TrialComponentName=name, MetricData=[
        {"MetricName": "loss", "Value": 0.7, "Step": 0, "Timestamp": dt.datetime.now(UTC)}])
    sm.delete_trial_component(TrialComponentName=name)
    assert sm.create_trial_component(TrialComponentName=name)["TrialComponentArn"] == arn
    assert sm.describe_trial_component(TrialComponentName=name)["Metrics"] == []
    result = metrics.batch_get_metrics(MetricQueries=[query(arn, "Count")])[
        "MetricQueryResults"][0]
    assert (result["Status"], result["MetricValues"]) == ("Complete", [])


def test_fuzzed_requests_get_client_errors_at_worst(sm, exp_server):
    """Model-shaped requests, some broken, at components that exist: never a 5xx."""
    import random

    from botocore.exceptions import ParamValidationError

    from tests.shapegen import ShapeGen

    pool = [unique("fz") for _ in range(3)]
    arns = [sm.create_trial_component(TrialComponentName=n)["TrialComponentArn"] for n in pool]
    client = exp_server.client("sagemaker-metrics", parameter_validation=False)
    model = client.meta.service_model
    gen, rng = ShapeGen(5, broken=0.05), random.Random(5)
    counts = {"ok": 0, "client_error": 0}
    for i in range(300):
        op = model.operation_model(("BatchPutMetrics", "BatchGetMetrics")[i % 2])
        params = gen.params(op.input_shape)
        if isinstance(params.get("TrialComponentName"), str) and rng.random() < 0.8:
            params["TrialComponentName"] = rng.choice(pool)
        queries = params.get("MetricQueries")
        for q in queries if isinstance(queries, list) else []:
            if isinstance(q, dict) and rng.random() < 0.8:
                q["ResourceArn"] = rng.choice(arns)
        try:
            client._make_api_call(op.name, params)
            counts["ok"] += 1
        except ClientError as err:
            assert err.response["ResponseMetadata"]["HTTPStatusCode"] < 500, (op.name, params)
            counts["client_error"] += 1
        except (ParamValidationError, TypeError, ValueError, AttributeError, KeyError):
            pass  # botocore could not serialise this input
    assert counts["ok"] > 30 and counts["client_error"] > 30
