"""The lineage SageMaker records by itself, end to end: train → register → approve → deploy,
then QueryLineage from the endpoint's context finds the training data and the training job;
and ``kamado lineage`` draws it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sklearn.datasets import load_breast_cancer

from tests.conftest import wait_status
from tests.e2e.hosting.conftest import BUCKET, ROLE, XGBOOST, deploy, train

JOB = "lineage-xgb"
DATA = f"s3://{BUCKET}/{JOB}/train/"


@pytest.fixture(scope="module")
def deployed(lineage_server, sm):
    lineage_server.client("s3").create_bucket(Bucket=BUCKET)
    X, y = load_breast_cancer(return_X_y=True)
    model_data = train(lineage_server, JOB, XGBOOST, X[:200], y[:200],
                       {"objective": "binary:logistic", "num_round": 5, "max_depth": 2})
    sm.create_model_package_group(ModelPackageGroupName="lineage-models")
    package = sm.create_model_package(
        ModelPackageGroupName="lineage-models",
        InferenceSpecification={
            "Containers": [{"Image": XGBOOST, "ModelDataUrl": model_data,
                            "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    sm.create_model(ModelName="lineage-model", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"ModelPackageName": package})
    endpoint = deploy(sm, "lineage-endpoint", [{"model": "lineage-model"}])
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    return {"model_data": model_data, "package": package, "endpoint": endpoint["EndpointArn"],
            "component": sm.describe_trial_component(
                TrialComponentName=f"{JOB}-aws-training-job")["TrialComponentArn"]}


def artifact_of(sm, uri: str) -> dict:
    found = sm.list_artifacts(SourceUri=uri)["ArtifactSummaries"]
    assert len(found) == 1, found  # one artifact per SourceUri
    return found[0]


def test_a_training_job_records_its_data_and_model(sm, deployed):
    data = artifact_of(sm, DATA)
    assert data["ArtifactType"] == "DataSet"
    into = sm.list_associations(DestinationArn=deployed["component"])["AssociationSummaries"]
    assert (data["ArtifactArn"], "ContributedTo") in {(a["SourceArn"], a["AssociationType"])
                                                      for a in into}
    assert artifact_of(sm, XGBOOST)["ArtifactType"] == "Image"
    model = artifact_of(sm, deployed["model_data"])
    assert model["ArtifactType"] == "Model"
    produced = wait_status(
        lambda: sm.list_associations(SourceArn=deployed["component"],
                                     AssociationType="Produced")["AssociationSummaries"],
        lambda found: bool(found), (True,), "the Produced association", 30)
    assert produced[0]["DestinationArn"] == model["ArtifactArn"]


def test_the_endpoint_context_reaches_the_training_data(sm, deployed):
    contexts = sm.list_contexts(SourceUri=deployed["endpoint"])["ContextSummaries"]
    assert len(contexts) == 1 and contexts[0]["ContextType"] == "Endpoint"
    assert contexts[0]["ContextName"].startswith("lineage-endpoint-")
    endpoint_context = contexts[0]["ContextArn"]
    package = artifact_of(sm, deployed["package"])
    assert package["ArtifactType"] == "ModelPackage"
    approvals = sm.list_actions(SourceUri=deployed["package"])["ActionSummaries"]
    assert [a["ActionType"] for a in approvals] == ["Approval"]
    approval = sm.describe_action(ActionName=approvals[0]["ActionName"])
    assert approval["Properties"]["ModelApprovalStatus"] == "Approved"

    answer = sm.query_lineage(StartArns=[endpoint_context], Direction="Ascendants",
                              IncludeEdges=True, MaxDepth=10, MaxResults=50)
    found = {v["Arn"]: v for v in answer["Vertices"]}
    data = artifact_of(sm, DATA)["ArtifactArn"]
    assert found[data]["Type"] == "DataSet" and found[data]["LineageType"] == "Artifact"
    assert found[deployed["component"]] == {"Arn": deployed["component"],
                                            "Type": "TrainingJob",
                                            "LineageType": "TrialComponent"}
    assert package["ArtifactArn"] in found and approval["ActionArn"] in found
    assert any(v.get("Type") == "ModelDeployment" for v in found.values())

    # What the SageMaker SDK's EndpointContext.dataset_artifacts() / training_job_arns() ask.
    data_sets = sm.query_lineage(StartArns=[endpoint_context], Direction="Ascendants",
                                 Filters={"Types": ["DataSet"], "LineageTypes": ["Artifact"]},
                                 MaxDepth=10)["Vertices"]
    assert [v["Arn"] for v in data_sets] == [data]
    jobs = sm.query_lineage(StartArns=[endpoint_context], Direction="Ascendants",
                            Filters={"Types": ["TrainingJob"],
                                     "LineageTypes": ["TrialComponent"]},
                            MaxDepth=10)["Vertices"]
    assert [v["Arn"] for v in jobs] == [deployed["component"]]

    # And downstream from the data: the endpoint.
    down = sm.query_lineage(StartArns=[data], Direction="Descendants", MaxResults=50,
                            Filters={"Types": ["Endpoint"]})["Vertices"]
    assert [v["Arn"] for v in down] == [endpoint_context]


def kamado(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kamado.cli.main", *args],
                          env={**server.env(), "COLUMNS": "250"}, capture_output=True,
                          text=True, timeout=60)


def test_the_cli_draws_the_tree(lineage_server, deployed):
    done = kamado(lineage_server, "lineage", deployed["endpoint"])
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for expected in ("Context Endpoint", "Action ModelDeployment", "Artifact Model",
                     "TrialComponent TrainingJob", f"{JOB}-aws-training-job",
                     "Artifact DataSet", DATA, "Produced", "ContributedTo"):
        assert expected in out, out
    # Indented: the data is below the training job, which is below the model.
    lines = out.splitlines()
    def row(text):
        return next(i for i, line in enumerate(lines) if text in line)
    def indent(i):
        return len(lines[i]) - len(lines[i].lstrip(" │├└─"))
    job, data = row(f"{JOB}-aws-training-job"), row(DATA)
    assert indent(data) > indent(job) > indent(row("ModelDeployment"))

    shallow = kamado(lineage_server, "lineage", deployed["endpoint"], "--depth", "1")
    assert shallow.returncode == 0 and "ModelDeployment" in shallow.stdout
    assert "DataSet" not in shallow.stdout

    down = kamado(lineage_server, "lineage", f"arn:aws:sagemaker:us-east-1:000000000000:"
                  f"training-job/{JOB}", "--direction", "Descendants")
    assert down.returncode == 0 and "Context Endpoint" in down.stdout, down.stdout

    package = kamado(lineage_server, "lineage", deployed["package"], "--direction", "Both")
    assert package.returncode == 0, package.stdout + package.stderr
    for expected in ("Artifact ModelPackage", "Action Approval", "Context ModelGroup",
                     "Context Endpoint", "TrialComponent TrainingJob"):
        assert expected in package.stdout, package.stdout

    bad = kamado(lineage_server, "lineage", deployed["component"] + "-nope")
    assert bad.returncode == 1 and "ResourceNotFound" in bad.stdout
