"""The JumpStart CatBoost built-in through boto3, under kamado's short image name and the way
JumpStart writes the job: trained on scikit-learn's datasets, its metric and served answers
checked against ``catboost`` called directly with AWS's defaults on the same CSV; the 20 %
hold-out, a batch transform, and AWS's kind of errors. Iterations are kept small."""

from __future__ import annotations

import io
import json

import catboost
import numpy as np
import pytest
from botocore.exceptions import ClientError
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.model_selection import train_test_split

from kamado.algorithms.tabular.data import Split, hold_out
from tests.e2e.algorithms.conftest import (csv_body, deploy, final_metrics, invoke, transform,
                                           train, upload)
from tests.e2e.training.conftest import FINAL, job_request, wait_for

IMAGE = "catboost"
JUMPSTART_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.9.0-cpu-py38"
ITERATIONS = 40
# AWS's documented defaults (builtin-algorithms.md §3.20) in CatBoost's keywords
AWS_DEFAULTS = dict(learning_rate=0.009, depth=6, l2_leaf_reg=3.0, random_strength=1.0, rsm=1.0,
                    sampling_frequency="PerTreeLevel", bagging_temperature=1.0,
                    grow_policy="SymmetricTree", random_seed=1, thread_count=-1,
                    early_stopping_rounds=5, verbose=0, allow_writing_files=False)


def read(body: bytes) -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(io.BytesIO(body), delimiter=",", dtype=np.float32, ndmin=2)
    return data[:, 1:], data[:, 0]


def features(body: bytes) -> np.ndarray:
    return np.loadtxt(io.BytesIO(body), delimiter=",", dtype=np.float32, ndmin=2)


def direct(X, y, Xv, yv, loss: str, **extra):
    """CatBoost on the same rows with AWS's defaults, the validation rows as eval_set."""
    cls = catboost.CatBoostRegressor if loss == "RMSE" else catboost.CatBoostClassifier
    model = cls(**{**AWS_DEFAULTS, "iterations": ITERATIONS, "loss_function": loss,
                   "eval_metric": loss, **extra})
    model.fit(X, y, eval_set=(Xv, yv), use_best_model=True)
    return model


def best(model, metric: str) -> float:
    return model.get_best_score()["validation"][metric]


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    Xtr, Xva, ytr, yva = train_test_split(Xtr, ytr, test_size=0.25, random_state=0)
    bodies = dict(train=csv_body(Xtr, ytr), validation=csv_body(Xva, yva), test=csv_body(Xte))
    reference = direct(*read(bodies["train"]), *read(bodies["validation"]), "Logloss",
                       learning_rate=0.1, scale_pos_weight=1.0)
    return dict(bodies, reference=reference)


@pytest.fixture(scope="module")
def binary(sm, s3, cancer):
    channels = upload(s3, "cb-cancer", {"training": cancer["train"],
                                        "validation": cancer["validation"]}, "text/csv")
    job = train(sm, "cb-cancer", IMAGE, channels, {"iterations": str(ITERATIONS),
                                                    "learning_rate": "0.1"})
    return job, deploy(sm, "cb-cancer", IMAGE, job)


def test_binary_metric_and_probabilities_equal_catboost(binary, cancer, rt):
    job, endpoint = binary
    reference = cancer["reference"]
    assert final_metrics(job)["catboost:best-test"] == pytest.approx(
        best(reference, "Logloss"), rel=1e-6)
    expected = reference.predict_proba(features(cancer["test"]))[:, 1]
    answer = invoke(rt, endpoint, cancer["test"], "text/csv")
    assert np.allclose(answer["probabilities"], expected, atol=1e-12)
    verbose = invoke(rt, endpoint, cancer["test"], "text/csv", "application/json;verbose")
    assert verbose["labels"] == [0, 1]
    assert verbose["predicted_label"] == (expected > 0.5).astype(int).tolist()


def test_batch_transform_over_the_test_set(binary, cancer, sm, s3):
    _, endpoint = binary
    out = transform(sm, s3, "cb-cancer-batch", endpoint, cancer["test"], "text/csv", "Line")
    got = [p for line in out.decode().splitlines() if line.strip()
           for p in json.loads(line)["probabilities"]]
    expected = cancer["reference"].predict_proba(features(cancer["test"]))[:, 1]
    assert np.allclose(got, expected, atol=1e-12)


def test_bad_requests_are_model_errors(binary, rt):
    _, endpoint = binary
    with pytest.raises(ClientError) as err:
        invoke(rt, endpoint, b"1,2,3\n", "text/csv")
    assert err.value.response["Error"]["Code"] == "ModelError"
    assert "30 features" in str(err.value)


