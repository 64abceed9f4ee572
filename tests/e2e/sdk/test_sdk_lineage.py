"""The SageMaker Python SDK's lineage classes, unchanged, against the lineage kamado records by
itself (docs/lineage.md).

SDK 2.x trains the built-in XGBoost, ``Estimator.register``s the model into a model package
group pending approval, the package is approved through boto3, and ``ModelPackage.deploy``
puts it behind an endpoint. Then the SDK's ``sagemaker.lineage`` answers where the endpoint
came from: ``EndpointContext`` (found with ``Context.list(source_uri=endpoint_arn)``, as the
SDK's own integration tests find it), ``DatasetArtifact``, ``ModelArtifact``,
``ModelPackageApprovalAction``, ``ModelPackageGroup`` and ``LineageQuery`` with
``LineageFilter``s. SDK 3.x carries the same classes as ``sagemaker.core.lineage``; its script
asks them about the same endpoint once the 2.x run is done. The test checks every answer
against what boto3 says of the job, the package and the endpoint.

Some SDK methods answer nothing on a graph SageMaker makes, on AWS as here, because they look
for associations pointing the other way or for other entity types; those are pinned as empty,
with the reason, so that a change in kamado's graph shows up:

* ``EndpointContext.models()`` lists associations *from* the endpoint context to a
  ``ModelDeployment`` action; SageMaker's deployment action is ``AssociatedWith`` the context
  (the context is downstream: ``dataset_artifacts()`` finds the data among its Ascendants).
  ``models_v2()`` looks for ``Model`` artifacts downstream of the deployment action, which only
  has the context downstream.
* ``DatasetArtifact.trained_models()`` lists associations from the job's trial component whose
  DestinationType is ``Context``; the component ``Produced`` a ``Model`` artifact.
* ``ModelArtifact.endpoints()`` lists associations to DestinationType ``Action``; ListAssociations
  gives an action's ActionType (``ModelDeployment``) as its type, which ``models()`` relies on.

And ``ModelPackageApprovalAction.model_package()`` describes ``source_uri.split("/")[1]``: for a
versioned package (``...:model-package/<group>/<version>``) that is the group's name, which is
no model package.
"""

from __future__ import annotations

import pytest

from tests.e2e.sdk.conftest import (ROLE, SDK_V2, SDK_V3, XGB_HP, SdkRun, sdk_env,
                                    start_sdk_server, write_sdk_config)

pytestmark = pytest.mark.xdist_group("sdk-lineage")

JOB = "sdk-lineage-xgb"
GROUP = "sdk-lineage-models"
ENDPOINT = "sdk-lineage-endpoint"


@pytest.fixture(scope="module")
def lineage(tmp_path_factory, sdk_v2_python, cancer):
    tmp = tmp_path_factory.mktemp("sdk-lineage")
    server = start_sdk_server(tmp)
    env = sdk_env(server, write_sdk_config(tmp / "sagemaker-config.yaml"))
    run = SdkRun("v2 register, approve, deploy, sagemaker.lineage", sdk_v2_python,
                 "v2_lineage.py",
                 {"train": str(cancer.train_dir), "validation": str(cancer.validation_dir),
                  "job_name": JOB, "group": GROUP, "endpoint_name": ENDPOINT, "role": ROLE,
                  "hyperparameters": XGB_HP}, env, tmp / "v2")
    state = {"server": server, "env": env, "tmp": tmp, "runs": [run]}
    try:
        run.start()
        yield state
    finally:
        for r in state["runs"]:
            r.stop()
        server.stop()


@pytest.fixture(scope="module")
def v2(lineage):
    return lineage["runs"][0].result().result


