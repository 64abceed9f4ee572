"""Actions, contexts, artifacts and the associations between them, as boto3 sees them; and
QueryLineage's directions, depth, filters, edges and pages."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.e2e.lineage.conftest import refused, unique


def source(uri: str) -> dict:
    """An action's or context's Source."""
    return {"SourceUri": uri, "SourceType": "S3"}


def art(uri: str) -> dict:
    """An artifact's Source."""
    return {"SourceUri": uri}


def test_actions(sm):
    name = unique("act")
    arn = sm.create_action(ActionName=name, Source=source("s3://b/step"), ActionType="Step",
                           Status="InProgress", Description="a step",
                           Properties={"k1": "v1", "k2": "v2"},
                           MetadataProperties={"GeneratedBy": "me"},
                           Tags=[{"Key": "team", "Value": "ml"}])["ActionArn"]
    assert arn.endswith(f":action/{name}")
    d = sm.describe_action(ActionName=name)
    assert (d["ActionName"], d["ActionArn"], d["ActionType"], d["Status"]) == (
        name, arn, "Step", "InProgress")
    assert d["Source"] == source("s3://b/step") and d["Description"] == "a step"
    assert d["Properties"] == {"k1": "v1", "k2": "v2"}
    assert d["MetadataProperties"] == {"GeneratedBy": "me"}
    assert d["CreatedBy"]["IamIdentity"]["Arn"].endswith(":root")
    assert sm.describe_action(ActionName=arn)["ActionName"] == name  # by ARN too
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]

    code, message = refused(sm.create_action, ActionName=name, Source=source("s3://x"),
                            ActionType="Step")
    assert code == "ValidationException" and "already exists" in message
    code, _ = refused(sm.create_action, ActionName=unique("act"), Source=source("s3://x"),
                      ActionType="Step", Status="Sleeping")
    assert code == "ValidationException"

    sm.update_action(ActionName=name, Status="Completed", Properties={"k3": "v3"},
                     PropertiesToRemove=["k1"])
    d = sm.describe_action(ActionName=name)
    assert d["Status"] == "Completed" and d["Properties"] == {"k2": "v2", "k3": "v3"}
    assert d["LastModifiedTime"] >= d["CreationTime"]

    other = unique("act")
    sm.create_action(ActionName=other, Source=source("s3://b/other"), ActionType="Other")
    by_type = sm.list_actions(ActionType="Other")["ActionSummaries"]
    assert [a["ActionName"] for a in by_type] == [other]
    by_uri = sm.list_actions(SourceUri="s3://b/step")["ActionSummaries"]
    assert [a["ActionArn"] for a in by_uri] == [arn] and by_uri[0]["Status"] == "Completed"

    assert sm.delete_action(ActionName=name)["ActionArn"] == arn
    code, _ = refused(sm.describe_action, ActionName=name)
    assert code == "ResourceNotFound"
    code, _ = refused(sm.delete_action, ActionName=name)
    assert code == "ResourceNotFound"
    code, _ = refused(sm.update_action, ActionName=name, Status="Failed")
    assert code == "ResourceNotFound"


def test_contexts(sm):
    name = unique("ctx")
    arn = sm.create_context(ContextName=name, Source=source("arn:aws:x"),
                            ContextType="Project", Description="d",
                            Properties={"stage": "dev"})["ContextArn"]
    assert arn.endswith(f":context/{name}")
    d = sm.describe_context(ContextName=arn)
    assert (d["ContextName"], d["ContextType"], d["Properties"]) == (name, "Project",
                                                                     {"stage": "dev"})
    sm.update_context(ContextName=name, Description="e", Properties={"stage": "prod"})
    d = sm.describe_context(ContextName=name)
    assert d["Description"] == "e" and d["Properties"] == {"stage": "prod"}
    found = sm.list_contexts(ContextType="Project", SortBy="Name",
                             SortOrder="Ascending")["ContextSummaries"]
    assert name in [c["ContextName"] for c in found]
    code, message = refused(sm.create_context, ContextName=name, Source=source("y"),
                            ContextType="Project")
    assert code == "ValidationException" and "already exists" in message
    assert sm.delete_context(ContextName=name)["ContextArn"] == arn
    code, _ = refused(sm.describe_context, ContextName=name)
    assert code == "ResourceNotFound"


