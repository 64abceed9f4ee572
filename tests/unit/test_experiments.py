"""SageMaker Experiments: experiments, trials, trial components, associations, listings."""

from __future__ import annotations

import datetime as dt

import pytest

from kamado.errors import AwsError
from kamado.services.sagemaker.experiments import COMPONENT, Experiments, resource_arn
from kamado.store.tables import resources as table
from tests.conftest_store import ctx, db, db_url, platform, resources, west  # noqa: F401

UTC = dt.timezone.utc
ARN = "arn:aws:sagemaker:us-east-1:000000000000"


@pytest.fixture
def sm(platform):
    return Experiments(platform)


def error(fn) -> AwsError:
    with pytest.raises(AwsError) as e:
        fn()
    return e.value


# --- experiments ---------------------------------------------------------------------------

def test_experiment_lifecycle(sm, ctx, resources):
    out = sm.create_experiment({"ExperimentName": "My-Exp", "Description": "first",
                                "Tags": [{"Key": "team", "Value": "ml"}]}, ctx)
    assert out == {"ExperimentArn": f"{ARN}:experiment/my-exp"}
    got = sm.describe_experiment({"ExperimentName": "my-exp"}, ctx)  # names ignore case
    assert got["ExperimentName"] == "My-Exp"
    assert got["DisplayName"] == "My-Exp"  # defaults to the name
    assert got["Description"] == "first"
    assert got["CreationTime"] == got["LastModifiedTime"]
    assert got["CreationTime"].tzinfo == UTC
    assert "Source" not in got
    assert resources.tags_of(out["ExperimentArn"]) == {"team": "ml"}

    assert sm.update_experiment({"ExperimentName": "My-Exp", "DisplayName": "Shown"}, ctx) == out
    got = sm.describe_experiment({"ExperimentName": "My-Exp"}, ctx)
    assert (got["DisplayName"], got["Description"]) == ("Shown", "first")
    assert got["LastModifiedTime"] > got["CreationTime"]

    assert sm.delete_experiment({"ExperimentName": "My-Exp"}, ctx) == out
    assert error(lambda: sm.describe_experiment({"ExperimentName": "My-Exp"}, ctx)).code == (
        "ResourceNotFound")
    assert resources.tags_of(out["ExperimentArn"]) == {}


def test_duplicates_are_validation_errors_that_say_already_exists(sm, ctx):
    sm.create_experiment({"ExperimentName": "dup"}, ctx)
    sm.create_trial_component({"TrialComponentName": "dup"}, ctx)  # other families: no clash
    for fn in (lambda: sm.create_experiment({"ExperimentName": "DUP"}, ctx),
               lambda: sm.create_trial_component({"TrialComponentName": "dup"}, ctx)):
        err = error(fn)
        assert err.code == "ValidationException"
        assert "already exists" in err.message


@pytest.mark.parametrize("op,request_", [
    ("describe_experiment", {"ExperimentName": "none"}),
    ("update_experiment", {"ExperimentName": "none", "Description": "x"}),
    ("delete_experiment", {"ExperimentName": "none"}),
    ("describe_trial", {"TrialName": "none"}),
    ("update_trial", {"TrialName": "none", "DisplayName": "x"}),
    ("delete_trial", {"TrialName": "none"}),
    ("describe_trial_component", {"TrialComponentName": "none"}),
    ("update_trial_component", {"TrialComponentName": "none"}),
    ("delete_trial_component", {"TrialComponentName": "none"}),
    ("create_trial", {"TrialName": "t", "ExperimentName": "none"}),
    ("list_trials", {"ExperimentName": "none"}),
    ("list_trials", {"TrialComponentName": "none"}),
    ("list_trial_components", {"ExperimentName": "none"}),
    ("list_trial_components", {"TrialName": "none"}),
    ("associate_trial_component", {"TrialComponentName": "none", "TrialName": "none"}),
    ("disassociate_trial_component", {"TrialComponentName": "none", "TrialName": "none"}),
])
def test_missing_resources_are_resource_not_found(sm, ctx, op, request_):
    err = error(lambda: getattr(sm, op)(request_, ctx))
    assert (err.code, err.status) == ("ResourceNotFound", 400)