@pytest.fixture(scope="module")
def truth(lineage, v2):
    """What boto3 says of the job, the package, the endpoint and the lineage entities."""
    sm = lineage["server"].client("sagemaker")
    job = sm.describe_training_job(TrainingJobName=JOB)
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
                for c in job["InputDataConfig"]}
    endpoint = sm.describe_endpoint(EndpointName=ENDPOINT)
    context = sm.list_contexts(SourceUri=endpoint["EndpointArn"])["ContextSummaries"]
    package = sm.describe_model_package(ModelPackageName=v2["package_arn"])
    approval = [a for a in sm.list_actions(SourceUri=package["ModelPackageArn"])[
        "ActionSummaries"] if a["ActionType"] == "Approval"]
    component = sm.describe_trial_component(TrialComponentName=f"{JOB}-aws-training-job")

    def artifact_arn(uri):
        found = sm.list_artifacts(SourceUri=uri)["ArtifactSummaries"]
        assert len(found) == 1, found  # one artifact per SourceUri
        return found[0]["ArtifactArn"]
    return {"sm": sm, "job": job, "channels": channels, "endpoint": endpoint,
            "context": context, "package": package, "approval": approval,
            "component": component,
            "data": {name: artifact_arn(uri) for name, uri in channels.items()},
            "model": artifact_arn(job["ModelArtifacts"]["S3ModelArtifacts"]),
            "package_artifact": artifact_arn(package["ModelPackageArn"])}


@pytest.fixture(scope="module")
def v3(lineage, sdk_v3_python, v2, truth):
    """SDK 3.x's sagemaker.core.lineage, asked about the endpoint the 2.x run deployed."""
    run = SdkRun("v3 sagemaker.core.lineage", sdk_v3_python, "v3_lineage.py",
                 {"endpoint_name": ENDPOINT, "package_arn": v2["package_arn"],
                  "train": truth["channels"]["train"], "group": GROUP,
                  "model_data": v2["model_data"]}, lineage["env"], lineage["tmp"] / "v3")
    lineage["runs"].append(run)
    return run.start().result().result


def _no_errors(r: dict, *keys: str) -> None:
    for key in keys:
        assert key not in r["errors"], (key, r["errors"][key])


def _uris(items) -> set:
    return {i["source_uri"] for i in items}


# --- the scenario itself ----------------------------------------------------------------------
def test_v2_registers_pending_approval_and_deploys_the_approved_package(v2, truth):
    assert v2["sdk"] == SDK_V2
    assert truth["job"]["TrainingJobStatus"] == "Completed"
    assert v2["model_data"] == truth["job"]["ModelArtifacts"]["S3ModelArtifacts"]
    assert truth["channels"] == v2["channels"]
    package = truth["package"]
    assert v2["status_registered"] == "PendingManualApproval"
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["ModelPackageGroupName"] == GROUP
    assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == \
        v2["model_data"]
    assert truth["endpoint"]["EndpointStatus"] == "InService"
    assert v2["endpoint_arn"] == truth["endpoint"]["EndpointArn"]
    # The endpoint runs a model made from the package.
    config = truth["sm"].describe_endpoint_config(
        EndpointConfigName=truth["endpoint"]["EndpointConfigName"])
    model = truth["sm"].describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    containers = model.get("Containers") or [model["PrimaryContainer"]]
    assert containers[0]["ModelPackageName"] == package["ModelPackageArn"]


# --- EndpointContext --------------------------------------------------------------------------
def test_endpoint_context_is_found_by_the_endpoint_arn(v2, truth):
    _no_errors(v2, "endpoint_contexts_listed")
    assert len(truth["context"]) == 1
    assert v2["endpoint_contexts_listed"] == [{
        "name": truth["context"][0]["ContextName"], "arn": truth["context"][0]["ContextArn"],
        "type": "Endpoint", "source_uri": truth["endpoint"]["EndpointArn"]}]
    assert v2["endpoint_context"]["class"] == "EndpointContext"
    assert v2["endpoint_context"]["arn"] == truth["context"][0]["ContextArn"]