def test_multiclass_with_a_named_metric(sm, s3, rt):
    X, y = load_iris(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.3, random_state=1)
    bodies = {"train": csv_body(Xtr, ytr), "validation": csv_body(Xva, yva)}
    channels = upload(s3, "cb-iris", bodies, "text/csv")
    job = train(sm, "cb-iris", IMAGE, channels, {
        "iterations": str(ITERATIONS), "learning_rate": "0.1", "eval_metric": "MultiClass",
        "depth": "4"})
    reference = direct(*read(bodies["train"]), *read(bodies["validation"]), "MultiClass",
                       learning_rate=0.1, depth=4)
    assert final_metrics(job)["catboost-classification:multiclass"] == pytest.approx(
        best(reference, "MultiClass"), rel=1e-6)
    endpoint = deploy(sm, "cb-iris", IMAGE, job)
    query = csv_body(Xva)
    answer = invoke(rt, endpoint, query, "text/csv", "application/json;verbose")
    expected = reference.predict_proba(features(query))
    assert np.allclose(answer["probabilities"], expected, atol=1e-12)
    assert answer["labels"] == [0, 1, 2]
    assert answer["predicted_label"] == np.argmax(expected, axis=1).tolist()


def test_regression_holds_out_20_percent_without_validation(sm, s3, rt):
    X, y = load_diabetes(return_X_y=True)
    body = csv_body(X, y)
    channels = upload(s3, "cb-diabetes", {"training": body}, "text/csv")
    job = train(sm, "cb-diabetes", IMAGE, channels, {"iterations": str(ITERATIONS),
                                                      "learning_rate": "0.1",
                                                      "eval_metric": "RMSE"})
    tr, va = hold_out(Split(*read(body)))
    reference = direct(tr.X, tr.y, va.X, va.y, "RMSE", learning_rate=0.1)
    assert final_metrics(job)["catboost-regression:rmse"] == pytest.approx(
        best(reference, "RMSE"), rel=1e-6)
    endpoint = deploy(sm, "cb-diabetes", IMAGE, job)
    query = csv_body(X[:20])
    answer = invoke(rt, endpoint, query, "text/csv")
    assert np.allclose(answer["prediction"], reference.predict(features(query)), atol=1e-9)


def test_jumpstart_regression_job_runs_kamados_catboost(sm, s3):
    """A job as the SDK's JumpStartEstimator writes it for catboost-regression-model; its
    labels are whole numbers, but the regression script's task wins."""
    rng = np.random.RandomState(3)
    X = rng.rand(300, 4)
    y = np.round(10 * X[:, 0] + 3 * X[:, 1])  # integers with few values
    channels = upload(s3, "cb-js", {"training": csv_body(X, y)}, None)
    channels["model"] = {"DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": "s3://jumpstart-cache-prod-us-east-1/catboost-"
        "training/train-catboost-regression-model.tar.gz"}}}
    source = ("s3://jumpstart-cache-prod-us-east-1/source-directory-tarballs/catboost/"
              "transfer_learning/regression/v1.1.1/sourcedir.tar.gz")
    sm.create_training_job(**job_request(
        "cb-jumpstart", image=JUMPSTART_IMAGE, channels=channels,
        hp={"iterations": "20", "sagemaker_program": json.dumps("transfer_learning.py"),
            "sagemaker_submit_directory": json.dumps(source)},
        OutputDataConfig={"S3OutputPath": "s3://algorithms/output"},
        AlgorithmSpecification={"TrainingImage": JUMPSTART_IMAGE, "TrainingInputMode": "File",
                                "MetricDefinitions": [{"Name": "catboost-regression:rmse",
                                                       "Regex": "bestTest = ([0-9\\.]+)"}]}))
    job = wait_for(sm, "cb-jumpstart", FINAL, timeout=300)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert "catboost-regression:rmse" in final_metrics(job)
    from tests.e2e.algorithms.conftest import model_members

    info = json.loads(model_members(s3, job)["kamado-tabular.json"])
    assert info["task"] == "regression" and info["algorithm"] == "catboost"


@pytest.mark.parametrize("case, body, hp, words", [
    ("text", b"1,2,3\n0,4,oops\n", {}, ["data", "line 2", "not numeric"]),
    ("nolabel", b"1\n0\n1\n", {}, ["data", "column"]),
    ("boosting", b"1,2,3\n0,4,5\n", {"boosting_type": "Fast"}, ["boosting_type", "Ordered"]),
    ("rate", b"1,2,3\n0,4,5\n", {"learning_rate": "1.5"}, ["learning_rate", "(0, 1)"]),
])
def test_bad_training_input_fails_with_a_client_error(sm, s3, case, body, hp, words):
    channels = upload(s3, f"cb-bad-{case}", {"training": body}, "text/csv")
    job = train(sm, f"cb-bad-{case}", IMAGE, channels, hp, expect="Failed")
    assert job["FailureReason"].startswith("ClientError: ")
    for word in words:
        assert word in job["FailureReason"]
