"""The CloudWatch Logs provider: the API's rules on top of the log store."""

from __future__ import annotations

import pytest

from kamado.errors import AwsError
from kamado.services.logs.provider import Logs
from kamado.store.logs import now_ms
from tests.conftest_store import ctx, db, db_url, fuzz, platform, resources, west  # noqa: F401

GROUP = "/aws/sagemaker/TrainingJobs"


@pytest.fixture
def logs(platform, ctx):
    provider = Logs(platform)
    provider.create_log_group({"logGroupName": GROUP}, ctx)
    provider.create_log_stream({"logGroupName": GROUP, "logStreamName": "job/algo-1"}, ctx)
    return provider


def code(fn) -> str:
    with pytest.raises(AwsError) as e:
        fn()
    return e.value.code


def put(logs, ctx, events, stream="job/algo-1"):
    return logs.put_log_events({"logGroupName": GROUP, "logStreamName": stream,
                                "logEvents": events}, ctx)


def test_groups(logs, ctx, platform):
    assert code(lambda: logs.create_log_group({"logGroupName": GROUP}, ctx)) == (
        "ResourceAlreadyExistsException")
    assert code(lambda: logs.create_log_group({"logGroupName": "aws/reserved"}, ctx)) == (
        "InvalidParameterException")
    logs.create_log_group({"logGroupName": "/team/a", "tags": {"team": "a"},
                           "logGroupClass": "INFREQUENT_ACCESS"}, ctx)
    out = logs.describe_log_groups({"logGroupNamePrefix": "/team/"}, ctx)
    [group] = out["logGroups"]
    assert group["logGroupName"] == "/team/a"
    assert group["arn"] == "arn:aws:logs:us-east-1:000000000000:log-group:/team/a:*"
    assert group["logGroupArn"] == "arn:aws:logs:us-east-1:000000000000:log-group:/team/a"
    assert group["logGroupClass"] == "INFREQUENT_ACCESS"
    assert group["storedBytes"] == 0 and isinstance(group["creationTime"], int)
    assert "nextToken" not in out
    assert platform.resources.tags_of(group["logGroupArn"]) == {"team": "a"}

    brief = logs.describe_log_groups({"logGroupNamePattern": "team"}, ctx)["logGroups"]
    assert [set(g) for g in brief] == [{"logGroupName", "creationTime", "arn"}]
    assert code(lambda: logs.describe_log_groups(
        {"logGroupNamePrefix": "/a", "logGroupNamePattern": "a"}, ctx)) == "InvalidParameterException"
    by_ident = logs.describe_log_groups({"logGroupIdentifiers": [
        "/team/a", f"{group['logGroupArn']}:*", "/missing"]}, ctx)["logGroups"]
    assert [g["logGroupName"] for g in by_ident] == ["/team/a"]

    page = logs.describe_log_groups({"limit": 1}, ctx)
    assert len(page["logGroups"]) == 1 and page["nextToken"]
    rest = logs.describe_log_groups({"limit": 1, "nextToken": page["nextToken"]}, ctx)
    assert rest["logGroups"][0]["logGroupName"] != page["logGroups"][0]["logGroupName"]

    logs.delete_log_group({"logGroupName": "/team/a"}, ctx)
    assert platform.resources.tags_of(group["logGroupArn"]) == {}
    assert code(lambda: logs.delete_log_group({"logGroupName": "/team/a"}, ctx)) == (
        "ResourceNotFoundException")


def test_groups_are_regional(logs, ctx, west):
    assert logs.describe_log_groups({}, west)["logGroups"] == []
    assert code(lambda: logs.describe_log_streams({"logGroupName": GROUP}, west)) == (
        "ResourceNotFoundException")
    arn = f"arn:aws:logs:us-east-1:000000000000:log-group:{GROUP}"
    assert code(lambda: logs.describe_log_streams({"logGroupIdentifier": arn}, west)) == (
        "ResourceNotFoundException")
    assert logs.describe_log_streams({"logGroupIdentifier": arn}, ctx)["logStreams"]


def test_streams(logs, ctx):
    assert code(lambda: logs.create_log_stream(
        {"logGroupName": GROUP, "logStreamName": "job/algo-1"}, ctx)) == "ResourceAlreadyExistsException"
    assert code(lambda: logs.create_log_stream(
        {"logGroupName": "/none", "logStreamName": "s"}, ctx)) == "ResourceNotFoundException"
    logs.create_log_stream({"logGroupName": GROUP, "logStreamName": "job/algo-2"}, ctx)
    t = now_ms()
    put(logs, ctx, [{"timestamp": t, "message": "hello"}], stream="job/algo-1")
    out = logs.describe_log_streams({"logGroupName": GROUP, "orderBy": "LastEventTime",
                                     "descending": True}, ctx)
    first = out["logStreams"][0]
    assert [s["logStreamName"] for s in out["logStreams"]] == ["job/algo-1", "job/algo-2"]
    assert first["lastEventTimestamp"] == first["firstEventTimestamp"] == t
    assert first["arn"].endswith(f"log-group:{GROUP}:log-stream:job/algo-1")
    assert "lastEventTimestamp" not in out["logStreams"][1]
    named = logs.describe_log_streams({"logGroupName": GROUP, "logStreamNamePrefix": "job/algo-2"}, ctx)
    assert [s["logStreamName"] for s in named["logStreams"]] == ["job/algo-2"]
    for bad in ({"logGroupName": GROUP, "orderBy": "LastEventTime", "logStreamNamePrefix": "j"},
                {}, {"logGroupName": GROUP, "logGroupIdentifier": GROUP}):
        assert code(lambda bad=bad: logs.describe_log_streams(bad, ctx)) == "InvalidParameterException"
    logs.delete_log_stream({"logGroupName": GROUP, "logStreamName": "job/algo-2"}, ctx)
    assert code(lambda: logs.delete_log_stream(
        {"logGroupName": GROUP, "logStreamName": "job/algo-2"}, ctx)) == "ResourceNotFoundException"