def test_update_artifact(sm):
    arn = sm.create_artifact(ArtifactName="data", Source=art("s3://b/data"),
                             ArtifactType="DataSet", Properties={"a": "1", "b": "2"})["ArtifactArn"]
    sm.update_artifact(ArtifactArn=arn, ArtifactName="data-v2", Properties={"c": "3"},
                       PropertiesToRemove=["a"])
    d = sm.describe_artifact(ArtifactArn=arn)
    assert d["ArtifactName"] == "data-v2" and d["Properties"] == {"b": "2", "c": "3"}
    missing = arn[:-4] + "0000"
    code, _ = refused(sm.update_artifact, ArtifactArn=missing, ArtifactName="x")
    assert code == "ResourceNotFound"


@pytest.fixture(scope="module")
def chain(sm):
    """data -ContributedTo-> step -Produced-> model -ContributedTo-> deploy
    -AssociatedWith-> endpoint context; a second dataset into step too."""
    tag = unique("q")
    data = sm.create_artifact(ArtifactName="data", Source=art(f"s3://b/{tag}/data"),
                              ArtifactType="DataSet")["ArtifactArn"]
    extra = sm.create_artifact(Source=art(f"s3://b/{tag}/extra"), ArtifactType="DataSet",
                               Properties={"kind": "extra"})["ArtifactArn"]
    sm.create_trial_component(TrialComponentName=f"{tag}-train")
    step = sm.describe_trial_component(TrialComponentName=f"{tag}-train")["TrialComponentArn"]
    model = sm.create_artifact(Source=art(f"s3://b/{tag}/model.tar.gz"),
                               ArtifactType="Model")["ArtifactArn"]
    deploy = sm.create_action(ActionName=f"{tag}-deploy", Source=source("arn:deploy"),
                              ActionType="ModelDeployment")["ActionArn"]
    endpoint = sm.create_context(ContextName=f"{tag}-endpoint", Source=source("arn:ep"),
                                 ContextType="Endpoint")["ContextArn"]
    for s, d, kind in ((data, step, "ContributedTo"), (extra, step, "ContributedTo"),
                       (step, model, "Produced"), (model, deploy, "ContributedTo"),
                       (deploy, endpoint, "AssociatedWith")):
        answer = sm.add_association(SourceArn=s, DestinationArn=d, AssociationType=kind)
        assert (answer["SourceArn"], answer["DestinationArn"]) == (s, d)
    return dict(data=data, extra=extra, step=step, model=model, deploy=deploy,
                endpoint=endpoint)


def test_associations_between_every_kind(sm, chain):
    found = sm.list_associations(SourceArn=chain["deploy"])["AssociationSummaries"]
    assert [(a["DestinationArn"], a["AssociationType"], a["DestinationType"],
             a["SourceType"]) for a in found] == [
        (chain["endpoint"], "AssociatedWith", "Endpoint", "ModelDeployment")]


def test_refusals(sm, chain):
    # A cycle: the endpoint context upstream of the data it came from.
    code, message = refused(sm.add_association, SourceArn=chain["endpoint"],
                            DestinationArn=chain["data"], AssociationType="ContributedTo")
    assert code == "ValidationException" and "cycle" in message
    code, message = refused(sm.add_association, SourceArn=chain["model"],
                            DestinationArn=chain["step"])
    assert code == "ValidationException" and "cycle" in message
    code, _ = refused(sm.add_association, SourceArn=chain["data"], DestinationArn=chain["data"])
    assert code == "ValidationException"
    code, message = refused(sm.add_association, SourceArn=chain["data"],
                            DestinationArn=chain["step"], AssociationType="ContributedTo")
    assert code == "ValidationException" and "already exists" in message
    gone = chain["deploy"].rsplit("/", 1)[0] + "/nothing-here"
    code, _ = refused(sm.add_association, SourceArn=chain["data"], DestinationArn=gone)
    assert code == "ResourceNotFound"
    code, _ = refused(sm.query_lineage, StartArns=[gone])
    assert code == "ResourceNotFound"


