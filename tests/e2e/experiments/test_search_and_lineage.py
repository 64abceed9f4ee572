"""What experiment tracking relies on from Search (served by services/sagemaker/search.py):
trial components found by their parents, parameters, logged metrics and tags, with the
records the SDK's ExperimentAnalytics reads; and the lineage artifacts and associations that
``Run.log_confusion_matrix`` and friends make."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from tests.e2e.experiments.conftest import unique

UTC = dt.timezone.utc


def code(exc_info) -> str:
    return exc_info.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def graph(sm, metrics):
    """Two experiments; three components with parameters, metrics and tags in their trials."""
    tag = unique("g")
    exp_a, exp_b = f"{tag}-a", f"{tag}-b"
    sm.create_experiment(ExperimentName=exp_a, Description="the first",
                         Tags=[{"Key": "team", "Value": "vision"}])
    sm.create_experiment(ExperimentName=exp_b)
    sm.create_trial(TrialName=f"{tag}-t1", ExperimentName=exp_a)
    sm.create_trial(TrialName=f"{tag}-t2", ExperimentName=exp_b)
    now = dt.datetime.now(UTC)
    spec = {f"{tag}-c1": (0.1, "adam", [0.9, 0.4], "vision", [f"{tag}-t1"]),
            f"{tag}-c2": (0.01, "sgd", [0.8, 0.6], "speech", [f"{tag}-t1", f"{tag}-t2"]),
            f"{tag}-c3": (0.5, "adam", [0.7, 0.2], None, [f"{tag}-t2"])}
    for name, (lr, opt, losses, team, trials) in spec.items():
        sm.create_trial_component(
            TrialComponentName=name, DisplayName=f"run-{name[-2:]}",
            Parameters={"lr": {"NumberValue": lr}, "optimizer": {"StringValue": opt}},
            Tags=[{"Key": "team", "Value": team}] if team else [])
        metrics.batch_put_metrics(TrialComponentName=name, MetricData=[
            {"MetricName": "loss", "Value": v, "Step": i, "Timestamp": now}
            for i, v in enumerate(losses)])
        for trial in trials:
            sm.associate_trial_component(TrialComponentName=name, TrialName=trial)
    return tag


def names(sm, resource="ExperimentTrialComponent", key="TrialComponentName", **kwargs):
    out, token = [], None
    member = {"ExperimentTrialComponent": "TrialComponent", "Experiment": "Experiment",
              "ExperimentTrial": "Trial"}[resource]
    while True:
        page = sm.search(Resource=resource, **kwargs, **({"NextToken": token} if token else {}))
        out += [r[member][key] for r in page["Results"]]
        token = page.get("NextToken")
        if not token:
            return out


def test_filters(sm, graph):
    t = graph
    mine = {"Name": "TrialComponentName", "Operator": "Contains", "Value": t}

    def search(*filters, **kwargs):
        return sorted(names(sm, SearchExpression={"Filters": [mine, *filters]}, **kwargs))
    assert search() == [f"{t}-c1", f"{t}-c2", f"{t}-c3"]
    assert search({"Name": "Parents.ExperimentName", "Value": f"{t}-a"}) == [f"{t}-c1",
                                                                              f"{t}-c2"]
    assert search({"Name": "Parents.TrialName", "Operator": "Equals", "Value": f"{t}-t2"}) == [
        f"{t}-c2", f"{t}-c3"]
    assert search({"Name": "Parameters.lr", "Operator": "GreaterThanOrEqualTo",
                   "Value": "0.1"}) == [f"{t}-c1", f"{t}-c3"]
    assert search({"Name": "Parameters.optimizer", "Operator": "NotEquals",
                   "Value": "adam"}) == [f"{t}-c2"]
    assert search({"Name": "Metrics.loss", "Operator": "LessThan", "Value": "0.5"}) == [
        f"{t}-c1", f"{t}-c3"]  # Metrics.<name> is the last value
    assert search({"Name": "Metrics.loss.Max", "Operator": "GreaterThan", "Value": "0.75"}) == [
        f"{t}-c1", f"{t}-c2"]
    assert search({"Name": "Tags.team", "Operator": "In", "Value": "speech, audio"}) == [
        f"{t}-c2"]
    assert search({"Name": "Tags.team", "Operator": "NotExists"}) == [f"{t}-c3"]
    assert search({"Name": "DisplayName", "Operator": "Equals", "Value": "run-c1"}) == [
        f"{t}-c1"]
    created = sm.describe_trial_component(TrialComponentName=f"{t}-c2")["CreationTime"]
    assert search({"Name": "CreationTime", "Operator": "GreaterThanOrEqualTo",
                   "Value": created.isoformat()}) == [f"{t}-c2", f"{t}-c3"]


def test_nested_filters_and_sub_expressions(sm, graph):
    t = graph
    mine = {"Name": "TrialComponentName", "Operator": "Contains", "Value": t}
    # One parent must be both trial t2 and experiment a: no component has such a parent,
    # though c2 has each of them through different parents.
    nested = {"NestedPropertyName": "Parents", "Filters": [
        {"Name": "Parents.TrialName", "Operator": "Equals", "Value": f"{t}-t2"},
        {"Name": "Parents.ExperimentName", "Operator": "Equals", "Value": f"{t}-a"}]}
    assert names(sm, SearchExpression={"Filters": [mine], "NestedFilters": [nested]}) == []
    flat = [nested["Filters"][0], nested["Filters"][1], mine]
    assert names(sm, SearchExpression={"Filters": flat}) == [f"{t}-c2"]
    either = {"Operator": "Or", "SubExpressions": [
        {"Filters": [{"Name": "Parameters.optimizer", "Operator": "Equals", "Value": "sgd"}]},
        {"Filters": [{"Name": "Metrics.loss.Min", "Operator": "LessThan", "Value": "0.3"}]}]}
    assert sorted(names(sm, SearchExpression={"Filters": [mine], "SubExpressions": [either]})) \
        == [f"{t}-c2", f"{t}-c3"]


def test_sorting_paging_and_records(sm, graph):
    t = graph
    expression = {"Filters": [{"Name": "TrialComponentName", "Operator": "Contains",
                               "Value": t}]}
    assert names(sm, SearchExpression=expression, SortBy="Metrics.loss.Min",
                 SortOrder="Ascending", MaxResults=1) == [f"{t}-c3", f"{t}-c1", f"{t}-c2"]
    page = sm.search(Resource="ExperimentTrialComponent", SearchExpression={"Filters": [
        {"Name": "TrialComponentName", "Operator": "Equals", "Value": f"{t}-c2"}]})
    record = page["Results"][0]["TrialComponent"]
    assert sorted((p["TrialName"], p["ExperimentName"]) for p in record["Parents"]) == [
        (f"{t}-t1", f"{t}-a"), (f"{t}-t2", f"{t}-b")]
    assert record["Tags"] == [{"Key": "team", "Value": "speech"}]
    assert record["Parameters"]["lr"] == {"NumberValue": 0.01}
    assert {m["MetricName"]: m["Last"] for m in record["Metrics"]} == {"loss": 0.6}
    assert record["InputArtifacts"] == {} and record["OutputArtifacts"] == {}


def test_experiments_and_trials_are_searchable(sm, graph):
    t = graph
    assert names(sm, "Experiment", "ExperimentName", SearchExpression={"Filters": [
        {"Name": "Tags.team", "Operator": "Equals", "Value": "vision"},
        {"Name": "ExperimentName", "Operator": "Contains", "Value": t}]}) == [f"{t}-a"]
    assert names(sm, "Experiment", "ExperimentName", SearchExpression={"Filters": [
        {"Name": "Description", "Operator": "Exists"},
        {"Name": "ExperimentName", "Operator": "Contains", "Value": t}]}) == [f"{t}-a"]
    trials = sm.search(Resource="ExperimentTrial", SearchExpression={"Filters": [
        {"Name": "ExperimentName", "Operator": "Equals", "Value": f"{t}-b"}]})["Results"]
    assert [r["Trial"]["TrialName"] for r in trials] == [f"{t}-t2"]
    assert sorted(s["TrialComponentName"] for s in trials[0]["Trial"][
        "TrialComponentSummaries"]) == [f"{t}-c2", f"{t}-c3"]


def test_artifacts_and_associations(sm, graph):
    t = graph
    tc_arn = sm.describe_trial_component(TrialComponentName=f"{t}-c1")["TrialComponentArn"]
    uri = f"s3://data/{t}/confusion.json"
    arn = sm.create_artifact(ArtifactName="confusion", ArtifactType="ConfusionMatrix", Source={
        "SourceUri": uri, "SourceTypes": [{"SourceIdType": "S3ETag", "Value": "abc"}]})[
        "ArtifactArn"]
    assert arn.startswith("arn:aws:sagemaker:us-east-1:000000000000:artifact/")
    got = sm.describe_artifact(ArtifactArn=arn)
    assert (got["ArtifactName"], got["ArtifactType"], got["Source"]["SourceUri"]) == (
        "confusion", "ConfusionMatrix", uri)
    assert [a["ArtifactArn"] for a in sm.list_artifacts(SourceUri=uri)["ArtifactSummaries"]] == [
        arn]

    sm.add_association(SourceArn=tc_arn, DestinationArn=arn, AssociationType="Produced")
    with pytest.raises(ClientError) as err:
        sm.add_association(SourceArn=tc_arn, DestinationArn=arn, AssociationType="Produced")
    assert code(err) == "ValidationException" and "already exists" in \
        err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        sm.add_association(SourceArn=tc_arn, DestinationArn=arn + "0")
    assert code(err) == "ResourceNotFound"
    links = sm.list_associations(SourceArn=tc_arn)["AssociationSummaries"]
    assert [(a["DestinationArn"], a["AssociationType"], a["DestinationType"],
             a["DestinationName"], a["SourceName"]) for a in links] == [
        (arn, "Produced", "ConfusionMatrix", "confusion", f"{t}-c1")]

    sm.delete_association(SourceArn=tc_arn, DestinationArn=arn)
    assert sm.list_associations(SourceArn=tc_arn)["AssociationSummaries"] == []
    with pytest.raises(ClientError) as err:
        sm.delete_association(SourceArn=tc_arn, DestinationArn=arn)
    assert code(err) == "ResourceNotFound"

    # Deleting either end takes the association with it.
    sm.add_association(SourceArn=tc_arn, DestinationArn=arn, AssociationType="Produced")
    assert sm.delete_artifact(ArtifactArn=arn)["ArtifactArn"] == arn
    assert sm.list_associations(SourceArn=tc_arn)["AssociationSummaries"] == []
    with pytest.raises(ClientError) as err:
        sm.describe_artifact(ArtifactArn=arn)
    assert code(err) == "ResourceNotFound"
