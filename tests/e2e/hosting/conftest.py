"""A server with real models trained on it, and helpers to deploy and wait for endpoints."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

from tests.conftest import KamadoServer, wait_status
from tests.e2e.training.conftest import job_request, wait_for

XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
LINEAR = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
ROLE = "arn:aws:iam::000000000000:role/kamado-test"
BUCKET = "hosting"


@dataclass
class Trained:
    model_data: str
    X: np.ndarray
    y: np.ndarray


def csv_rows(X: np.ndarray, y: np.ndarray | None = None) -> bytes:
    data = X if y is None else np.column_stack([y, X])
    buf = io.StringIO()
    np.savetxt(buf, data, delimiter=",", fmt="%.10g")
    return buf.getvalue().encode()


def train(server: KamadoServer, name: str, image: str, X, y, hp: dict) -> str:
    s3, sm = server.client("s3"), server.client("sagemaker")
    s3.put_object(Bucket=BUCKET, Key=f"{name}/train/data.csv", Body=csv_rows(X, y))
    sm.create_training_job(**job_request(
        name, image=image, hp=hp, channels={"train": {"ContentType": "text/csv", "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix",
                             "S3Uri": f"s3://{BUCKET}/{name}/train/"}}}},
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/output"}))
    job = wait_for(sm, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    return job["ModelArtifacts"]["S3ModelArtifacts"]


@pytest.fixture(scope="session")
def host(tmp_path_factory):
    server = KamadoServer(tmp_path_factory.mktemp("hosting") / "home",
                          extra_env={"KAMADO_STOP_GRACE_SECONDS": "2"}).start()
    server.client("s3").create_bucket(Bucket=BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def cancer_xgboost(host) -> Trained:
    X, y = load_breast_cancer(return_X_y=True)
    uri = train(host, "cancer-xgb", XGBOOST, X, y,
                {"objective": "binary:logistic", "num_round": 20, "max_depth": 3})
    return Trained(uri, X, y)


@pytest.fixture(scope="session")
def diabetes_linear(host) -> Trained:
    X, y = load_diabetes(return_X_y=True)
    uri = train(host, "diabetes-ll", LINEAR, X, y,
                {"predictor_type": "regressor", "feature_dim": X.shape[1], "epochs": 5,
                 "mini_batch_size": 50})
    return Trained(uri, X, y)


def tarball(members: dict[str, bytes]) -> bytes:
    """A model.tar.gz with these members (names as given, even ones a server must refuse)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def booster_model(booster) -> bytes:
    """The model.tar.gz the built-in XGBoost writes, for a booster trained in this process."""
    return tarball({"xgboost-model": bytes(booster.save_raw("ubj"))})


def script_model(code: str) -> bytes:
    """A model.tar.gz holding only ``code/inference.py``: a model that is all handlers."""
    return tarball({"code/inference.py": code.encode()})


def model_files(server: KamadoServer, uri: str, into: Path) -> Path:
    bucket, key = uri[len("s3://"):].split("/", 1)
    body = server.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        tar.extractall(into, filter="data")
    return into


def deploy(sm, name: str, variants: list[dict], **config) -> dict:
    """Models → one endpoint configuration → an endpoint; returns it once it is InService
    or Failed. Each variant: {"model": model name, plus ProductionVariant members}."""
    production = [{"VariantName": v.get("VariantName", "AllTraffic"), "ModelName": v["model"],
                   "InstanceType": "ml.m5.large", "InitialInstanceCount": 1,
                   **{k: x for k, x in v.items() if k not in ("model",)}} for v in variants]
    sm.create_endpoint_config(EndpointConfigName=f"{name}-config",
                              ProductionVariants=production, **config)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    return wait_endpoint(sm, name)


def wait_endpoint(sm, name: str, statuses=("InService", "Failed"), timeout: float = 120) -> dict:
    return wait_status(lambda: sm.describe_endpoint(EndpointName=name),
                       lambda e: e["EndpointStatus"], statuses, name, timeout)


def create_model(sm, name: str, image: str, model_data: str | None, **container) -> str:
    definition = {"Image": image, **container}
    if model_data:
        definition["ModelDataUrl"] = model_data
    return sm.create_model(ModelName=name, PrimaryContainer=definition,
                           ExecutionRoleArn=ROLE)["ModelArn"]
