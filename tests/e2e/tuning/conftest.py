"""A server with breast-cancer CSVs in its S3, the probe image registered, and helpers to
write CreateHyperParameterTuningJob requests and wait for them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from tests.conftest import wait_status
from tests.e2e.training.conftest import ROLE, start_server

XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
FINAL = ("Completed", "Failed", "Stopped")


def csv_bytes(X, y) -> bytes:
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([y, X]), delimiter=",", fmt="%.8g")
    return buf.getvalue().encode()


@pytest.fixture(scope="module")
def tuning_server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("tuning"), KAMADO_MAX_CONCURRENT_JOBS="4")
    s3 = srv.client("s3")
    s3.create_bucket(Bucket="data")
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.3, random_state=0)
    s3.put_object(Bucket="data", Key="cancer/train/train.csv", Body=csv_bytes(X_train, y_train))
    s3.put_object(Bucket="data", Key="cancer/validation/v.csv", Body=csv_bytes(X_valid, y_valid))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def sm(tuning_server):
    return tuning_server.client("sagemaker")


def xgboost_definition(static: dict | None = None, **extra) -> dict:
    """A TrainingJobDefinition for built-in XGBoost on the breast-cancer CSVs."""
    definition = {
        "StaticHyperParameters": {"objective": "binary:logistic", "num_round": "10",
                                  "eval_metric": "auc", **(static or {})},
        "AlgorithmSpecification": {"TrainingImage": XGBOOST, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "InputDataConfig": [
            {"ChannelName": ch, "ContentType": "text/csv", "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": f"s3://data/cancer/{ch}/"}}}
            for ch in ("train", "validation")],
        "OutputDataConfig": {"S3OutputPath": "s3://data/tuning-output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }
    definition.update(extra)
    return definition


def probe_definition(static: dict | None = None, metric: str = "validation:loss") -> dict:
    """A TrainingJobDefinition for the probe image, whose behaviour its hyperparameters set."""
    return {
        "StaticHyperParameters": dict(static or {}),
        "AlgorithmSpecification": {
            "TrainingImage": "probe", "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "validation:loss",
                                   "Regex": r"validation-loss:([0-9.]+)"}]},
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": "s3://data/tuning-output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 120},
    }


def tuning_config(strategy: str = "Bayesian", *, ranges: dict | None = None, jobs: int | None = 4,
                  parallel: int = 2, metric: str = "validation:auc", kind: str = "Maximize",
                  **extra) -> dict:
    limits = {"MaxParallelTrainingJobs": parallel}
    if jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = jobs
    config = {"Strategy": strategy, "ResourceLimits": limits,
              "HyperParameterTuningJobObjective": {"Type": kind, "MetricName": metric},
              "ParameterRanges": ranges if ranges is not None else {
                  "ContinuousParameterRanges": [
                      {"Name": "eta", "MinValue": "0.05", "MaxValue": "0.5"}],
                  "IntegerParameterRanges": [
                      {"Name": "max_depth", "MinValue": "2", "MaxValue": "6"}]}}
    config.update(extra)
    return config


def wait_tuning(sm, name: str, statuses=FINAL, timeout: float = 240.0) -> dict:
    return wait_status(lambda: sm.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name), lambda j: j["HyperParameterTuningJobStatus"],
        statuses, name, timeout)


def training_jobs(sm, name: str, **kwargs) -> list[dict]:
    found, token = [], None
    while True:
        page = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name, MaxResults=100,
            **({"NextToken": token} if token else {}), **kwargs)
        found += page["TrainingJobSummaries"]
        token = page.get("NextToken")
        if not token:
            return found
