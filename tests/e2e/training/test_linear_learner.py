"""The built-in Linear Learner through boto3: regression quality against scikit-learn, the
binary classifier and its metrics, AWS's metric names, errors."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import Ridge, SGDRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

from kamado.algorithms.linear_learner import load_model
from tests.e2e.training.conftest import job_request, tar_members, wait_for

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"


def upload(s3, prefix: str, splits: dict) -> dict:
    channels = {}
    for ch, (X, y) in splits.items():
        buf = io.StringIO()
        np.savetxt(buf, np.column_stack([y, X]), delimiter=",", fmt="%.10g")
        s3.put_object(Bucket="data", Key=f"{prefix}/{ch}/data.csv", Body=buf.getvalue().encode())
        channels[ch] = {"ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://data/{prefix}/{ch}/"}}}
    return channels


def model_of(s3, job):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model_algo-1"
        path.write_bytes(tar_members(s3, job["ModelArtifacts"]["S3ModelArtifacts"])["model_algo-1"])
        return load_model(path)


def test_regressor_on_diabetes_reaches_scikit_learn_r2(sm, s3):
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.25, random_state=0)
    channels = upload(s3, "diabetes-ll", {"train": (Xtr, ytr), "validation": (Xva, yva)})
    sm.create_training_job(**job_request("ll-diabetes", image=IMAGE, channels=channels, hp={
        "predictor_type": "regressor", "feature_dim": "10"}))
    job = wait_for(sm, "ll-diabetes")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    got = r2_score(yva, [p["score"] for p in model_of(s3, job).predict(Xva)])
    ridge = r2_score(yva, Ridge(alpha=1.0).fit(Xtr, ytr).predict(Xva))
    sgd = r2_score(yva, SGDRegressor(random_state=0, max_iter=2000).fit(Xtr, ytr).predict(Xva))
    assert got >= max(ridge, sgd) - 0.02
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    mse = float(np.mean((np.array([p["score"] for p in model_of(s3, job).predict(Xva)]) - yva) ** 2))
    assert final["validation:mse"] == pytest.approx(mse, rel=1e-4)
    assert final["validation:rmse"] == pytest.approx(np.sqrt(mse), rel=1e-4)
    assert final["train:progress"] == 100
    assert {"train:objective_loss", "validation:objective_loss", "train:throughput",
            "validation:objective_loss:final", "validation:absolute_loss"} <= set(final)


def test_binary_classifier_with_target_precision(sm, s3):
    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.3, random_state=1)
    channels = upload(s3, "cancer-ll", {"train": (Xtr, ytr), "validation": (Xva, yva),
                                        "test": (Xva, yva)})
    sm.create_training_job(**job_request("ll-cancer", image=IMAGE, channels=channels, hp={
        "predictor_type": "binary_classifier", "epochs": "20",
        "binary_classifier_model_selection_criteria": "recall_at_target_precision",
        "target_precision": "0.98"}))
    job = wait_for(sm, "ll-cancer")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    preds = model_of(s3, job).predict(Xva)
    labels = np.array([p["predicted_label"] for p in preds])
    precision = ((labels == 1) & (yva == 1)).sum() / max(1, (labels == 1).sum())
    assert precision >= 0.98
    assert all(0.0 <= p["score"] <= 1.0 for p in preds)
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert final["test:precision"] == pytest.approx(precision, abs=1e-6)
    assert final["test:binary_classification_accuracy"] > 0.9
    assert final["test:roc_auc_score"] > 0.97


@pytest.mark.parametrize("hp,reason", [
    ({"feature_dim": "10"}, "ClientError: Hyperparameter predictor_type is required"),
    ({"predictor_type": "multiclass_classifier"}, "ClientError: Hyperparameter num_classes is required"),
    ({"predictor_type": "regressor", "loss": "logistic"}, "ClientError: Hyperparameter loss: logistic cannot be used"),
    ({"predictor_type": "regressor", "mini_batch_size": "0"}, "ClientError: Hyperparameter mini_batch_size: value 0 is not in (0, inf]"),
])
def test_bad_hyperparameters(sm, s3, hp, reason):
    X, y = load_diabetes(return_X_y=True)
    channels = upload(s3, "ll-bad", {"train": (X[:40], y[:40])})
    name = f"ll-bad-{abs(hash(reason)) % 10**6}"
    sm.create_training_job(**job_request(name, image=IMAGE, channels=channels, hp=hp))
    job = wait_for(sm, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(reason)
