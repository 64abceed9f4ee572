"""The built-in k-NN through boto3: trained on scikit-learn's datasets, its test metric and
served answers checked against scikit-learn's nearest neighbours on the same data; every
request and response format, verbose answers, a batch transform, and AWS's kind of errors."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from botocore.exceptions import ClientError
from sklearn.datasets import load_diabetes, load_iris
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from kamado.algorithms import recordio
from kamado.algorithms.knn import majority
from tests.e2e.algorithms.conftest import (csv_body, deploy, final_metrics, invoke,
                                           transform, train, upload)

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/knn:1"
K = 5


def recordio_body(X, y=None) -> bytes:
    buf = io.BytesIO()
    recordio.write_records(buf, np.asarray(X, np.float32),
                           None if y is None else np.asarray(y, np.float32))
    return buf.getvalue()


def label_records(body: bytes) -> list[dict]:
    return [{name: value["values"].tolist() for name, value in rec["label"].items()}
            for rec in recordio.read_records(io.BytesIO(body))]


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X.astype(np.float32), y.astype(np.float32),
                                          test_size=0.3, random_state=0)
    reference = KNeighborsClassifier(K).fit(Xtr, ytr)
    distances, neighbours = reference.kneighbors(Xte)
    # kamado breaks ties by the nearest tied label, scikit-learn by the smallest one
    expected = np.array([majority(ytr[row]) for row in neighbours], np.float32)
    return dict(Xtr=Xtr, Xte=Xte, ytr=ytr, yte=yte, reference=reference, expected=expected,
                distances=distances, neighbours=neighbours)


@pytest.fixture(scope="module")
def classifier(sm, s3, iris):
    channels = upload(s3, "knn-iris", {"train": csv_body(iris["Xtr"], iris["ytr"]),
                                       "test": csv_body(iris["Xte"], iris["yte"])}, "text/csv")
    job = train(sm, "knn-iris", IMAGE, channels, {
        "feature_dim": "4", "k": str(K), "sample_size": "1000", "predictor_type": "classifier"})
    return job, deploy(sm, "knn-iris", "knn", job)


def test_classifier_accuracy_equals_scikit_learn(classifier, iris):
    job, _ = classifier
    sk = iris["reference"].predict(iris["Xte"])
    assert np.array_equal(iris["expected"], sk)  # no ties on iris with k=5: same rule
    assert final_metrics(job)["test:accuracy"] == pytest.approx(np.mean(sk == iris["yte"]),
                                                                abs=1e-12)


def test_served_answers_in_every_format_equal_scikit_learn(classifier, rt, iris):
    _, endpoint = classifier
    X, expected = iris["Xte"], iris["expected"].tolist()
    answer = invoke(rt, endpoint, csv_body(X), "text/csv", "application/json")
    assert [p["predicted_label"] for p in answer["predictions"]] == expected
    assert set(answer["predictions"][0]) == {"predicted_label"}
    body = json.dumps({"instances": [{"features": row.tolist()} for row in X]}).encode()
    lines = invoke(rt, endpoint, body, "application/json", "application/jsonlines")
    assert [json.loads(line)["predicted_label"] for line in lines.splitlines()] == expected
    body = "\n".join(json.dumps({"data": {"features": {"values": row.tolist()}}})
                     for row in X).encode()
    records = label_records(invoke(rt, endpoint, body, "application/jsonlines",
                                   "application/x-recordio-protobuf"))
    assert [r["predicted_label"][0] for r in records] == expected
    # a CSV request may carry the label first when it says so
    answer = invoke(rt, endpoint, csv_body(X, iris["yte"]), "text/csv;label_size=1")
    assert [p["predicted_label"] for p in answer["predictions"]] == expected


def test_verbose_answers_give_neighbours_nearest_first(classifier, rt, iris):
    _, endpoint = classifier
    X = iris["Xte"][:10]
    answer = invoke(rt, endpoint, recordio_body(X), "application/x-recordio-protobuf",
                    "application/json; verbose=true")
    for got, dist, rows in zip(answer["predictions"], iris["distances"], iris["neighbours"]):
        assert got["labels"] == iris["ytr"][rows].tolist()
        # faiss reports squared Euclidean distances, nearest first
        assert got["distances"] == pytest.approx((dist ** 2).tolist(), rel=1e-4, abs=1e-4)
        assert got["distances"] == sorted(got["distances"])
    records = label_records(invoke(rt, endpoint, csv_body(X), "text/csv",
                                   "application/x-recordio-protobuf;verbose=true"))
    assert [r["labels"] for r in records] == [iris["ytr"][rows].tolist()
                                              for rows in iris["neighbours"][:10]]


def test_batch_transform_over_the_test_set(sm, s3, classifier, iris):
    _, endpoint = classifier
    out = transform(sm, s3, "knn-iris-transform", endpoint, csv_body(iris["Xte"]), "text/csv",
                    accept="application/jsonlines")
    got = [json.loads(line)["predicted_label"] for line in out.decode().splitlines()]
    assert got == iris["expected"].tolist()


def test_wrong_requests_are_model_errors(classifier, rt):
    _, endpoint = classifier
    for body, content_type, words in ((b"1,2,3\n", "text/csv", "expects 4 features"),
                                      (b"1,2,x,4\n", "text/csv", "CSV"),
                                      (b'{"instances": [{"nothing": 1}]}', "application/json",
                                       "features")):
        with pytest.raises(ClientError) as err:
            rt.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType=content_type)
        assert err.value.response["Error"]["Code"] == "ModelError"
        assert err.value.response["OriginalStatusCode"] == 400
        assert words in err.value.response["Error"]["Message"]


def test_regressor_on_recordio_matches_scikit_learn(sm, s3, rt):
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X.astype(np.float32), y.astype(np.float32),
                                          test_size=0.25, random_state=0)
    channels = upload(s3, "knn-diabetes", {"train": recordio_body(Xtr, ytr),
                                           "test": recordio_body(Xte, yte)}, None)
    job = train(sm, "knn-diabetes", "knn", channels, {
        "feature_dim": "10", "k": "7", "sample_size": "100000", "predictor_type": "regressor"})
    reference = KNeighborsRegressor(7).fit(Xtr, ytr).predict(Xte)
    mse = float(np.mean((reference - yte) ** 2))
    assert final_metrics(job)["test:mse"] == pytest.approx(mse, rel=1e-5)
    assert "test:accuracy" not in final_metrics(job)
    endpoint = deploy(sm, "knn-diabetes", "knn", job)
    answer = invoke(rt, endpoint, csv_body(Xte[:20]), "text/csv", "application/json")
    assert [p["predicted_label"] for p in answer["predictions"]] == \
        pytest.approx(reference[:20].tolist(), rel=1e-5)


@pytest.mark.parametrize("case, hp, body, content_type, words", [
    ("unknown-index", {"index_type": "faiss.HNSW"}, None, "text/csv", "index_type"),
    ("ivfpq-cosine", {"index_type": "faiss.IVFPQ", "index_metric": "COSINE"}, None, "text/csv",
     "index_metric"),
    ("no-target", {"dimension_reduction_type": "sign"}, None, "text/csv",
     "dimension_reduction_target"),
    ("missing-k", {"k": None}, None, "text/csv", "k is required"),
    ("wrong-dim", {"feature_dim": "5"}, None, "text/csv", "feature_dim is 5"),
    ("no-label", {}, None, "text/csv;label_size=0", "no labels"),
    ("not-numbers", {}, b"1,2,3,4,5\n0,a,b,c,d\n", "text/csv", "line 2"),
    ("missing-label", {}, b"1,2,3,4,5\n,1,2,3,4\n", "text/csv", "missing or infinite label"),
])
def test_bad_jobs_fail_with_client_errors(sm, s3, iris, case, hp, body, content_type, words):
    base = {"feature_dim": "4", "k": "3", "sample_size": "100", "predictor_type": "classifier"}
    hp = {k: v for k, v in {**base, **hp}.items() if v is not None}
    if body is None:
        body = csv_body(iris["Xtr"][:20], None if "label_size=0" in content_type
                        else iris["ytr"][:20])
    channels = upload(s3, f"knn-bad-{case}", {"train": body}, content_type)
    job = train(sm, f"knn-bad-{case}", "knn", channels, hp, expect="Failed")
    assert job["FailureReason"].startswith("ClientError: ")
    assert words in job["FailureReason"]