def test_resources_belong_to_their_region(sm, ctx, west):
    sm.create_experiment({"ExperimentName": "regional"}, ctx)
    assert error(lambda: sm.describe_experiment({"ExperimentName": "regional"}, west)).code == (
        "ResourceNotFound")
    assert sm.list_experiments({}, west)["ExperimentSummaries"] == []
    arn = sm.create_experiment({"ExperimentName": "regional"}, west)["ExperimentArn"]
    assert arn == "arn:aws:sagemaker:eu-west-1:000000000000:experiment/regional"


# --- trials and components -----------------------------------------------------------------

@pytest.fixture
def graph(sm, ctx):
    """Two experiments; exp-a has trials t1, t2; tc1 in t1, tc2 in t1 and t2; tc3 alone."""
    for exp in ("exp-a", "exp-b"):
        sm.create_experiment({"ExperimentName": exp}, ctx)
    sm.create_trial({"TrialName": "t1", "ExperimentName": "exp-a",
                     "MetadataProperties": {"CommitId": "abc"}}, ctx)
    sm.create_trial({"TrialName": "t2", "ExperimentName": "EXP-A", "DisplayName": "Two"}, ctx)
    for tc in ("tc1", "tc2", "tc3"):
        sm.create_trial_component({"TrialComponentName": tc}, ctx)
    for tc, trial in (("tc1", "t1"), ("tc2", "t1"), ("tc2", "t2")):
        sm.associate_trial_component({"TrialComponentName": tc, "TrialName": trial}, ctx)


def listed(out: dict, key: str, name: str) -> list[str]:
    return sorted(item[name] for item in out[key])


def test_trials(sm, ctx, graph):
    t1 = sm.describe_trial({"TrialName": "t1"}, ctx)
    assert t1["TrialArn"] == f"{ARN}:experiment-trial/t1"
    assert t1["ExperimentName"] == "exp-a"
    assert t1["DisplayName"] == "t1"
    assert t1["MetadataProperties"] == {"CommitId": "abc"}
    t2 = sm.describe_trial({"TrialName": "t2"}, ctx)
    assert (t2["ExperimentName"], t2["DisplayName"]) == ("exp-a", "Two")  # the stored name
    sm.update_trial({"TrialName": "t2", "DisplayName": "Second"}, ctx)
    assert sm.describe_trial({"TrialName": "t2"}, ctx)["DisplayName"] == "Second"

    assert listed(sm.list_trials({"ExperimentName": "exp-a"}, ctx), "TrialSummaries",
                  "TrialName") == ["t1", "t2"]
    assert sm.list_trials({"ExperimentName": "exp-b"}, ctx)["TrialSummaries"] == []
    assert listed(sm.list_trials({"TrialComponentName": "tc2"}, ctx), "TrialSummaries",
                  "TrialName") == ["t1", "t2"]
    assert listed(sm.list_trials({"TrialComponentName": "tc1", "ExperimentName": "exp-a"}, ctx),
                  "TrialSummaries", "TrialName") == ["t1"]
    summary = sm.list_trials({"TrialComponentName": "tc1"}, ctx)["TrialSummaries"][0]
    assert set(summary) == {"TrialArn", "TrialName", "DisplayName", "CreationTime",
                            "LastModifiedTime"}


