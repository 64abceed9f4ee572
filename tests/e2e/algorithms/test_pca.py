"""The built-in PCA through boto3: trained on scikit-learn's digits, its served projections
checked against scikit-learn's PCA (components in AWS's ascending order, each up to sign) and
the library called directly; every request and response format, a batch transform, and
AWS's kind of errors."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from botocore.exceptions import ClientError
from sklearn.datasets import load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from kamado.algorithms import pca, recordio
from kamado.algorithms.pca.model import FILE
from tests.e2e.algorithms.conftest import (csv_body, deploy, final_metrics, invoke,
                                           model_members, transform, train, upload)

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/pca:1"
COMPONENTS = 8
HP = {"feature_dim": "64", "num_components": str(COMPONENTS), "mini_batch_size": "200"}


def recordio_body(X, y=None) -> bytes:
    buf = io.BytesIO()
    recordio.write_records(buf, np.asarray(X, np.float32),
                           None if y is None else np.asarray(y, np.float32))
    return buf.getvalue()


def scikit_projections(Xtr, Xte, components: int, center: bool = True) -> np.ndarray:
    """scikit-learn's PCA transform of Xte, columns in AWS's order (least significant first)."""
    reference = PCA(components, svd_solver="full").fit(Xtr.astype(np.float64))
    projected = reference.transform(Xte.astype(np.float64))
    if not center:
        projected = Xte.astype(np.float64) @ reference.components_.T
    return projected[:, ::-1]


def assert_equal_up_to_sign(got, expected, rtol=1e-5):
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    signs = np.sign(np.sum(got * expected, axis=0))
    scale = np.abs(expected).max(axis=0)
    assert np.all(np.abs(got * signs - expected) <= rtol * scale + 1e-6)


@pytest.fixture(scope="module")
def digits():
    X = load_digits().data.astype(np.float32)
    Xtr, Xte = train_test_split(X, test_size=0.25, random_state=0)
    direct = pca.fit(Xtr, HP)  # the library, called directly on the same records
    return dict(Xtr=Xtr, Xte=Xte, direct=direct, projections=direct.project(Xte),
                scikit=scikit_projections(Xtr, Xte, COMPONENTS))


@pytest.fixture(scope="module")
def trained(sm, s3, digits):
    channels = upload(s3, "pca-digits", {"train": csv_body(digits["Xtr"]),
                                         "test": csv_body(digits["Xte"])},
                      "text/csv;label_size=0")
    job = train(sm, "pca-digits", IMAGE, channels, HP)
    return job, deploy(sm, "pca-digits", "pca", job)


def test_model_matches_scikit_learn_and_the_library(trained, s3, digits):
    job, _ = trained
    folder = Path(tempfile.mkdtemp())
    (folder / FILE).write_bytes(model_members(s3, job)[FILE])
    model = pca.load_model(folder)
    reference = PCA(COMPONENTS, svd_solver="full").fit(digits["Xtr"].astype(np.float64))
    # AWS's order: the most significant component last
    assert model.s == pytest.approx(reference.singular_values_[::-1], rel=1e-5)
    assert_equal_up_to_sign(model.v, reference.components_[::-1].T)
    assert model.mean.ravel() == pytest.approx(reference.mean_, rel=1e-5, abs=1e-5)
    assert np.array_equal(model.v, digits["direct"].v.astype(np.float32))
    assert final_metrics(job)["train:progress"] == 100


def test_served_projections_in_every_format_equal_scikit_learn(trained, rt, digits):
    _, endpoint = trained
    X, expected, direct = digits["Xte"], digits["scikit"], digits["projections"]
    answer = invoke(rt, endpoint, csv_body(X), "text/csv", "application/json")
    got = np.array([p["projection"] for p in answer["projections"]])
    assert_equal_up_to_sign(got, expected)
    assert got == pytest.approx(direct, rel=1e-6, abs=1e-6)
    body = json.dumps({"instances": [{"features": row.tolist()} for row in X]}).encode()
    lines = invoke(rt, endpoint, body, "application/json", "application/jsonlines")
    assert_equal_up_to_sign([json.loads(line)["projection"] for line in lines.splitlines()],
                            expected)
    body = "\n".join(json.dumps({"data": {"features": {"values": row.tolist()}}})
                     for row in X).encode()
    answer = invoke(rt, endpoint, body, "application/jsonlines")  # JSON by default
    assert_equal_up_to_sign([p["projection"] for p in answer["projections"]], expected)
    records = recordio.read_records(io.BytesIO(invoke(
        rt, endpoint, recordio_body(X), "application/x-recordio-protobuf",
        "application/x-recordio-protobuf")))
    assert_equal_up_to_sign([r["label"]["projection"]["values"] for r in records], expected)


def test_batch_transform_over_the_test_set(sm, s3, trained, digits):
    _, endpoint = trained
    out = transform(sm, s3, "pca-digits-transform", endpoint, csv_body(digits["Xte"]),
                    "text/csv", accept="application/jsonlines")
    got = [json.loads(line)["projection"] for line in out.decode().splitlines()]
    assert_equal_up_to_sign(got, digits["scikit"])


def test_wrong_requests_are_model_errors(trained, rt):
    _, endpoint = trained
    for body, content_type, accept, code, words in (
            (b"1,2,3\n", "text/csv", None, 400, "expects 64 features"),
            (b"1,2,x\n", "text/csv", None, 400, "CSV"),
            (b'{"instances": [{"nothing": 1}]}', "application/json", None, 400, "features"),
            (b"1," * 63 + b"1\n", "text/csv", "text/csv", 406, "Accept")):
        extra = {"Accept": accept} if accept else {}
        with pytest.raises(ClientError) as err:
            rt.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType=content_type,
                               **extra)
        assert err.value.response["Error"]["Code"] == "ModelError"
        assert err.value.response["OriginalStatusCode"] == code
        assert words in err.value.response["Error"]["Message"]


def test_randomized_without_mean_on_recordio(sm, s3, rt):
    X = load_wine().data.astype(np.float32)
    X = (X - X.mean(axis=0)) / X.std(axis=0) + 3.0  # an offset the uncentred PCA keeps
    hp = {"feature_dim": "13", "num_components": "4", "mini_batch_size": "50",
          "algorithm_mode": "randomized", "subtract_mean": "False", "extra_components": "5"}
    channels = upload(s3, "pca-wine", {"train": recordio_body(X, np.zeros(len(X)))}, None)
    job = train(sm, "pca-wine", "pca", channels, hp)
    endpoint = deploy(sm, "pca-wine", "pca", job)
    answer = invoke(rt, endpoint, recordio_body(X[:30]), "application/x-recordio-protobuf")
    got = np.array([p["projection"] for p in answer["projections"]])
    # uncentred: the right singular vectors of X itself; randomized, so near them, not on them
    _, _, vt = np.linalg.svd(X.astype(np.float64), full_matrices=False)
    expected = X[:30].astype(np.float64) @ vt[:4][::-1].T
    assert_equal_up_to_sign(got, expected, rtol=1e-3)
    assert got == pytest.approx(pca.fit(X, hp).project(X[:30]), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("case, hp, body, content_type, words", [
    ("bad-mode", {"algorithm_mode": "stable"}, None, "text/csv;label_size=0",
     "algorithm_mode"),
    ("bad-extra", {"extra_components": "-2"}, None, "text/csv;label_size=0",
     "extra_components"),
    ("missing-batch", {"mini_batch_size": None}, None, "text/csv;label_size=0",
     "mini_batch_size is required"),
    ("too-many", {"num_components": "5"}, None, "text/csv;label_size=0", "feature_dim 4"),
    ("wrong-dim", {"feature_dim": "5"}, None, "text/csv;label_size=0", "feature_dim is 5"),
    ("label-column", {}, None, "text/csv", "label_size=0"),
    ("not-numbers", {}, b"1,2,3,4\n0,a,b,c\n", "text/csv;label_size=0", "line 2"),
    ("unknown", {"k": "3"}, None, "text/csv;label_size=0", "k is not a hyperparameter"),
])
def test_bad_jobs_fail_with_client_errors(sm, s3, case, hp, body, content_type, words):
    X = load_wine().data[:20, :4].astype(np.float32)
    base = {"feature_dim": "4", "num_components": "2", "mini_batch_size": "10"}
    hp = {k: v for k, v in {**base, **hp}.items() if v is not None}
    channels = upload(s3, f"pca-bad-{case}", {"train": body or csv_body(X)}, content_type)
    job = train(sm, f"pca-bad-{case}", "pca", channels, hp, expect="Failed")
    assert job["FailureReason"].startswith("ClientError: ")
    assert words in job["FailureReason"]
