"""The JumpStart LightGBM built-in through boto3, under kamado's short image name and the way
JumpStart writes the job: trained on scikit-learn's datasets, its metric and served answers
checked against ``lightgbm`` called directly with AWS's defaults on the same CSV; the
20 % hold-out, a batch transform, and AWS's kind of errors."""

from __future__ import annotations

import io
import json

import lightgbm as lgb
import numpy as np
import pytest
from botocore.exceptions import ClientError
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.model_selection import train_test_split

from kamado.algorithms.tabular.data import Split, hold_out
from tests.e2e.algorithms.conftest import (csv_body, deploy, final_metrics, invoke, transform,
                                           train, upload)

IMAGE = "lightgbm"
JUMPSTART_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.9.0-cpu-py38"
# AWS's documented defaults (builtin-algorithms.md §3.19), as lightgbm.train takes them
AWS_DEFAULTS = dict(learning_rate=0.1, num_leaves=64, feature_fraction=0.9, bagging_fraction=0.9,
                    bagging_freq=1, max_depth=6, min_data_in_leaf=3, max_delta_step=0.0,
                    lambda_l1=0.0, lambda_l2=0.0, boosting="gbdt", min_gain_to_split=0.0,
                    tree_learner="serial", feature_fraction_bynode=1.0, max_bin=255,
                    tweedie_variance_power=1.5, num_threads=0, verbosity=-1)


