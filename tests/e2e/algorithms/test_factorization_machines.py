"""The built-in Factorization Machines through boto3: a click-style binary classifier on sparse
one-hot data (quality against the base rate, served answers against the library called
directly, batch transform), a regressor's test:rmse, and the errors AWS's algorithm gives."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from botocore.exceptions import ClientError
from sklearn.metrics import log_loss, roc_auc_score

from kamado.algorithms import recordio
from kamado.algorithms.factorization_machines import fit, load_model, validate
from tests.e2e.algorithms.conftest import (deploy, final_metrics, invoke, model_members,
                                           train, transform, upload)

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/factorization-machines:1"
USERS, ITEMS, CONTEXTS = 150, 80, 4
WIDTH = USERS + ITEMS + CONTEXTS
BINARY_HP = {"feature_dim": str(WIDTH), "num_factors": "8",
             "predictor_type": "binary_classifier", "epochs": "8", "mini_batch_size": "200",
             "factors_lr": "0.01", "linear_lr": "0.01", "factors_init_sigma": "0.01"}


def clicks(rows: int, seed: int, regression: bool = False):
    """One-hot user × item × context rows whose label comes from latent factors (a fixed ground
    truth: the same for every seed) — clicks, or ratings when ``regression``."""
    truth = np.random.default_rng(1234)
    U, I, C = (truth.normal(0, 1, (n, 4)) for n in (USERS, ITEMS, CONTEXTS))
    bu, bi = truth.normal(0, 0.5, USERS), truth.normal(0, 0.5, ITEMS)
    rng = np.random.default_rng(seed)
    u, i, c = rng.integers(USERS, size=rows), rng.integers(ITEMS, size=rows), \
        rng.integers(CONTEXTS, size=rows)
    signal = bu[u] + bi[i] + np.einsum("ij,ij->i", U[u], I[i]) \
        + 0.5 * np.einsum("ij,ij->i", I[i], C[c])
    if regression:
        y = 3.0 + signal + rng.normal(0, 0.3, rows)
    else:
        y = rng.random(rows) < 1 / (1 + np.exp(1.0 - signal))
    cols = np.column_stack([u, USERS + i, USERS + ITEMS + c]).ravel()
    X = sp.csr_matrix((np.ones(3 * rows, np.float32), (np.repeat(np.arange(rows), 3), cols)),
                      shape=(rows, WIDTH))
    return X, y.astype(np.float32)


def recordio_body(X, y=None) -> bytes:
    buf = io.BytesIO()
    recordio.write_records(buf, X, y)
    return buf.getvalue()


def served_model(s3, job):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model_algo-1"
        path.write_bytes(model_members(s3, job)["model_algo-1"])
        return load_model(path)


def scores_of(body: bytes) -> np.ndarray:
    return np.array([r["label"]["score"]["values"][0]
                     for r in recordio.read_records(io.BytesIO(body))])


@pytest.fixture(scope="module")
def click_data():
    return clicks(12000, 1), clicks(3000, 2)


@pytest.fixture(scope="module")
def click_job(sm, s3, click_data):
    (X, y), (Xt, yt) = click_data
    channels = upload(s3, "fm-clicks", {"train": recordio_body(X, y),
                                        "test": recordio_body(Xt, yt)}, None)
    return train(sm, "fm-clicks", IMAGE, channels, BINARY_HP)


def test_binary_classifier_learns_clicks_and_serves_what_the_library_predicts(
        sm, s3, rt, click_data, click_job):
    (X, y), (Xt, yt) = click_data
    direct = fit(X, y, validate(BINARY_HP))
    expected = direct.scores(Xt)
    model = served_model(s3, click_job)
    np.testing.assert_allclose(model.scores(Xt), expected, rtol=1e-5, atol=1e-6)

    # quality: clearly better than predicting the base rate
    base = log_loss(yt, np.full(len(yt), y.mean()))
    assert log_loss(yt, expected) < base - 0.08
    assert roc_auc_score(yt, expected) > 0.75

    final = final_metrics(click_job)
    labels = expected >= 0.5
    assert final["test:binary_classification_accuracy"] == pytest.approx(
        np.mean(labels == (yt == 1)), abs=1e-6)
    assert final["test:binary_classification_cross_entropy"] == pytest.approx(
        log_loss(yt, expected), rel=1e-4)
    tp = np.sum(labels & (yt == 1))
    assert final["test:binary_f_beta"] == pytest.approx(2 * tp / (labels.sum() + yt.sum()),
                                                        rel=1e-4)
    assert final["train:progress"] == 100
    assert {"train:throughput", "train:binary_classification_accuracy",
            "train:binary_classification_cross_entropy"} <= set(final)

    endpoint = deploy(sm, "fm-clicks", IMAGE, click_job)
    rows = Xt[:3]
    sparse = {"instances": [{"data": {"features": {
        "keys": rows[i].indices.tolist(), "shape": [WIDTH],
        "values": rows[i].data.tolist()}}} for i in range(3)]}
    answer = invoke(rt, endpoint, json.dumps(sparse).encode(), "application/json")
    assert [set(p) for p in answer["predictions"]] == [{"score", "predicted_label"}] * 3
    got = np.array([p["score"] for p in answer["predictions"]])
    np.testing.assert_allclose(got, expected[:3], rtol=1e-5)
    assert [p["predicted_label"] for p in answer["predictions"]] == \
        [int(s >= 0.5) for s in got]
    dense = {"instances": [{"features": rows[0].toarray()[0].tolist()}]}
    answer = invoke(rt, endpoint, json.dumps(dense).encode(), "application/json")
    assert answer["predictions"][0]["score"] == pytest.approx(expected[0], rel=1e-5)
    body = invoke(rt, endpoint, recordio_body(rows), "application/x-recordio-protobuf",
                  "application/x-recordio-protobuf")
    np.testing.assert_allclose(scores_of(body), expected[:3], rtol=1e-5)
    lines = invoke(rt, endpoint, recordio_body(rows), "application/x-recordio-protobuf",
                   "application/jsonlines")
    assert [json.loads(line)["score"] for line in lines.decode().splitlines()] == \
        pytest.approx(expected[:3].tolist(), rel=1e-5)

    # batch transform over the whole test set, one RecordIO record per row
    out = transform(sm, s3, "fm-clicks-transform", endpoint, recordio_body(Xt),
                    "application/x-recordio-protobuf", "RecordIO",
                    accept="application/jsonlines", assemble="Line")
    transformed = [json.loads(line) for line in out.decode().splitlines()]
    assert len(transformed) == Xt.shape[0]
    np.testing.assert_allclose([r["score"] for r in transformed], expected, rtol=1e-5, atol=1e-6)


def test_the_endpoint_refuses_csv_and_records_of_the_wrong_width(sm, s3, rt, click_job):
    endpoint = deploy(sm, "fm-refuses", IMAGE, click_job)
    with pytest.raises(ClientError) as e:
        rt.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=b"1,0,0\n")
    assert e.value.response["Error"]["Code"] == "ModelError"
    assert e.value.response["OriginalStatusCode"] == 415
    assert "CSV" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        rt.invoke_endpoint(EndpointName=endpoint, ContentType="application/json",
                           Body=json.dumps({"instances": [{"features": [1.0, 0.0]}]}))
    assert e.value.response["OriginalStatusCode"] == 400
    assert "feature_dim" in e.value.response["Error"]["Message"]


def test_regressor_reports_test_rmse(sm, s3):
    (X, y), (Xt, yt) = clicks(6000, 3, regression=True), clicks(1500, 4, regression=True)
    hp = {**BINARY_HP, "predictor_type": "regressor", "factors_lr": "0.03", "linear_lr": "0.03"}
    channels = upload(s3, "fm-ratings", {"train": recordio_body(X, y),
                                         "test": recordio_body(Xt, yt)}, None)
    job = train(sm, "fm-ratings", IMAGE, channels, hp)
    predicted = fit(X, y, validate(hp)).scores(Xt)
    rmse = float(np.sqrt(np.mean((predicted - yt) ** 2)))
    final = final_metrics(job)
    assert final["test:rmse"] == pytest.approx(rmse, rel=1e-4)
    assert rmse < 0.4 * float(np.std(yt))  # noise alone leaves 0.3 / std ≈ 0.12
    assert "test:binary_classification_accuracy" not in final
    assert [p.keys() for p in served_model(s3, job).predict(Xt[:2])] == [{"score"}] * 2


@pytest.mark.parametrize("case, hp, bodies, content_type, message", [
    ("csv", {}, "csv", "text/csv", "recordio-protobuf"),
    ("width", {"feature_dim": "100"}, "recordio", None, "feature_dim is 100"),
    ("predictor", {"predictor_type": "multiclass_classifier"}, "recordio", None,
     "predictor_type"),
    ("init", {"factors_init_method": "xavier"}, "recordio", None, "factors_init_method"),
    ("float64", {}, "float64", None, "Float32"),
    ("labels", {}, "labels", None, "labels 0 or 1"),
    ("unlabelled", {}, "unlabelled", None, "has no labels"),
])
def test_bad_input_fails_the_job_with_a_client_error(sm, s3, case, hp, bodies, content_type,
                                                     message):
    X, y = clicks(300, 5)
    body = {"csv": lambda: np.savetxt(buf := io.StringIO(), np.column_stack(
                [y, X.toarray()]), delimiter=",") or buf.getvalue().encode(),
            "recordio": lambda: recordio_body(X, y),
            "float64": lambda: recordio_body(X.toarray().astype(np.float64), y),
            "labels": lambda: recordio_body(X, y * 2),
            "unlabelled": lambda: recordio_body(X)}[bodies]()
    channels = upload(s3, f"fm-bad-{case}", {"train": body}, content_type)
    job = train(sm, f"fm-bad-{case}", IMAGE, channels, {**BINARY_HP, **hp}, expect="Failed")
    assert job["FailureReason"].startswith("ClientError: ")
    assert message.lower() in job["FailureReason"].lower()
