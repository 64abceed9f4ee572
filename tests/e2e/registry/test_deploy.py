"""Train → register → approve → deploy: built-in XGBoost trained on the server, registered as
a model package version, approved, turned into a model by ModelPackageName, served by an
endpoint that answers what the booster itself predicts."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb
from sklearn.datasets import load_breast_cancer

from tests.e2e.hosting.conftest import (BUCKET, ROLE, XGBOOST, csv_rows, deploy, model_files,
                                        train)
from tests.e2e.registry.conftest import refused


@pytest.fixture(scope="module")
def trained(registry_server):
    registry_server.client("s3").create_bucket(Bucket=BUCKET)
    X, y = load_breast_cancer(return_X_y=True)
    model_data = train(registry_server, "registry-xgb", XGBOOST, X, y,
                       {"objective": "binary:logistic", "num_round": 20, "max_depth": 3})
    return model_data, X


def test_an_approved_version_is_deployed_and_serves_the_booster(registry_server, sm, trained,
                                                                 tmp_path):
    model_data, X = trained
    sm.create_model_package_group(ModelPackageGroupName="cancer-models")
    arn = sm.create_model_package(
        ModelPackageGroupName="cancer-models", ModelPackageDescription="XGBoost, 20 rounds",
        InferenceSpecification={
            "Containers": [{"Image": XGBOOST, "ModelDataUrl": model_data,
                            "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"],
            "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large"]},
        ModelMetrics={"ModelQuality": {"Statistics": {
            "ContentType": "application/json",
            "S3Uri": f"s3://{BUCKET}/registry-xgb/evaluation.json"}}})["ModelPackageArn"]

    # Not approved yet: AWS deploys Approved versions only.
    code, message, _ = refused(sm.create_model, ModelName="too-early", ExecutionRoleArn=ROLE,
                               PrimaryContainer={"ModelPackageName": arn})
    assert code == "ValidationException" and "PendingManualApproval" in message

    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved",
                            ApprovalDescription="AUC above the bar")
    sm.create_model(ModelName="cancer-from-registry", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"ModelPackageName": arn})
    described = sm.describe_model(ModelName="cancer-from-registry")
    assert described["PrimaryContainer"]["ModelPackageName"] == arn
    assert "Image" not in described["PrimaryContainer"]

    endpoint = deploy(sm, "cancer-registry", [{"model": "cancer-from-registry"}])
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    rows = X[:30]
    answer = registry_server.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="cancer-registry", ContentType="text/csv", Body=csv_rows(rows))
    served = np.array([float(v) for v in answer["Body"].read().decode().replace("\n", ",")
                       .split(",") if v.strip()])
    booster = xgb.Booster(model_file=str(model_files(registry_server, model_data, tmp_path)
                                         / "xgboost-model"))
    np.testing.assert_allclose(served, booster.predict(xgb.DMatrix(rows)), rtol=0, atol=1e-6)
    sm.delete_endpoint(EndpointName="cancer-registry")

    # A rejected version cannot be deployed any more; by <group>/<version> as well as by ARN.
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    code, message, _ = refused(sm.create_model, ModelName="too-late", ExecutionRoleArn=ROLE,
                               Containers=[{"ModelPackageName": "cancer-models/1"}])
    assert code == "ValidationException" and "Rejected" in message
    code, message, _ = refused(sm.create_model, ModelName="nowhere", ExecutionRoleArn=ROLE,
                               PrimaryContainer={"ModelPackageName": "cancer-models/9"})
    assert code == "ValidationException" and "does not exist" in message


def test_an_unversioned_package_deploys_without_approval(registry_server, sm, trained):
    model_data, _ = trained
    arn = sm.create_model_package(
        ModelPackageName="cancer-unversioned",
        InferenceSpecification={"Containers": [{"Image": XGBOOST, "ModelDataUrl": model_data}],
                                "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
    sm.create_model(ModelName="cancer-unversioned", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"ModelPackageName": arn})
    assert sm.describe_model(ModelName="cancer-unversioned")["PrimaryContainer"] == \
        {"Mode": "SingleModel", "ModelPackageName": arn}
    code, message, _ = refused(sm.create_model, ModelName="both-ways", ExecutionRoleArn=ROLE,
                               PrimaryContainer={"ModelPackageName": arn, "Image": XGBOOST})
    assert code == "ValidationException" and "not both" in message