def read(body: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The CSV as kamado reads it: float32 features, label first."""
    data = np.loadtxt(io.BytesIO(body), delimiter=",", dtype=np.float32, ndmin=2)
    return data[:, 1:], data[:, 0]


def direct(train_body: bytes, validation_body: bytes, objective: str, metric: str,
           rounds: int, **extra) -> lgb.Booster:
    """lightgbm.train on the same files with AWS's defaults and early stopping (10 rounds)."""
    X, y = read(train_body)
    Xv, yv = read(validation_body)
    return direct_arrays(X, y, Xv, yv, objective, metric, rounds, **extra)


def direct_arrays(X, y, Xv, yv, objective, metric, rounds, **extra) -> lgb.Booster:
    params = {**AWS_DEFAULTS, "objective": objective, "metric": metric, **extra}
    train_set = lgb.Dataset(X, y)
    return lgb.train(params, train_set, rounds,
                     valid_sets=[lgb.Dataset(Xv, yv, reference=train_set)],
                     valid_names=["validation"],
                     callbacks=[lgb.early_stopping(10, verbose=False)])


def predicted(booster, X):
    return booster.predict(X, num_iteration=booster.best_iteration)


def batch_answers(out: bytes, key: str) -> list:
    """The JSON documents of an AssembleWith=Line batch transform, their ``key`` joined."""
    return [v for line in out.decode().splitlines() if line.strip()
            for v in json.loads(line)[key]]


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    Xtr, Xva, ytr, yva = train_test_split(Xtr, ytr, test_size=0.25, random_state=0)
    return dict(train=csv_body(Xtr, ytr), validation=csv_body(Xva, yva), test=csv_body(Xte))


@pytest.fixture(scope="module")
def binary(sm, s3, cancer):
    channels = upload(s3, "lgb-cancer", {"train": cancer["train"],
                                         "validation": cancer["validation"]}, "text/csv")
    job = train(sm, "lgb-cancer", IMAGE, channels, {"num_boost_round": "60"})
    booster = direct(cancer["train"], cancer["validation"], "binary", "binary_logloss", 60)
    return job, deploy(sm, "lgb-cancer", IMAGE, job), booster


def test_binary_metric_and_probabilities_equal_lightgbm(binary, cancer, rt):
    job, endpoint, booster = binary
    final = final_metrics(job)
    assert final["lightgbm-classification:binary-log-loss"] == pytest.approx(
        booster.best_score["validation"]["binary_logloss"], rel=1e-5)
    X = np.loadtxt(io.BytesIO(cancer["test"]), delimiter=",", dtype=np.float32)
    answer = invoke(rt, endpoint, cancer["test"], "text/csv")
    assert np.allclose(answer["probabilities"], predicted(booster, X), rtol=0, atol=1e-12)
    verbose = invoke(rt, endpoint, cancer["test"], "text/csv", "application/json;verbose")
    assert verbose["labels"] == [0, 1]
    assert verbose["predicted_label"] == (predicted(booster, X) > 0.5).astype(int).tolist()


def test_batch_transform_over_the_test_set(binary, cancer, sm, s3):
    job, endpoint, booster = binary
    out = transform(sm, s3, "lgb-cancer-batch", endpoint, cancer["test"], "text/csv", "Line")
    X = np.loadtxt(io.BytesIO(cancer["test"]), delimiter=",", dtype=np.float32)
    assert np.allclose(batch_answers(out, "probabilities"), predicted(booster, X), atol=1e-12)


def test_bad_requests_are_model_errors(binary, rt):
    _, endpoint, _ = binary
    with pytest.raises(ClientError) as err:  # wrong number of features
        invoke(rt, endpoint, b"1,2,3\n", "text/csv")
    assert err.value.response["Error"]["Code"] == "ModelError"
    assert "30 features" in str(err.value)
    with pytest.raises(ClientError) as err:  # JSON is not a format of this algorithm
        invoke(rt, endpoint, b'{"instances": [[1, 2]]}', "application/json")
    assert "415" in str(err.value) or "not supported" in str(err.value)


def test_multiclass_from_train_and_validation_folders(sm, s3, rt):
    """One ``training`` prefix holding train/ and validation/ folders, as AWS allows."""
    X, y = load_iris(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.3, random_state=1)
    bodies = {"training/train": csv_body(Xtr, ytr), "training/validation": csv_body(Xva, yva)}
    upload(s3, "lgb-iris", bodies, "text/csv")
    channels = {"training": {"ContentType": "text/csv", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": "s3://algorithms/lgb-iris/training/"}}}}
    job = train(sm, "lgb-iris", IMAGE, channels, {"num_boost_round": "40",
                                                   "num_leaves": "8"})
    booster = direct(bodies["training/train"], bodies["training/validation"], "multiclass",
                     "multi_logloss", 40, num_class=3, num_leaves=8)
    assert final_metrics(job)["lightgbm-classification:multi-log-loss"] == pytest.approx(
        booster.best_score["validation"]["multi_logloss"], rel=1e-5)
    endpoint = deploy(sm, "lgb-iris", IMAGE, job)
    Xq = Xva.astype(np.float32)
    answer = invoke(rt, endpoint, csv_body(Xq), "text/csv", "application/json;verbose")
    expected = predicted(booster, read(csv_body(Xq, yva))[0])
    assert np.allclose(answer["probabilities"], expected, atol=1e-12)
    assert answer["labels"] == [0, 1, 2]
    assert answer["predicted_label"] == np.argmax(expected, axis=1).tolist()


def test_regression_holds_out_20_percent_without_validation(sm, s3, rt):
    X, y = load_diabetes(return_X_y=True)
    body = csv_body(X, y)
    channels = upload(s3, "lgb-diabetes", {"train": body}, "text/csv")
    job = train(sm, "lgb-diabetes", IMAGE, channels, {"num_boost_round": "50",
                                                       "learning_rate": "0.05"})
    # kamado's documented hold-out: 20 % of the rows, fixed seed
    Xs, ys = read(body)
    tr, va = hold_out(Split(Xs, ys))
    booster = direct_arrays(tr.X, tr.y, va.X, va.y, "regression", "rmse", 50,
                            learning_rate=0.05)
    assert final_metrics(job)["lightgbm-regression:rmse"] == pytest.approx(
        booster.best_score["validation"]["rmse"], rel=1e-5)
    endpoint = deploy(sm, "lgb-diabetes", IMAGE, job)
    answer = invoke(rt, endpoint, csv_body(X[:20]), "text/csv")
    assert np.allclose(answer["prediction"], predicted(booster, Xs[:20]), atol=1e-9)


def test_jumpstart_job_and_endpoint_run_kamados_lightgbm(sm, s3, rt, cancer):
    """A job and a model written as the SageMaker SDK's JumpStartEstimator writes them: the
    PyTorch DLCs, AWS's script tarballs and a pre-trained model channel kamado cannot reach."""
    channels = upload(s3, "lgb-js", {"training": cancer["train"],
                                     "validation": cancer["validation"]}, None)
    channels["model"] = {"DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": "s3://jumpstart-cache-prod-us-east-1/lightgbm-"
        "training/train-lightgbm-classification-model.tar.gz"}}}
    source = ("s3://jumpstart-cache-prod-us-east-1/source-directory-tarballs/lightgbm/"
              "transfer_learning/classification/v2.1.3/sourcedir.tar.gz")
    hp = {"num_boost_round": "60", "sagemaker_program": json.dumps("transfer_learning.py"),
          "sagemaker_submit_directory": json.dumps(source),
          "sagemaker_container_log_level": "20"}
    from tests.e2e.training.conftest import FINAL, job_request, wait_for

    sm.create_training_job(**job_request(
        "lgb-jumpstart", image=JUMPSTART_IMAGE, hp=hp, channels=channels,
        OutputDataConfig={"S3OutputPath": "s3://algorithms/output"},
        AlgorithmSpecification={"TrainingImage": JUMPSTART_IMAGE, "TrainingInputMode": "File",
                                "MetricDefinitions": [{
                                    "Name": "lightgbm-classification:binary-log-loss",
                                    "Regex": "binary_logloss: ([0-9\\.]+)"}]}))
    job = wait_for(sm, "lgb-jumpstart", FINAL, timeout=300)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    booster = direct(cancer["train"], cancer["validation"], "binary", "binary_logloss", 60)
    assert final_metrics(job)["lightgbm-classification:binary-log-loss"] == pytest.approx(
        booster.best_score["validation"]["binary_logloss"], rel=1e-5)
    # deployed as JumpStart deploys it: the PyTorch inference DLC and AWS's inference script
    inference_source = ("s3://jumpstart-cache-prod-us-east-1/source-directory-tarballs/"
                        "lightgbm/inference/classification/v1.1.2/sourcedir.tar.gz")
    endpoint = deploy(sm, "lgb-jumpstart", JUMPSTART_IMAGE.replace("training", "inference"),
                      job, Environment={"SAGEMAKER_PROGRAM": "inference.py",
                                        "SAGEMAKER_SUBMIT_DIRECTORY": inference_source})
    answer = invoke(rt, endpoint, cancer["test"], "text/csv")
    X = np.loadtxt(io.BytesIO(cancer["test"]), delimiter=",", dtype=np.float32)
    assert np.allclose(answer["probabilities"], predicted(booster, X), atol=1e-12)


@pytest.mark.parametrize("case, body, hp, words", [
    ("text", b"1,2,3\n0,4,oops\n", {}, ["data", "line 2", "not numeric"]),
    ("nolabel", b"1\n0\n1\n", {}, ["data", "column"]),
    ("boosting", b"1,2,3\n0,4,5\n", {"boosting": "xgboost"}, ["boosting", "gbdt, rf, dart"]),
    ("rate", b"1,2,3\n0,4,5\n", {"learning_rate": "1.5"}, ["learning_rate", "(0, 1)"]),
])
def test_bad_training_input_fails_with_a_client_error(sm, s3, case, body, hp, words):
    channels = upload(s3, f"lgb-bad-{case}", {"train": body}, "text/csv")
    job = train(sm, f"lgb-bad-{case}", IMAGE, channels, hp, expect="Failed")
    assert job["FailureReason"].startswith("ClientError: ")
    for word in words:
        assert word in job["FailureReason"]
