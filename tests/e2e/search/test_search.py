"""Search and GetSearchSuggestions through boto3 against a real server: every operator, nested
filters, sub-expressions, tags, hyperparameters, metrics (from real jobs' logs, too), sorting,
paging, experiments, and the errors AWS answers."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.e2e.search.conftest import CHOSEN


def f(name, op=None, value=None):
    return {"Name": name, **({"Operator": op} if op else {}),
            **({"Value": value} if value is not None else {})}


def names(client, expression=None, resource="TrainingJob", **kw) -> list[str]:
    request = {"Resource": resource, "MaxResults": 100, **kw}
    if expression is not None:
        request["SearchExpression"] = expression
    out = client.search(**request)
    member = {"ExperimentTrial": "Trial", "ExperimentTrialComponent": "TrialComponent"}.get(
        resource, resource)
    key = {"Trial": "TrialName", "TrialComponent": "TrialComponentName"}.get(
        member, f"{member}Name")
    return [r[member][key] for r in out["Results"]]


def found(west, *filters, **kw) -> set[str]:
    return set(names(west, {"Filters": list(filters)}, **kw))


def error(call) -> ClientError:
    with pytest.raises(ClientError) as e:
        call()
    return e.value


# --- operators ------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec,expected", [
    (f("TrainingJobStatus", "Equals", "Completed"), {"s-1", "s-2", "s-5", "s-6"}),
    (f("TrainingJobStatus", value="Failed"), {"s-3"}),  # a Value alone means Equals
    (f("TrainingJobStatus", "NotEquals", "Completed"), {"s-3", "s-4"}),
    (f("Metrics.validation:auc", "GreaterThan", "0.9"), {"s-1", "s-2", "s-5"}),
    (f("Metrics.validation:auc", "GreaterThanOrEqualTo", "0.95"), {"s-1", "s-5"}),
    (f("Metrics.validation:auc", "LessThan", "0.9"), {"s-3", "s-6"}),
    (f("Metrics.validation:auc", "LessThanOrEqualTo", "0.7"), {"s-3", "s-6"}),
    (f("Metrics.validation:auc", "NotExists"), {"s-4"}),
    (f("HyperParameters.eta", "LessThan", "0.2"), {"s-1", "s-3"}),
    (f("HyperParameters.max_depth", "LessThanOrEqualTo", "6"), {"s-1", "s-2", "s-5"}),
    # an integer Value compares with the hyperparameter's integer part (SageMaker's rule)
    (f("HyperParameters.eta", "LessThan", "1"), {"s-1", "s-2", "s-3"}),
    (f("HyperParameters.eta", "GreaterThan", "1"), {"s-6"}),
    (f("HyperParameters.eta", "GreaterThan", "1.0"), {"s-5", "s-6"}),
    (f("HyperParameters.eta", "Equals", "abc"), {"s-4"}),
    (f("HyperParameters.objective", "Contains", "reg"), {"s-3", "s-6"}),
    (f("HyperParameters.max_depth", "NotExists"), {"s-4"}),
    (f("Tags.owner", "Exists"), {"s-3", "s-6"}),
    (f("Tags.team", "NotExists"), {"s-4", "s-6"}),
    (f("Tags.team", "In", "nlp,ml-ops"), {"s-2", "s-5"}),
    (f("Tags.team", "NotEquals", "vision"), {"s-2", "s-4", "s-5", "s-6"}),
    (f("ResourceConfig.InstanceCount", "GreaterThan", "1"), {"s-2", "s-4", "s-6"}),
    (f("EnableNetworkIsolation", "Equals", "true"), {"s-2", "s-4", "s-6"}),
    (f("TrainingStartTime", "LessThan", "2026-05-01T02:00:00"), {"s-1", "s-2"}),
    (f("CreationTime", "GreaterThanOrEqualTo", "2026-05-01T04:00:00Z"), {"s-5", "s-6"}),
    (f("InputDataConfig.ChannelName", "Equals", "validation"), {"s-2", "s-3"}),
    (f("InputDataConfig.DataSource.S3DataSource.S3Uri", "Contains", "s-5/"), {"s-5"}),
    (f("InputDataConfig", "NotExists"), {"s-4"}),
    (f("TrainingJobName", "In", "s-1,s-6, nope"), {"s-1", "s-6"}),
    # computed by DescribeTrainingJob, so evaluated on the rendered records
    (f("TrainingTimeInSeconds", "GreaterThan", "1800"), {"s-4", "s-5", "s-6"}),
])
def test_operators(west, spec, expected):
    assert found(west, spec) == expected


def test_nested_filters_need_one_element_to_satisfy_every_filter(west):
    def nested(channel, uri_part):
        return {"NestedFilters": [{"NestedPropertyName": "InputDataConfig", "Filters": [
            f("InputDataConfig.ChannelName", "Equals", channel),
            f("InputDataConfig.DataSource.S3DataSource.S3Uri", "Contains", uri_part)]}]}
    assert names(west, nested("test", "s-5")) == ["s-5"]
    assert names(west, nested("train", "validation")) == []
    # as plain filters each may hold for a different channel
    assert found(west, f("InputDataConfig.ChannelName", "Equals", "train"),
                 f("InputDataConfig.DataSource.S3DataSource.S3Uri", "Contains",
                   "validation")) == {"s-2"}


def test_sub_expressions_and_or(west):
    either = {"Operator": "Or", "Filters": [f("Tags.team", "Equals", "nlp"),
                                            f("Tags.owner", "Equals", "bob")]}
    assert set(names(west, either)) == {"s-2", "s-6"}
    combined = {"Filters": [f("TrainingJobStatus", "Equals", "Completed")],
                "SubExpressions": [{"Operator": "Or", "Filters": [
                    f("HyperParameters.eta", "LessThan", "0.2"), f("Tags.owner", "Exists")]}]}
    assert set(names(west, combined)) == {"s-1", "s-6"}
    deep = {"Operator": "Or", "SubExpressions": [
        {"Filters": [f("Metrics.validation:auc", "GreaterThan", "0.98")]},
        {"SubExpressions": [{"Filters": [f("TrainingJobStatus", "Equals", "Stopped")]}]}]}
    assert set(names(west, deep)) == {"s-4", "s-5"}


def test_records_are_describe_with_tags(west):
    record = west.search(Resource="TrainingJob", SearchExpression={"Filters": [
        f("TrainingJobName", "Equals", "s-3")]})["Results"][0]["TrainingJob"]
    assert record["TrainingJobStatus"] == "Failed"
    assert record["HyperParameters"] == CHOSEN["s-3"][1]
    assert sorted((t["Key"], t["Value"]) for t in record["Tags"]) == [("owner", "ann"),
                                                                       ("team", "vision")]
    assert {m["MetricName"]: m["Value"] for m in record["FinalMetricDataList"]} == {
        "validation:auc": 0.7, "train:loss": pytest.approx(0.3)}
    assert record["TrainingTimeInSeconds"] == 1800


# --- sorting and paging --------------------------------------------------------------------------

@pytest.mark.parametrize("sort_by,order,expected", [
    ("Metrics.validation:auc", "Descending", ["s-5", "s-1", "s-2", "s-3", "s-6", "s-4"]),
    ("Metrics.validation:auc", "Ascending", ["s-6", "s-3", "s-2", "s-1", "s-5", "s-4"]),
    ("HyperParameters.eta", "Ascending", ["s-3", "s-1", "s-2", "s-5", "s-6", "s-4"]),
    ("TrainingJobName", "Ascending", ["s-1", "s-2", "s-3", "s-4", "s-5", "s-6"]),
    ("Tags.team", "Ascending", ["s-5", "s-2", "s-1", "s-3", "s-4", "s-6"]),
    ("TrainingTimeInSeconds", "Descending", ["s-6", "s-5", "s-4", "s-3", "s-2", "s-1"]),
    (None, None, ["s-6", "s-5", "s-4", "s-3", "s-2", "s-1"]),  # LastModifiedTime, descending
])
def test_sorting(west, sort_by, order, expected):
    kw = {k: v for k, v in (("SortBy", sort_by), ("SortOrder", order)) if v}
    assert names(west, **kw) == expected


def test_paging_with_next_token(west):
    request = {"Resource": "TrainingJob", "SortBy": "Metrics.validation:auc", "MaxResults": 2}
    pages, token = [], None
    while True:
        out = west.search(**request, **({"NextToken": token} if token else {}))
        pages.append([r["TrainingJob"]["TrainingJobName"] for r in out["Results"]])
        assert out["TotalHits"] == {"Value": 6, "Relation": "EqualTo"}
        token = out.get("NextToken")
        if not token:
            break
    assert pages == [["s-5", "s-1"], ["s-2", "s-3"], ["s-6", "s-4"]]
    # boto3's paginator follows the same tokens
    paginator = west.get_paginator("search")
    seen = [r["TrainingJob"]["TrainingJobName"] for page in paginator.paginate(
        Resource="TrainingJob", SearchExpression={"Filters": [f("TrainingJobStatus", "Equals",
                                                                 "Completed")]},
        SortBy="TrainingJobName", SortOrder="Ascending", PaginationConfig={"PageSize": 3})
        for r in page["Results"]]
    assert seen == ["s-1", "s-2", "s-5", "s-6"]


def test_total_hits_count_every_match(west):
    out = west.search(Resource="TrainingJob", MaxResults=1, SearchExpression={
        "Filters": [f("Metrics.validation:auc", "GreaterThan", "0.5")]})
    assert out["TotalHits"] == {"Value": 4, "Relation": "EqualTo"} and len(out["Results"]) == 1


# --- real jobs: metrics parsed from their logs ---------------------------------------------------

def test_metrics_of_real_training_jobs(sm):
    assert names(sm, {"Filters": [f("Metrics.validation:loss", "LessThan", "2")]},
                 SortBy="Metrics.validation:loss", SortOrder="Ascending") == ["real-0", "real-2"]
    assert names(sm, {"Filters": [f("Tags.batch", "Equals", "real")]},
                 SortBy="Metrics.train:loss", SortOrder="Descending") == [
        "real-1", "real-2", "real-0"]
    assert set(names(sm, {"Filters": [f("HyperParameters.scale", "GreaterThanOrEqualTo",
                                        "2")]})) == {"real-1", "real-2"}
    record = sm.search(Resource="TrainingJob", SearchExpression={"Filters": [
        f("TrainingJobName", "Equals", "real-1")]})["Results"][0]["TrainingJob"]
    final = {m["MetricName"]: m["Value"] for m in record["FinalMetricDataList"]}
    assert final["validation:loss"] == pytest.approx(8 / 3, abs=1e-3)
    assert record["Tags"] == [{"Key": "batch", "Value": "real"}]


# --- experiments ------------------------------------------------------------------------------------

def test_experiments_trials_and_trial_components(west):
    west.create_experiment(ExperimentName="exp-search", Description="searched",
                           Tags=[{"Key": "team", "Value": "vision"}])
    west.create_experiment(ExperimentName="exp-other")
    west.create_trial(TrialName="trial-a", ExperimentName="exp-search")
    west.create_trial(TrialName="trial-b", ExperimentName="exp-other")
    for name, trial, lr in (("tc-a1", "trial-a", 0.1), ("tc-a2", "trial-a", 0.4),
                            ("tc-b1", "trial-b", 0.2)):
        west.create_trial_component(TrialComponentName=name, Parameters={
            "lr": {"NumberValue": lr}, "opt": {"StringValue": "adam"}})
        west.associate_trial_component(TrialComponentName=name, TrialName=trial)
    assert names(west, {"Filters": [f("Parents.ExperimentName", "Equals", "exp-search")]},
                 "ExperimentTrialComponent", SortBy="TrialComponentName",
                 SortOrder="Ascending") == ["tc-a1", "tc-a2"]
    assert names(west, {"Filters": [f("Parameters.lr", "GreaterThan", "0.15")]},
                 "ExperimentTrialComponent", SortBy="Parameters.lr.NumberValue",
                 SortOrder="Descending") == ["tc-a2", "tc-b1"]
    assert names(west, {"Filters": [f("ExperimentName", "Equals", "exp-other")]},
                 "ExperimentTrial") == ["trial-b"]
    assert names(west, {"Filters": [f("Tags.team", "Equals", "vision")]}, "Experiment") == [
        "exp-search"]
    trial = west.search(Resource="ExperimentTrial", SearchExpression={"Filters": [
        f("TrialName", "Equals", "trial-a")]})["Results"][0]["Trial"]
    assert [c["TrialComponentName"] for c in trial["TrialComponentSummaries"]] == [
        "tc-a1", "tc-a2"]


# --- visibility, accounts, suggestions ---------------------------------------------------------------

def test_visibility_conditions_and_cross_account(west):
    assert set(names(west, VisibilityConditions=[{"Key": "Tags.team", "Value": "vision"}])) == {
        "s-1", "s-3"}
    out = west.search(Resource="TrainingJob", CrossAccountFilterOption="CrossAccount")
    assert out["Results"] == [] and out["TotalHits"] == {"Value": 0, "Relation": "EqualTo"}
    assert len(names(west, CrossAccountFilterOption="SameAccount")) == 6


def test_get_search_suggestions(west):
    def suggest(hint):
        out = west.get_search_suggestions(Resource="TrainingJob", SuggestionQuery={
            "PropertyNameQuery": {"PropertyNameHint": hint}})
        return [s["PropertyName"] for s in out["PropertyNameSuggestions"]]
    assert suggest("") == ["HyperParameters.eta", "HyperParameters.max_depth",
                           "HyperParameters.objective", "Metrics.train:loss",
                           "Metrics.validation:auc", "Tags.owner", "Tags.team"]
    assert suggest("HyperParameters.e") == ["HyperParameters.eta"]
    assert suggest("tags.") == ["Tags.owner", "Tags.team"]
    assert suggest("Metrics.val") == ["Metrics.validation:auc"]
    assert suggest("TrainingJob") == []


# --- errors ------------------------------------------------------------------------------------------

def test_an_unknown_resource_type_is_refused_as_aws_does(west):
    e = error(lambda: west.search(Resource="Notebook"))
    assert e.response["Error"]["Code"] == "ValidationException"
    assert e.response["Error"]["Message"].startswith(
        "1 validation error detected: Value 'Notebook' at 'resource' failed to satisfy "
        "constraint: Member must satisfy enum value set: [TrainingJob, Experiment, ")
    e = error(lambda: west.search(Resource="Project"))  # AWS has it; kamado keeps none
    assert e.response["Error"]["Code"] == "ValidationException"
    assert "kamado does not serve Search over Project resources yet; it searches " in str(e)


def test_an_unknown_operator_is_refused_as_aws_does(west):
    e = error(lambda: west.search(Resource="TrainingJob", SearchExpression={
        "Filters": [f("TrainingJobName", "Like", "x")]}))
    assert e.response["Error"]["Code"] == "ValidationException"
    assert ("Value 'Like' at 'searchExpression.filters.1.member.operator' failed to satisfy "
            "constraint: Member must satisfy enum value set: [Equals, NotEquals") in str(e)


@pytest.mark.parametrize("request_,text", [
    ({"SearchExpression": {"Filters": [f("TrainingJobNames", "Equals", "x")]}},
     "The property name TrainingJobNames is not valid for resource TrainingJob"),
    ({"SortBy": "Nope"}, "The property name Nope is not valid for resource TrainingJob"),
    ({"SortBy": "InputDataConfig"}, "Cannot sort by InputDataConfig"),
    ({"SearchExpression": {"Filters": [f("TrainingJobName", "GreaterThan", "x")]}},
     "The operator GreaterThan is not supported for text properties"),
    ({"SearchExpression": {"Filters": [f("Metrics.validation:auc", "GreaterThan", "high")]}},
     "The value 'high' of Metrics.validation:auc must be an integer or floating-point decimal"),
    ({"SearchExpression": {"Filters": [f("TrainingJobName", "Contains", "s"),
                                       f("Tags.team", "Contains", "i")]}},
     "'CONTAINS' operator usage limit of 1 exceeded."),
    ({"SearchExpression": {"Operator": "And"}},
     "A SearchExpression must contain at least one of Filters, NestedFilters and "
     "SubExpressions"),
    ({"NextToken": "not-a-token"}, "The NextToken is not valid for this request"),
    ({"VisibilityConditions": [{"Key": "team", "Value": "x"}]},
     "VisibilityConditions Key 'team' must have the form Tags.<key>"),
])
def test_requests_aws_refuses(west, request_, text):
    e = error(lambda: west.search(Resource="TrainingJob", **request_))
    assert e.response["Error"]["Code"] == "ValidationException"
    assert text in e.response["Error"]["Message"]


def test_a_token_of_another_search_is_refused(west):
    token = west.search(Resource="TrainingJob", MaxResults=1)["NextToken"]
    e = error(lambda: west.search(Resource="TrainingJob", MaxResults=1, NextToken=token,
                                  SortBy="TrainingJobName"))
    assert "The NextToken is not valid for this request" in str(e)