def test_put_log_events_enforces_the_batch_rules(logs, ctx):
    t = now_ms()
    first = put(logs, ctx, [{"timestamp": t, "message": "a"}, {"timestamp": t, "message": "b"}])
    second = put(logs, ctx, [{"timestamp": t + 1, "message": "c"}])
    assert int(second["nextSequenceToken"]) == int(first["nextSequenceToken"]) + 1
    assert "rejectedLogEventsInfo" not in second
    assert code(lambda: put(logs, ctx, [{"timestamp": t + 5, "message": "x"},
                                        {"timestamp": t, "message": "y"}])) == "InvalidParameterException"
    assert code(lambda: put(logs, ctx, [{"timestamp": t - 25 * 3600_000, "message": "x"},
                                        {"timestamp": t, "message": "y"}])) == "InvalidParameterException"
    assert code(lambda: put(logs, ctx, [{"timestamp": t, "message": "x" * 600_000}] * 2)) == (
        "InvalidParameterException")
    assert code(lambda: put(logs, ctx, [{"timestamp": t, "message": "x"}], stream="nope")) == (
        "ResourceNotFoundException")


def test_put_log_events_rejects_too_old_and_too_new_events(logs, ctx):
    t = now_ms()
    out = put(logs, ctx, [{"timestamp": t - 15 * 86400_000, "message": "ancient"},
                          {"timestamp": t - 15 * 86400_000, "message": "ancient too"},
                          {"timestamp": t, "message": "now"},
                          {"timestamp": t + 3 * 3600_000, "message": "future"}])
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 2, "tooNewLogEventStartIndex": 3}
    events = logs.get_log_events({"logGroupName": GROUP, "logStreamName": "job/algo-1",
                                  "startFromHead": True}, ctx)["events"]
    assert [e["message"] for e in events] == ["now"]


def test_get_log_events(logs, ctx):
    t = now_ms()
    put(logs, ctx, [{"timestamp": t + i, "message": f"epoch {i}"} for i in range(5)])
    req = {"logGroupName": GROUP, "logStreamName": "job/algo-1"}
    out = logs.get_log_events({**req, "startFromHead": True, "limit": 3}, ctx)
    assert [e["message"] for e in out["events"]] == ["epoch 0", "epoch 1", "epoch 2"]
    assert out["events"][0]["timestamp"] == t and out["events"][0]["ingestionTime"] >= t
    out = logs.get_log_events({**req, "nextToken": out["nextForwardToken"]}, ctx)
    assert [e["message"] for e in out["events"]] == ["epoch 3", "epoch 4"]
    again = logs.get_log_events({**req, "nextToken": out["nextForwardToken"]}, ctx)
    assert again["events"] == [] and again["nextForwardToken"] == out["nextForwardToken"]
    newest = logs.get_log_events({**req, "limit": 1}, ctx)  # default: from the tail
    assert [e["message"] for e in newest["events"]] == ["epoch 4"]
    by_ident = logs.get_log_events({"logGroupIdentifier": GROUP, "logStreamName": "job/algo-1",
                                    "startTime": t + 4}, ctx)
    assert [e["message"] for e in by_ident["events"]] == ["epoch 4"]
    assert code(lambda: logs.get_log_events({**req, "logStreamName": "nope"}, ctx)) == (
        "ResourceNotFoundException")
    assert code(lambda: logs.get_log_events({**req, "nextToken": "garbage"}, ctx)) == (
        "InvalidParameterException")


def test_filter_log_events(logs, ctx):
    t = now_ms()
    logs.create_log_stream({"logGroupName": GROUP, "logStreamName": "job/algo-2"}, ctx)
    put(logs, ctx, [{"timestamp": t + i, "message": f"epoch {i} loss={1 / (i + 1):.3f}"}
                    for i in range(5)])
    put(logs, ctx, [{"timestamp": t + 1, "message": "epoch 3 on the other host"}], stream="job/algo-2")
    req = {"logGroupName": GROUP}
    out = logs.filter_log_events({**req, "filterPattern": '"epoch 3"'}, ctx)
    assert [(e["logStreamName"], e["message"]) for e in out["events"]] == [
        ("job/algo-2", "epoch 3 on the other host"), ("job/algo-1", "epoch 3 loss=0.250")]
    assert out["searchedLogStreams"] == [] and "nextToken" not in out
    assert len({e["eventId"] for e in out["events"]}) == 2
    out = logs.filter_log_events({**req, "logStreamNames": ["job/algo-1"], "limit": 2}, ctx)
    assert [e["message"][:7] for e in out["events"]] == ["epoch 0", "epoch 1"]
    rest = logs.filter_log_events({**req, "logStreamNames": ["job/algo-1"],
                                   "nextToken": out["nextToken"]}, ctx)
    assert len(rest["events"]) == 3 and "nextToken" not in rest
    assert code(lambda: logs.filter_log_events(
        {**req, "logStreamNames": ["a"], "logStreamNamePrefix": "a"}, ctx)) == "InvalidParameterException"
    assert code(lambda: logs.filter_log_events({**req, "filterPattern": "{ $.a = 1 }"}, ctx)) == (
        "InvalidParameterException")
    assert code(lambda: logs.filter_log_events({"logGroupName": "/none"}, ctx)) == (
        "ResourceNotFoundException")


def test_random_valid_requests_never_crash(platform, ctx):
    counts = fuzz([Logs(platform)], "logs", ctx, seed=3, rounds=300)
    assert counts["ok"] > 50 and counts["client_error"] > 20
