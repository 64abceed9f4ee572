"""The built-in K-Means through boto3: trained on scikit-learn's digits, its metrics and
served answers checked against the library called directly on the same data and its
inertia against scikit-learn's KMeans; every request and response format, a batch
transform, and AWS's kind of errors."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from botocore.exceptions import ClientError
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, load_iris
from sklearn.model_selection import train_test_split

from kamado.algorithms import kmeans, recordio
from kamado.algorithms.kmeans.model import FILE
from tests.e2e.algorithms.conftest import (csv_body, deploy, final_metrics, invoke,
                                           model_members, transform, train, upload)

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
K = 10
HP = {"feature_dim": "64", "k": str(K), "mini_batch_size": "500", "epochs": "2",
      "eval_metrics": '["msd", "ssd"]', "force_dense": "True"}


def recordio_body(X, y=None) -> bytes:
    buf = io.BytesIO()
    recordio.write_records(buf, np.asarray(X, np.float32),
                           None if y is None else np.asarray(y, np.float32))
    return buf.getvalue()


def label_records(body: bytes) -> list[dict]:
    return [{name: value["values"].tolist() for name, value in rec["label"].items()}
            for rec in recordio.read_records(io.BytesIO(body))]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    Xtr, Xte = train_test_split(X.astype(np.float32), test_size=0.25, random_state=0)
    direct = kmeans.fit(Xtr, HP)  # the library, called directly on the same records
    closest, distance = direct.predict_arrays(Xte)
    return dict(Xtr=Xtr, Xte=Xte, direct=direct, closest=closest, distance=distance)


@pytest.fixture(scope="module")
def trained(sm, s3, digits):
    channels = upload(s3, "kmeans-digits", {"train": csv_body(digits["Xtr"]),
                                            "test": csv_body(digits["Xte"])},
                      "text/csv;label_size=0")
    job = train(sm, "kmeans-digits", IMAGE, channels, HP)
    return job, deploy(sm, "kmeans-digits", "kmeans", job)


def test_model_and_metrics_equal_the_library_and_near_scikit_learn(trained, s3, digits):
    job, _ = trained
    model = kmeans.load_model(_extract(model_members(s3, job)))
    assert np.allclose(model.centroids, digits["direct"].centroids, atol=1e-4)
    metrics = final_metrics(job)
    Xtr, Xte = digits["Xtr"], digits["Xte"]
    assert metrics["test:msd"] == pytest.approx(model.score(Xte, "msd"), rel=1e-6)
    assert metrics["test:ssd"] == pytest.approx(model.score(Xte, "ssd"), rel=1e-6)
    assert metrics["train:msd"] == pytest.approx(model.score(Xtr, "msd"), rel=1e-6)
    assert metrics["train:progress"] == 100
    reference = KMeans(K, n_init=10, random_state=0).fit(Xtr.astype(np.float64)).inertia_
    assert model.score(Xtr, "ssd") <= 1.02 * reference


def _extract(members: dict[str, bytes]):
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp())
    (folder / FILE).write_bytes(members[FILE])
    return folder


def test_served_answers_in_every_format_equal_the_library(trained, rt, digits):
    _, endpoint = trained
    X, closest, distance = digits["Xte"], digits["closest"], digits["distance"]
    answer = invoke(rt, endpoint, csv_body(X), "text/csv", "application/json")
    got = answer["predictions"]
    assert [p["closest_cluster"] for p in got] == closest.astype(float).tolist()
    assert [p["distance_to_cluster"] for p in got] == pytest.approx(distance, rel=1e-5)
    body = json.dumps({"instances": [{"features": row.tolist()} for row in X]}).encode()
    lines = invoke(rt, endpoint, body, "application/json", "application/jsonlines")
    assert [json.loads(line)["closest_cluster"] for line in lines.splitlines()] == \
        closest.astype(float).tolist()
    body = "\n".join(json.dumps({"data": {"features": {"values": row.tolist()}}})
                     for row in X).encode()
    rows = invoke(rt, endpoint, body, "application/jsonlines", "text/csv").decode().splitlines()
    pairs = np.array([[float(v) for v in row.split(",")] for row in rows])
    assert pairs[:, 0].tolist() == closest.astype(float).tolist()
    assert pairs[:, 1] == pytest.approx(distance, rel=1e-5)
    records = label_records(invoke(rt, endpoint, recordio_body(X),
                                   "application/x-recordio-protobuf",
                                   "application/x-recordio-protobuf"))
    assert [r["closest_cluster"][0] for r in records] == closest.astype(float).tolist()
    assert [r["distance_to_cluster"][0] for r in records] == pytest.approx(distance, rel=1e-5)


def test_batch_transform_over_the_test_set(sm, s3, trained, digits):
    _, endpoint = trained
    out = transform(sm, s3, "kmeans-digits-transform", endpoint, csv_body(digits["Xte"]),
                    "text/csv", accept="application/jsonlines")
    got = [json.loads(line) for line in out.decode().splitlines()]
    assert [g["closest_cluster"] for g in got] == digits["closest"].astype(float).tolist()
    # the served distances are the model's own: their squares sum to its inertia
    served = np.array([g["distance_to_cluster"] for g in got])
    assert float(np.sum(served ** 2)) == pytest.approx(
        digits["direct"].score(digits["Xte"], "ssd"), rel=1e-5)


def test_wrong_requests_are_model_errors(trained, rt):
    _, endpoint = trained
    for body, content_type, words in ((b"1,2,3\n", "text/csv", "expects 64 features"),
                                      (b"1,2,x\n", "text/csv", "CSV"),
                                      (b'{"instances": [{"nothing": 1}]}', "application/json",
                                       "features")):
        with pytest.raises(ClientError) as err:
            rt.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType=content_type)
        assert err.value.response["Error"]["Code"] == "ModelError"
        assert err.value.response["OriginalStatusCode"] == 400
        assert words in err.value.response["Error"]["Message"]


def test_recordio_without_content_type_and_kmeans_plus_plus(sm, s3, rt):
    X = load_iris().data.astype(np.float32)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    hp = {"feature_dim": "4", "k": "3", "init_method": "kmeans++",
          "extra_center_factor": "4", "local_lloyd_init_method": "random"}
    # RecordIO with labels, as the SDK's record_set writes them: the labels are ignored
    channels = upload(s3, "kmeans-iris", {"train": recordio_body(X, np.zeros(len(X)))}, None)
    job = train(sm, "kmeans-iris", "kmeans", channels, hp)
    direct = kmeans.fit(X, hp)
    assert final_metrics(job)["train:msd"] == pytest.approx(direct.score(X, "msd"), rel=1e-5)
    assert "test:msd" not in final_metrics(job)
    reference = KMeans(3, n_init=10, random_state=0).fit(X.astype(np.float64)).inertia_
    assert direct.score(X, "ssd") <= 1.02 * reference


@pytest.mark.parametrize("case, hp, body, content_type, words", [
    ("bad-init", {"init_method": "kmeans+"}, None, "text/csv;label_size=0", "init_method"),
    ("bad-metrics", {"eval_metrics": '["mse"]'}, None, "text/csv;label_size=0",
     "eval_metrics"),
    ("missing-k", {"k": None}, None, "text/csv;label_size=0", "k is required"),
    ("too-many-k", {"k": "50"}, None, "text/csv;label_size=0", "larger than the number"),
    ("wrong-dim", {"feature_dim": "5"}, None, "text/csv;label_size=0", "feature_dim is 5"),
    ("label-column", {}, None, "text/csv", "label_size=0"),
    ("not-numbers", {}, b"1,2,3,4\n0,a,b,c\n", "text/csv;label_size=0", "line 2"),
    ("unknown", {"num_components": "3"}, None, "text/csv;label_size=0", "num_components"),
])
def test_bad_jobs_fail_with_client_errors(sm, s3, case, hp, body, content_type, words):
    X = load_iris().data[:20].astype(np.float32)
    base = {"feature_dim": "4", "k": "3"}
    hp = {k: v for k, v in {**base, **hp}.items() if v is not None}
    channels = upload(s3, f"kmeans-bad-{case}", {"train": body or csv_body(X)}, content_type)
    job = train(sm, f"kmeans-bad-{case}", "kmeans", channels, hp, expect="Failed")
    assert job["FailureReason"].startswith("ClientError: ")
    assert words in job["FailureReason"]