def test_trial_component_contents_and_updates(sm, ctx):
    start = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    arn = sm.create_trial_component({
        "TrialComponentName": "tc", "Status": {"PrimaryStatus": "InProgress"},
        "StartTime": start,
        "Parameters": {"lr": {"NumberValue": 0.1}, "opt": {"StringValue": "adam"}},
        "InputArtifacts": {"train": {"Value": "s3://b/train.csv", "MediaType": "text/csv"}},
        "OutputArtifacts": {"model": {"Value": "s3://b/model.tar.gz"}},
        "MetadataProperties": {"Repository": "git"}}, ctx)["TrialComponentArn"]
    assert arn == f"{ARN}:experiment-trial-component/tc"
    tc = sm.describe_trial_component({"TrialComponentName": "tc"}, ctx)
    assert tc["Parameters"] == {"lr": {"NumberValue": 0.1}, "opt": {"StringValue": "adam"}}
    assert tc["StartTime"] == start and "EndTime" not in tc
    assert tc["InputArtifacts"]["train"] == {"Value": "s3://b/train.csv", "MediaType": "text/csv"}
    assert tc["Status"] == {"PrimaryStatus": "InProgress"}
    assert tc["Metrics"] == []
    assert tc["DisplayName"] == "tc"

    end = start + dt.timedelta(hours=1)
    sm.update_trial_component({
        "TrialComponentName": "tc", "Status": {"PrimaryStatus": "Completed", "Message": "ok"},
        "EndTime": end, "Parameters": {"epochs": {"NumberValue": 3}, "lr": {"NumberValue": 0.2}},
        "ParametersToRemove": ["opt"], "InputArtifactsToRemove": ["train"],
        "OutputArtifacts": {"metrics": {"Value": "s3://b/m.json"}}}, ctx)
    tc = sm.describe_trial_component({"TrialComponentName": "tc"}, ctx)
    assert tc["Status"] == {"PrimaryStatus": "Completed", "Message": "ok"}
    assert tc["Parameters"] == {"lr": {"NumberValue": 0.2}, "epochs": {"NumberValue": 3}}
    assert "InputArtifacts" not in tc
    assert set(tc["OutputArtifacts"]) == {"model", "metrics"}
    assert (tc["StartTime"], tc["EndTime"]) == (start, end)
    assert tc["LastModifiedTime"] > tc["CreationTime"]

    err = error(lambda: sm.update_trial_component({
        "TrialComponentName": "tc", "Parameters": {"lr": {"NumberValue": 1.0}},
        "ParametersToRemove": ["lr"]}, ctx))
    assert err.code == "ValidationException"
    assert sm.describe_trial_component({"TrialComponentName": "tc"}, ctx)["Parameters"]["lr"] == {
        "NumberValue": 0.2}


def test_list_trial_components_filters(sm, ctx, graph, resources):
    names = lambda req: listed(sm.list_trial_components(req, ctx),  # noqa: E731
                               "TrialComponentSummaries", "TrialComponentName")
    assert names({}) == ["tc1", "tc2", "tc3"]
    assert names({"TrialName": "t1"}) == ["tc1", "tc2"]
    assert names({"TrialName": "t2"}) == ["tc2"]
    assert names({"ExperimentName": "exp-a"}) == ["tc1", "tc2"]  # each listed once
    assert names({"ExperimentName": "exp-b"}) == []

    # A component made by a job (the engine writes Source) is found by its source ARN.
    job = f"{ARN}:training-job/job-1"
    resources.create(ctx, COMPONENT, "job-1-aws-training-job",
                     resource_arn(ctx, COMPONENT, "job-1-aws-training-job"),
                     {"Source": {"SourceArn": job, "SourceType": "SageMakerTrainingJob"}})
    assert names({"SourceArn": job}) == ["job-1-aws-training-job"]
    summary = sm.list_trial_components({"SourceArn": job}, ctx)["TrialComponentSummaries"][0]
    assert summary["TrialComponentSource"] == {"SourceArn": job, "SourceType": "SageMakerTrainingJob"}
    described = sm.describe_trial_component({"TrialComponentName": "job-1-aws-training-job"}, ctx)
    assert described["Source"]["SourceArn"] == job

    err = error(lambda: sm.list_trial_components({"TrialName": "t1", "SourceArn": job}, ctx))
    assert err.code == "ValidationException"