def test_endpoint_context_finds_the_training_data_and_the_training_job(v2, truth):
    _no_errors(v2, "dataset_artifacts", "training_job_arns", "pipeline_execution_arn",
               "trial_components", "processing_jobs", "transform_jobs", "upstream_actions")
    data = v2["dataset_artifacts"]
    # The dataset artifacts are the training channels' S3 URIs, nothing else.
    assert sorted(_uris(data)) == sorted(truth["channels"].values())
    assert {(a["arn"], a["type"], a["class"]) for a in data} == {
        (truth["data"][name], "DataSet", "DatasetArtifact") for name in truth["channels"]}
    assert v2["training_job_arns"] == [truth["job"]["TrainingJobArn"]]
    assert v2["pipeline_execution_arn"] is None  # no pipeline tagged the job
    assert v2["trial_components"] == [{
        "arn": truth["component"]["TrialComponentArn"], "name": f"{JOB}-aws-training-job",
        "source_arn": truth["job"]["TrainingJobArn"], "class": "LineageTrialComponent"}]
    assert v2["processing_jobs"] == [] and v2["transform_jobs"] == []
    upstream = {a["type"]: a for a in v2["upstream_actions"]}
    assert sorted(upstream) == ["Approval", "ModelDeployment"]
    assert upstream["Approval"]["arn"] == truth["approval"][0]["ActionArn"]
    assert upstream["ModelDeployment"]["source_uri"].endswith(
        f"endpoint-config/{truth['endpoint']['EndpointConfigName']}")


def test_endpoint_context_models_look_the_other_way(v2, truth):
    """See the module docstring: on SageMaker's graph these answer nothing."""
    _no_errors(v2, "models", "models_v2", "models_v2_ascendants")
    assert v2["models"] == [] and v2["models_v2"] == [] and v2["models_v2_ascendants"] == []
    # ... because the deployment action points at the context, and the model at the action.
    sm, context = truth["sm"], truth["context"][0]["ContextArn"]
    assert sm.list_associations(SourceArn=context)["AssociationSummaries"] == []
    into = sm.list_associations(DestinationArn=context)["AssociationSummaries"]
    assert [(a["SourceType"], a["AssociationType"]) for a in into] == [
        ("ModelDeployment", "AssociatedWith")]
    deployed = sm.list_associations(DestinationArn=into[0]["SourceArn"], SourceType="Model")
    assert [a["SourceArn"] for a in deployed["AssociationSummaries"]] == [truth["model"]]


# --- DatasetArtifact, ModelArtifact -----------------------------------------------------------
def test_dataset_artifact_reaches_the_endpoint(v2, truth):
    _no_errors(v2, "train_artifacts_listed", "dataset_endpoint_contexts",
               "dataset_trained_models", "dataset_upstream_datasets",
               "dataset_downstream_datasets", "s3_uri_artifacts")
    train = truth["channels"]["train"]
    assert v2["train_artifacts_listed"] == [{"arn": truth["data"]["train"], "type": "DataSet",
                                             "source_uri": train}]
    assert v2["dataset"] == {"arn": truth["data"]["train"], "name": None, "type": "DataSet",
                             "source_uri": train, "class": "DatasetArtifact"}
    contexts = v2["dataset_endpoint_contexts"]
    assert [(c["arn"], c["type"], c["class"]) for c in contexts] == [
        (truth["context"][0]["ContextArn"], "Endpoint", "EndpointContext")]
    assert v2["s3_uri_artifacts"] == [truth["data"]["validation"]]
    assert v2["dataset_upstream_datasets"] == [] and v2["dataset_downstream_datasets"] == []
    # trained_models() looks for Context destinations of the job's component; it Produced a
    # Model artifact (module docstring).
    assert v2["dataset_trained_models"] == []
    produced = truth["sm"].list_associations(
        SourceArn=truth["component"]["TrialComponentArn"])["AssociationSummaries"]
    assert [(a["DestinationArn"], a["DestinationType"], a["AssociationType"])
            for a in produced] == [(truth["model"], "Model", "Produced")]