def vertices(answer) -> set[str]:
    return {v["Arn"] for v in answer["Vertices"]}


def test_query_directions_and_depth(sm, chain):
    up = sm.query_lineage(StartArns=[chain["endpoint"]], Direction="Ascendants",
                          IncludeEdges=True, MaxResults=50)
    assert vertices(up) == {chain[k] for k in ("deploy", "model", "step", "data", "extra")}
    types = {v["Arn"]: (v.get("Type"), v["LineageType"]) for v in up["Vertices"]}
    assert types[chain["deploy"]] == ("ModelDeployment", "Action")
    assert types[chain["model"]] == ("Model", "Artifact")
    assert types[chain["step"]][1] == "TrialComponent"
    assert {(e["SourceArn"], e["DestinationArn"], e["AssociationType"]) for e in up["Edges"]} \
        >= {(chain["step"], chain["model"], "Produced"),
            (chain["data"], chain["step"], "ContributedTo")}

    shallow = sm.query_lineage(StartArns=[chain["endpoint"]], Direction="Ascendants",
                               MaxDepth=2)
    assert vertices(shallow) == {chain["deploy"], chain["model"]}
    down = sm.query_lineage(StartArns=[chain["data"]], Direction="Descendants", MaxResults=50)
    assert vertices(down) == {chain[k] for k in ("step", "model", "deploy", "endpoint")}
    assert vertices(sm.query_lineage(StartArns=[chain["data"]], Direction="Ascendants")) == set()
    both = sm.query_lineage(StartArns=[chain["model"]], Direction="Both", MaxDepth=1,
                            IncludeEdges=False)
    assert vertices(both) == {chain["step"], chain["deploy"]} and both["Edges"] == []


def test_query_filters_and_pages(sm, chain):
    data_sets = sm.query_lineage(StartArns=[chain["endpoint"]], Direction="Ascendants",
                                 Filters={"Types": ["DataSet"], "LineageTypes": ["Artifact"]})
    assert vertices(data_sets) == {chain["data"], chain["extra"]}
    assert vertices(sm.query_lineage(
        StartArns=[chain["endpoint"]], Direction="Ascendants",
        Filters={"Properties": {"kind": "extra"}})) == {chain["extra"]}
    assert vertices(sm.query_lineage(
        StartArns=[chain["endpoint"]], Direction="Ascendants",
        Filters={"LineageTypes": ["TrialComponent"]})) == {chain["step"]}
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    assert vertices(sm.query_lineage(StartArns=[chain["endpoint"]], Direction="Ascendants",
                                     Filters={"CreatedAfter": future})) == set()
    assert len(vertices(sm.query_lineage(StartArns=[chain["endpoint"]],
                                         Direction="Ascendants",
                                         Filters={"ModifiedBefore": future}))) == 5

    seen, token, pages = [], None, 0
    while True:
        page = sm.query_lineage(StartArns=[chain["endpoint"]], Direction="Ascendants",
                                MaxResults=2, **({"NextToken": token} if token else {}))
        seen += [v["Arn"] for v in page["Vertices"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 3 and len(seen) == 5 and set(seen) == vertices(
        sm.query_lineage(StartArns=[chain["endpoint"]], Direction="Ascendants"))


def test_deleting_an_entity_takes_its_associations(sm):
    tag = unique("del")
    a = sm.create_action(ActionName=f"{tag}-a", Source=source("x"), ActionType="T")["ActionArn"]
    c = sm.create_context(ContextName=f"{tag}-c", Source=source("y"),
                          ContextType="T")["ContextArn"]
    sm.add_association(SourceArn=a, DestinationArn=c, AssociationType="AssociatedWith")
    sm.delete_context(ContextName=f"{tag}-c")
    assert sm.list_associations(SourceArn=a)["AssociationSummaries"] == []
