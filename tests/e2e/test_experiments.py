"""SageMaker Experiments through a real server and boto3: the first resource family."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from botocore.exceptions import ClientError


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def code_of(exc_info) -> str:
    return exc_info.value.response["Error"]["Code"]


def test_experiment_lifecycle(sm):
    exp = name("exp")
    arn = sm.create_experiment(ExperimentName=exp, Description="first",
                               Tags=[{"Key": "team", "Value": "ml"}])["ExperimentArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:000000000000:experiment/{exp}"
    got = sm.describe_experiment(ExperimentName=exp)
    assert got["ExperimentName"] == exp
    assert got["DisplayName"] == exp
    assert got["Description"] == "first"
    assert isinstance(got["CreationTime"], dt.datetime)
    sm.update_experiment(ExperimentName=exp, DisplayName="Shown", Description="second")
    got = sm.describe_experiment(ExperimentName=exp)
    assert (got["DisplayName"], got["Description"]) == ("Shown", "second")
    assert got["LastModifiedTime"] >= got["CreationTime"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    sm.delete_experiment(ExperimentName=exp)
    with pytest.raises(ClientError) as e:
        sm.describe_experiment(ExperimentName=exp)
    assert code_of(e) == "ResourceNotFound"


def test_duplicate_and_missing_names(sm):
    exp = name("dup")
    sm.create_experiment(ExperimentName=exp)
    with pytest.raises(ClientError) as e:
        sm.create_experiment(ExperimentName=exp)
    assert code_of(e) == "ValidationException"
    assert "already exists" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        sm.delete_experiment(ExperimentName=name("never"))
    assert code_of(e) == "ResourceNotFound"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_invalid_input_names_the_member(sm):
    with pytest.raises(ClientError) as e:
        sm.create_experiment(ExperimentName="has spaces in it")
    assert code_of(e) == "ValidationException"
    assert "experimentName" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        sm.create_experiment(ExperimentName="x" * 121)
    assert code_of(e) == "ValidationException"
    assert "length less than or equal to 120" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        sm.list_experiments(SortBy="Color")
    assert code_of(e) == "ValidationException"
    assert "enum value set" in e.value.response["Error"]["Message"]


def test_trials_and_components(sm):
    exp, trial, comp = name("exp"), name("trial"), name("tc")
    with pytest.raises(ClientError) as e:
        sm.create_trial(TrialName=trial, ExperimentName=name("missing"))
    assert code_of(e) == "ResourceNotFound"
    sm.create_experiment(ExperimentName=exp)
    trial_arn = sm.create_trial(TrialName=trial, ExperimentName=exp)["TrialArn"]
    start = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    sm.create_trial_component(
        TrialComponentName=comp, Status={"PrimaryStatus": "InProgress"}, StartTime=start,
        Parameters={"lr": {"NumberValue": 0.1}, "opt": {"StringValue": "adam"}},
        InputArtifacts={"train": {"Value": "s3://b/train.csv", "MediaType": "text/csv"}})
    sm.associate_trial_component(TrialComponentName=comp, TrialName=trial)

    tc = sm.describe_trial_component(TrialComponentName=comp)
    assert tc["Parameters"]["lr"] == {"NumberValue": 0.1}
    assert tc["StartTime"] == start
    assert tc["InputArtifacts"]["train"]["Value"] == "s3://b/train.csv"
    listed = sm.list_trial_components(TrialName=trial)["TrialComponentSummaries"]
    assert [t["TrialComponentName"] for t in listed] == [comp]
    assert [t["TrialName"] for t in sm.list_trials(ExperimentName=exp)["TrialSummaries"]] == [trial]

    sm.update_trial_component(TrialComponentName=comp, Status={"PrimaryStatus": "Completed"},
                              ParametersToRemove=["opt"])
    tc = sm.describe_trial_component(TrialComponentName=comp)
    assert tc["Status"]["PrimaryStatus"] == "Completed"
    assert set(tc["Parameters"]) == {"lr"}

    with pytest.raises(ClientError) as e:  # an experiment that still has trials stays
        sm.delete_experiment(ExperimentName=exp)
    assert code_of(e) in ("ValidationException", "ResourceInUse")
    sm.disassociate_trial_component(TrialComponentName=comp, TrialName=trial)
    assert sm.list_trial_components(TrialName=trial)["TrialComponentSummaries"] == []
    assert sm.delete_trial(TrialName=trial)["TrialArn"] == trial_arn
    sm.delete_trial_component(TrialComponentName=comp)
    sm.delete_experiment(ExperimentName=exp)


def test_paging_and_sorting(sm):
    prefix = uuid.uuid4().hex[:6]
    names = [f"page-{prefix}-{i}" for i in range(5)]
    for n in names:
        sm.create_experiment(ExperimentName=n)
    seen, token = [], None
    while True:
        kwargs = {"MaxResults": 2, "SortBy": "Name", "SortOrder": "Ascending"}
        if token:
            kwargs["NextToken"] = token
        page = sm.list_experiments(**kwargs)
        assert len(page["ExperimentSummaries"]) <= 2
        seen += [s["ExperimentName"] for s in page["ExperimentSummaries"]]
        token = page.get("NextToken")
        if not token:
            break
    mine = [s for s in seen if s.startswith(f"page-{prefix}")]
    assert mine == sorted(names)
    assert seen == sorted(seen)
    newest = sm.list_experiments(SortBy="CreationTime", SortOrder="Descending", MaxResults=1)
    assert newest["ExperimentSummaries"][0]["ExperimentName"] == names[-1]
    paginator = sm.get_paginator("list_experiments")
    total = [s["ExperimentName"] for p in paginator.paginate(PaginationConfig={"PageSize": 3})
             for s in p["ExperimentSummaries"]]
    assert set(names) <= set(total)
    with pytest.raises(ClientError) as e:
        sm.list_experiments(NextToken="not-a-token")
    assert code_of(e) == "ValidationException"


def test_resources_belong_to_the_region(server):
    east, west = server.client("sagemaker"), server.client("sagemaker", region="eu-west-1")
    exp = name("regional")
    east.create_experiment(ExperimentName=exp)
    with pytest.raises(ClientError) as e:
        west.describe_experiment(ExperimentName=exp)
    assert code_of(e) == "ResourceNotFound"
    arn = west.create_experiment(ExperimentName=exp)["ExperimentArn"]
    assert ":eu-west-1:" in arn


def test_tags_on_any_arn(server, sm):
    exp = name("tagged")
    arn = sm.create_experiment(ExperimentName=exp)["ExperimentArn"]
    tags = [{"Key": f"k{i:02d}", "Value": str(i)} for i in range(60)]
    sm.add_tags(ResourceArn=arn, Tags=tags[:30])  # AddTags takes at most 50 per call
    sm.add_tags(ResourceArn=arn, Tags=tags[30:])
    sm.delete_tags(ResourceArn=arn, TagKeys=["k00", "k01"])
    tags, token, pages = [], None, 0
    while True:
        page = sm.list_tags(ResourceArn=arn, MaxResults=50, **({"NextToken": token} if token else {}))
        tags += page["Tags"]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 2
    assert sorted(t["Key"] for t in tags) == [f"k{i:02d}" for i in range(2, 60)]
    with pytest.raises(ClientError) as e:
        unchecked = server.client("sagemaker", parameter_validation=False)
        unchecked.list_tags(ResourceArn=arn, MaxResults=10)  # the model's minimum is 50
    assert code_of(e) == "ValidationException"