@pytest.mark.parametrize("which", ["model_artifact", "package_artifact"])
def test_model_artifact_reaches_data_job_and_endpoint(v2, truth, which):
    """The model.tar.gz's artifact, and the model package's (which the SDK's own tests load as
    a ModelArtifact)."""
    _no_errors(v2, f"{which}s_listed", f"{which}_endpoint_contexts",
               f"{which}_dataset_artifacts", f"{which}_training_job_arns",
               f"{which}_pipeline_execution_arn", f"{which}_endpoints")
    arn = truth["model" if which == "model_artifact" else "package_artifact"]
    assert [a["arn"] for a in v2[f"{which}s_listed"]] == [arn]
    assert v2[f"{which}s_listed"][0]["type"] == (
        "Model" if which == "model_artifact" else "ModelPackage")
    assert [c["arn"] for c in v2[f"{which}_endpoint_contexts"]] == [
        truth["context"][0]["ContextArn"]]
    assert sorted(_uris(v2[f"{which}_dataset_artifacts"])) == sorted(
        truth["channels"].values())
    assert v2[f"{which}_training_job_arns"] == [truth["job"]["TrainingJobArn"]]
    assert v2[f"{which}_pipeline_execution_arn"] is None
    assert v2[f"{which}_endpoints"] == []  # DestinationType "Action" (module docstring)


# --- ModelPackageApprovalAction, ModelPackageGroup --------------------------------------------
def test_approval_action_of_the_package(v2, truth):
    _no_errors(v2, "package_actions_listed", "approval_endpoints", "approval_datasets",
               "approval_artifacts_ascendants", "approval_actions_by_type")
    assert len(truth["approval"]) == 1
    approval = truth["approval"][0]
    assert v2["package_actions_listed"] == [{
        "name": approval["ActionName"], "arn": approval["ActionArn"], "type": "Approval",
        "source_uri": truth["package"]["ModelPackageArn"]}]
    assert v2["approval"]["class"] == "ModelPackageApprovalAction"
    assert v2["approval"]["properties"] == {"ModelApprovalStatus": "Approved"}
    assert v2["approval_actions_by_type"] == [approval["ActionName"]]
    assert f"model-package/{GROUP} does not exist" in v2["errors"]["approval_model_package"]
    # The endpoints the approval led to include this endpoint's context.
    assert [(c["arn"], c["type"], c["class"]) for c in v2["approval_endpoints"]] == [
        (truth["context"][0]["ContextArn"], "Endpoint", "EndpointContext")]
    # Upstream of the approval: the package, the model it holds, the training data and image.
    assert sorted(_uris(v2["approval_datasets"])) == sorted(truth["channels"].values())
    upstream = {a["arn"]: a["type"] for a in v2["approval_artifacts_ascendants"]}
    assert upstream[truth["package_artifact"]] == "ModelPackage"
    assert upstream[truth["model"]] == "Model"
    assert {upstream[arn] for arn in truth["data"].values()} == {"DataSet"}
    assert "Image" in upstream.values()


def test_model_package_group_context(v2, truth):
    _no_errors(v2, "group_contexts_listed")
    group = truth["sm"].describe_model_package_group(ModelPackageGroupName=GROUP)
    contexts = truth["sm"].list_contexts(SourceUri=group["ModelPackageGroupArn"])[
        "ContextSummaries"]
    assert [(c["name"], c["type"]) for c in v2["group_contexts_listed"]] == [
        (contexts[0]["ContextName"], "ModelGroup")]
    assert v2["group_context"]["class"] == "ModelPackageGroup"
    # A group no pipeline made has no pipeline execution.
    _no_errors(v2, "group_pipeline_execution_arn")
    assert v2["group_pipeline_execution_arn"] is None


