"""A server for the model registry and model card tests, with a bucket and a model tarball in
it, and helpers to write CreateModelPackage requests and model card content."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import KamadoServer, wait_status
from tests.e2e.hosting.conftest import XGBOOST, tarball

BUCKET = "registry"
MODEL_DATA = f"s3://{BUCKET}/models/model.tar.gz"


@pytest.fixture(scope="module")
def registry_server(tmp_path_factory):
    server = KamadoServer(tmp_path_factory.mktemp("registry") / "home",
                          extra_env={"KAMADO_STOP_GRACE_SECONDS": "2"}).start()
    s3 = server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="models/model.tar.gz",
                  Body=tarball({"xgboost-model": b"not read until deployed"}))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sm(registry_server):
    return registry_server.client("sagemaker")


@pytest.fixture(scope="module")
def s3(registry_server):
    return registry_server.client("s3")


def inference(model_data: str = MODEL_DATA, image: str = XGBOOST, **extra) -> dict:
    """An InferenceSpecification of one built-in XGBoost container."""
    return {"Containers": [{"Image": image, "ModelDataUrl": model_data}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"],
            **extra}


def register(sm, group: str, **extra) -> str:
    """A new version in ``group``; its ARN."""
    return sm.create_model_package(ModelPackageGroupName=group,
                                   InferenceSpecification=extra.pop("InferenceSpecification",
                                                                    inference()),
                                   **extra)["ModelPackageArn"]


def refused(call, **kwargs) -> tuple[str, str, int]:
    """The error code, message and HTTP status a call is refused with."""
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    response = err.value.response
    return (response["Error"]["Code"], response["Error"]["Message"],
            response["ResponseMetadata"]["HTTPStatusCode"])


def card_content(**overrides) -> dict:
    """A model card that uses every section of the schema."""
    card = {
        "model_overview": {
            "model_name": "churn-xgboost", "model_description": "Predicts churn.",
            "problem_type": "Binary classification", "algorithm_type": "XGBoost",
            "model_creator": "ml-platform", "model_owner": "growth", "model_version": 1,
            "model_artifact": [MODEL_DATA],
            "inference_environment": {"container_image": [XGBOOST]}},
        "intended_uses": {"purpose_of_model": "Rank customers by churn risk.",
                          "intended_uses": "Weekly retention campaigns.",
                          "risk_rating": "Low",
                          "explanations_for_risk_rating": "Advisory output only."},
        "business_details": {"business_problem": "Customer churn",
                             "line_of_business": "Subscriptions"},
        "training_details": {
            "objective_function": {"function": {"function": "Maximize", "facet": "AUC"},
                                   "notes": "validation:auc"},
            "training_observations": "Converged after 20 rounds.",
            "training_job_details": {
                "training_arn": "arn:aws:sagemaker:us-east-1:000000000000:training-job/churn",
                "training_datasets": [f"s3://{BUCKET}/train/"],
                "training_metrics": [{"name": "validation:auc", "value": 0.973412},
                                     {"name": "train:auc", "value": 0.991}],
                "hyper_parameters": [{"name": "max_depth", "value": "3"}]}},
        "evaluation_details": [{
            "name": "holdout-2024", "evaluation_observation": "Stable across segments.",
            "datasets": [f"s3://{BUCKET}/holdout/"], "metadata": {"rows": "171"},
            "metric_groups": [{"name": "binary classification", "metric_data": [
                {"name": "accuracy", "type": "number", "value": 0.9591},
                {"name": "passed review", "type": "boolean", "value": True},
                {"name": "roc", "type": "linear_graph", "value": [[0, 0], [0.1, 0.8], [1, 1]],
                 "x_axis_name": "false positive rate", "y_axis_name": "true positive rate"},
                {"name": "confusion", "type": "matrix", "value": [[60, 4], [3, 104]],
                 "x_axis_name": ["0", "1"], "y_axis_name": ["0", "1"]}]}]}],
        "additional_information": {"ethical_considerations": "No protected attributes used.",
                                   "caveats_and_recommendations": "Retrain monthly.",
                                   "custom_details": {"review board": "approved 2024-05"}},
    }
    card.update(overrides)
    return card


def as_content(card: dict) -> str:
    return json.dumps(card)


def wait_export(sm, arn: str, timeout: float = 60) -> dict:
    return wait_status(lambda: sm.describe_model_card_export_job(ModelCardExportJobArn=arn),
                       lambda j: j["Status"], ("Completed", "Failed"), arn, timeout)
