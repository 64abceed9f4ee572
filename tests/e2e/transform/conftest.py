"""A server with an XGBoost model trained on it (the hosting tests' fixtures), and helpers to
run transform jobs and read what they wrote."""

from __future__ import annotations

import pytest
import xgboost as xgb

from tests.conftest import wait_status
from tests.e2e.hosting.conftest import (BUCKET, XGBOOST, cancer_xgboost, create_model,
                                        diabetes_linear, host, model_files)

# the hosting tests' session fixtures, used here too
__all__ = ["BUCKET", "XGBOOST", "cancer_xgboost", "create_model", "diabetes_linear", "host"]

FINAL = ("Completed", "Failed", "Stopped")
MODEL = "cancer-transform"


@pytest.fixture(scope="session")
def sm(host):
    return host.client("sagemaker")


@pytest.fixture(scope="session")
def s3(host):
    return host.client("s3")


@pytest.fixture(scope="session")
def model(sm, cancer_xgboost) -> str:
    create_model(sm, MODEL, XGBOOST, cancer_xgboost.model_data)
    return MODEL


@pytest.fixture(scope="session")
def booster(host, cancer_xgboost, tmp_path_factory) -> xgb.Booster:
    where = model_files(host, cancer_xgboost.model_data, tmp_path_factory.mktemp("model"))
    return xgb.Booster(model_file=str(where / "xgboost-model"))


def wait_job(sm, name: str, statuses=FINAL, timeout: float = 60) -> dict:
    return wait_status(lambda: sm.describe_transform_job(TransformJobName=name),
                       lambda j: j["TransformJobStatus"], statuses, name, timeout)


def run_job(sm, name: str, source: str, *, model: str = MODEL, data_type: str = "S3Prefix",
            content_type: str | None = "text/csv", split: str = "Line",
            output: dict | None = None, wait: bool = True, **request) -> dict:
    tin = {"DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": source}},
           "SplitType": split}
    if content_type:
        tin["ContentType"] = content_type
    tin.update(request.pop("TransformInput", {}))
    sm.create_transform_job(
        TransformJobName=name, ModelName=model, TransformInput=tin,
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/transform-out/{name}", **(output or {})},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1}, **request)
    return wait_job(sm, name) if wait else sm.describe_transform_job(TransformJobName=name)


def read(s3, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def keys_under(s3, prefix: str, bucket: str = BUCKET) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
                  .get("Contents", []))