def test_deletion_order_is_enforced(sm, ctx, graph):
    for fn in (lambda: sm.delete_experiment({"ExperimentName": "exp-a"}, ctx),
               lambda: sm.delete_trial({"TrialName": "t1"}, ctx),
               lambda: sm.delete_trial_component({"TrialComponentName": "tc2"}, ctx)):
        assert error(fn).code == "ValidationException"
    assert sm.describe_experiment({"ExperimentName": "exp-a"}, ctx)

    for tc, trial in (("tc1", "t1"), ("tc2", "t1"), ("tc2", "t2")):
        out = sm.disassociate_trial_component({"TrialComponentName": tc, "TrialName": trial}, ctx)
        assert out == {"TrialComponentArn": f"{ARN}:experiment-trial-component/{tc}",
                       "TrialArn": f"{ARN}:experiment-trial/{trial}"}
    assert error(lambda: sm.disassociate_trial_component(
        {"TrialComponentName": "tc1", "TrialName": "t1"}, ctx)).code == "ResourceNotFound"
    assert sm.list_trial_components({"TrialName": "t1"}, ctx)["TrialComponentSummaries"] == []

    assert sm.delete_trial({"TrialName": "t1"}, ctx) == {"TrialArn": f"{ARN}:experiment-trial/t1"}
    assert error(lambda: sm.delete_experiment({"ExperimentName": "exp-a"}, ctx)).code == (
        "ValidationException")  # t2 is still there
    sm.delete_trial({"TrialName": "t2"}, ctx)
    sm.delete_experiment({"ExperimentName": "exp-a"}, ctx)
    for tc in ("tc1", "tc2", "tc3"):
        sm.delete_trial_component({"TrialComponentName": tc}, ctx)
    assert sm.list_trial_components({}, ctx)["TrialComponentSummaries"] == []


def test_associating_twice_is_harmless(sm, ctx, graph):
    out = sm.associate_trial_component({"TrialComponentName": "tc1", "TrialName": "t1"}, ctx)
    assert out["TrialArn"] == f"{ARN}:experiment-trial/t1"
    assert listed(sm.list_trials({"TrialComponentName": "tc1"}, ctx), "TrialSummaries",
                  "TrialName") == ["t1"]


# --- listing -------------------------------------------------------------------------------

def test_list_experiments_sorts_pages_and_filters(sm, ctx, resources):
    base = dt.datetime(2026, 3, 1, tzinfo=UTC)
    for i, name in enumerate(["gamma", "alpha", "delta", "beta"]):  # created in this order
        sm.create_experiment({"ExperimentName": name}, ctx)
        with resources.db.session() as s:  # pin creation times so the filter below is exact
            s.execute(table.update().where(table.c.name == name)
                      .values(creation_time=base + dt.timedelta(days=i)))

    def names(req):
        out = sm.list_experiments(req, ctx)
        return [e["ExperimentName"] for e in out["ExperimentSummaries"]], out.get("NextToken")

    assert names({})[0] == ["beta", "delta", "alpha", "gamma"]  # CreationTime, Descending
    assert names({"SortBy": "Name", "SortOrder": "Ascending"})[0] == ["alpha", "beta", "delta", "gamma"]
    first, token = names({"SortBy": "Name", "SortOrder": "Ascending", "MaxResults": 3})
    assert first == ["alpha", "beta", "delta"] and token
    rest, token = names({"SortBy": "Name", "SortOrder": "Ascending", "MaxResults": 3,
                         "NextToken": token})
    assert rest == ["gamma"] and token is None
    assert names({"CreatedAfter": base + dt.timedelta(hours=12),
                  "CreatedBefore": base + dt.timedelta(days=2, hours=12)})[0] == ["delta", "alpha"]
    assert error(lambda: sm.list_experiments({"NextToken": "not-a-token"}, ctx)).code == (
        "ValidationException")
    summary = sm.list_experiments({"MaxResults": 1}, ctx)["ExperimentSummaries"][0]
    assert set(summary) == {"ExperimentArn", "ExperimentName", "DisplayName", "CreationTime",
                            "LastModifiedTime"}


def test_default_page_size_is_ten(sm, ctx):
    for i in range(12):
        sm.create_trial_component({"TrialComponentName": f"tc-{i:02d}"}, ctx)
    out = sm.list_trial_components({}, ctx)
    assert len(out["TrialComponentSummaries"]) == 10 and out["NextToken"]
    rest = sm.list_trial_components({"NextToken": out["NextToken"]}, ctx)
    assert len(rest["TrialComponentSummaries"]) == 2 and "NextToken" not in rest
    newest_first = [t["TrialComponentName"] for t in
                    out["TrialComponentSummaries"] + rest["TrialComponentSummaries"]]
    assert newest_first == [f"tc-{i:02d}" for i in reversed(range(12))]