# --- LineageQuery -------------------------------------------------------------------------------
def test_lineage_query_with_filters(v2, truth):
    _no_errors(v2, "query_data_and_models", "query_jobs", "query_approved",
               "query_downstream_of_data", "query_everything_upstream", "query_depth_1")
    context = truth["context"][0]["ContextArn"]
    component = truth["component"]["TrialComponentArn"]
    q = v2["query_data_and_models"]
    assert sorted((v["arn"], v["entity"], v["source"]) for v in q["vertices"]) == sorted(
        [(arn, "Artifact", "DataSet") for arn in truth["data"].values()]
        + [(truth["model"], "Artifact", "Model")])
    # Vertex.to_lineage_object() makes the SDK's class for each.
    assert {o["arn"]: o["class"] for o in q["objects"]} == {
        **{arn: "DatasetArtifact" for arn in truth["data"].values()},
        truth["model"]: "ModelArtifact"}
    # The edges walked come along: data -> job -> model -> deployment -> endpoint.
    edges = {(e["source_arn"], e["destination_arn"]): e["association_type"] for e in q["edges"]}
    assert edges[(truth["data"]["train"], component)] == "ContributedTo"
    assert edges[(component, truth["model"])] == "Produced"
    deployment = [e["source_arn"] for e in q["edges"] if e["destination_arn"] == context]
    assert len(deployment) == 1 and edges[(deployment[0], context)] == "AssociatedWith"
    assert edges[(truth["model"], deployment[0])] == "ContributedTo"

    jobs = v2["query_jobs"]
    assert jobs["vertices"] == [{"arn": component, "entity": "TrialComponent",
                                 "source": "TrainingJob"}]
    assert jobs["edges"] == []  # include_edges=False
    assert jobs["objects"][0]["class"] == "LineageTrialComponent"
    assert jobs["objects"][0]["source_arn"] == truth["job"]["TrainingJobArn"]

    approved = v2["query_approved"]
    assert [(v["arn"], v["source"]) for v in approved["vertices"]] == [
        (truth["approval"][0]["ActionArn"], "Approval")]
    assert approved["objects"][0]["properties"] == {"ModelApprovalStatus": "Approved"}

    down = v2["query_downstream_of_data"]
    assert [(v["arn"], v["entity"], v["source"]) for v in down["vertices"]] == [
        (context, "Context", "Endpoint")]

    every = {v["source"] for v in v2["query_everything_upstream"]["vertices"]}
    assert every == {"ModelDeployment", "Model", "Image", "ModelPackage", "Approval",
                     "TrainingJob", "DataSet"}
    assert v2["query_depth_1"] == 1  # the deployment action alone


def test_lineage_query_properties_filter_matches_any_pair(v2, truth):
    """QueryLineage's Filters.Properties: "If multiple pairs are provided, an entity is
    included in the results if it matches any of the provided pairs" (the API reference)."""
    _no_errors(v2, "query_any_property")
    assert [v["arn"] for v in v2["query_any_property"]["vertices"]] == [
        truth["approval"][0]["ActionArn"]]


# --- SDK 3.x ----------------------------------------------------------------------------------
def test_v3_core_lineage_gives_the_same_answers(v3, v2, truth):
    assert v3["sdk"] == SDK_V3
    assert v3["errors"] == {}
    context = truth["context"][0]["ContextArn"]
    assert v3["endpoint_context"] == {"arn": context, "class": "EndpointContext"}
    assert sorted(v3["dataset_source_uris"]) == sorted(truth["channels"].values())
    assert v3["training_job_arns"] == [truth["job"]["TrainingJobArn"]]
    assert v3["pipeline_execution_arn"] is None
    assert v3["dataset_endpoint_contexts"] == [context]
    assert v3["model_training_job_arns"] == [truth["job"]["TrainingJobArn"]]
    assert v3["approval"] == {"arn": truth["approval"][0]["ActionArn"],
                              "class": "ModelPackageApprovalAction",
                              "properties": {"ModelApprovalStatus": "Approved"}}
    assert v3["approval_endpoints"] == [context]
    assert sorted(v3["approval_dataset_uris"]) == sorted(truth["channels"].values())
    assert sorted(v3["query_vertices"]) == sorted(
        [[arn, "Artifact", "DataSet"] for arn in truth["data"].values()]
        + [[truth["model"], "Artifact", "Model"]])
    # The same answers as 2.x's.
    assert v3["training_job_arns"] == v2["training_job_arns"]
