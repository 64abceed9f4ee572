"""The built-in XGBoost image through boto3: the same model quality as xgboost.train, AWS's
data formats, hyperparameter errors and metric names."""

from __future__ import annotations

import io

import numpy as np
import pytest
import xgboost as xgb
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from kamado.algorithms import recordio
from tests.e2e.training.conftest import job_request, tar_members, wait_for

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
HP = {"objective": "binary:logistic", "num_round": "20", "max_depth": "4", "eta": "0.3",
      "eval_metric": "auc", "seed": "7"}


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return train_test_split(X.astype(np.float32), y.astype(np.float32), test_size=0.25,
                            random_state=0)


def csv_bytes(X, y) -> bytes:
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([y, X]), delimiter=",", fmt="%.8g")
    return buf.getvalue().encode()


def direct_auc(cancer) -> float:
    X_train, X_valid, y_train, y_valid = cancer
    # The same values the CSV carries, so both sides train on identical numbers.
    rt = lambda X: np.loadtxt(io.BytesIO(csv_bytes(X, np.zeros(len(X)))), delimiter=",")[:, 1:]  # noqa: E731
    params = {k: v for k, v in HP.items() if k != "num_round"}
    booster = xgb.train({**params, "max_depth": 4, "eta": 0.3, "seed": 7},
                        xgb.DMatrix(rt(X_train), label=y_train), num_boost_round=20)
    return roc_auc_score(y_valid, booster.predict(xgb.DMatrix(rt(X_valid))))


def channels(prefix: str, content_type: str) -> dict:
    return {ch: {"ContentType": content_type, "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": f"s3://data/{prefix}/{ch}/"}}}
        for ch in ("train", "validation")}


def test_xgboost_on_breast_cancer_matches_xgboost_train(sm, s3, cancer):
    X_train, X_valid, y_train, y_valid = cancer
    s3.put_object(Bucket="data", Key="cancer/train/train.csv", Body=csv_bytes(X_train, y_train))
    s3.put_object(Bucket="data", Key="cancer/validation/v.csv", Body=csv_bytes(X_valid, y_valid))
    sm.create_training_job(**job_request("xgb-cancer", image=IMAGE, hp=HP,
                                         channels=channels("cancer", "text/csv")))
    job = wait_for(sm, "xgb-cancer")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    names = {d["Name"] for d in job["AlgorithmSpecification"]["MetricDefinitions"]}
    assert names == {"train:auc", "validation:auc"}
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    expected = direct_auc(cancer)
    assert final["validation:auc"] == pytest.approx(expected, abs=0.005)

    model = tar_members(s3, job["ModelArtifacts"]["S3ModelArtifacts"])["xgboost-model"]
    booster = xgb.Booster()
    booster.load_model(bytearray(model))
    got = roc_auc_score(y_valid, booster.predict(xgb.DMatrix(X_valid)))
    assert got == pytest.approx(expected, abs=0.005)


@pytest.mark.parametrize("fmt", ["libsvm", "parquet", "recordio"])
def test_every_input_format_trains_the_same_model(sm, s3, cancer, fmt):
    import pyarrow as pa
    import pyarrow.parquet as pq

    X_train, X_valid, y_train, y_valid = cancer
    for ch, X, y in (("train", X_train, y_train), ("validation", X_valid, y_valid)):
        if fmt == "libsvm":
            body = "".join(f"{int(label)} " + " ".join(f"{j}:{v:.8g}" for j, v in enumerate(row)) + "\n"
                           for row, label in zip(X, y)).encode()
        elif fmt == "parquet":
            buf = io.BytesIO()
            pq.write_table(pa.table({f"c{j}": col for j, col in
                                     enumerate(np.column_stack([y, X]).T)}), buf)
            body = buf.getvalue()
        else:
            buf = io.BytesIO()
            recordio.write_records(buf, X, y)
            body = buf.getvalue()
        s3.put_object(Bucket="data", Key=f"fmt-{fmt}/{ch}/data", Body=body)
    content_type = {"libsvm": "text/libsvm", "parquet": "application/x-parquet",
                    "recordio": "application/x-recordio-protobuf"}[fmt]
    sm.create_training_job(**job_request(f"xgb-{fmt}", image=IMAGE, hp=HP,
                                         channels=channels(f"fmt-{fmt}", content_type)))
    job = wait_for(sm, f"xgb-{fmt}")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert final["validation:auc"] > 0.97


@pytest.mark.parametrize("hp,reason", [
    ({"objective": "binary:logistic"}, "ClientError: Hyperparameter num_round is required."),
    ({"num_round": "10", "eta": "2"}, "ClientError: Hyperparameter eta: value 2 is not in [0, 1]."),
    ({"num_round": "10", "objective": "multi:softmax"},
     "ClientError: Hyperparameter num_class is required for objective multi:softmax."),
    ({"num_round": "10", "max_depth": "deep"}, "ClientError: Hyperparameter max_depth: value 'deep' is not >= 0."),
])
def test_bad_hyperparameters_fail_the_job_with_a_client_error(sm, s3, cancer, hp, reason):
    X_train, _, y_train, _ = cancer
    s3.put_object(Bucket="data", Key="badhp/train/t.csv", Body=csv_bytes(X_train[:50], y_train[:50]))
    name = f"xgb-badhp-{abs(hash(reason)) % 10**6}"
    sm.create_training_job(**job_request(name, image=IMAGE, hp=hp, channels={
        "train": {"ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://data/badhp/train/"}}}}))
    job = wait_for(sm, name)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == reason


def test_a_corrupt_csv_fails_with_the_file_named(sm, s3):
    s3.put_object(Bucket="data", Key="corrupt/train/bad.csv", Body=b"1,2,3\n0,abc,4\n1,2,3\n")
    sm.create_training_job(**job_request("xgb-corrupt", image=IMAGE, hp={"num_round": "3"}, channels={
        "train": {"ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://data/corrupt/train/"}}}}))
    job = wait_for(sm, "xgb-corrupt")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: CSV file bad.csv: column 2 is not numeric")
