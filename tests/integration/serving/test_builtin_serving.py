"""The built-in XGBoost and Linear Learner images end to end: trained by their ``train``
programs, served by their ``serve`` programs, predictions over HTTP equal to the library's
own on the same rows, in every content type; and the errors a client sees."""

from __future__ import annotations

import io
import json
import signal
import statistics
import time

import numpy as np
import pytest
import xgboost as xgb

from kamado.algorithms import recordio
from kamado.algorithms.linear_learner import load_model

from tests.integration.serving.conftest import Container, csv_rows, make_job, train

ROWS = slice(0, 7)


@pytest.fixture(scope="module")
def xgboost_server(tmp_path_factory, features):
    base = tmp_path_factory.mktemp("xgb") / "job"
    y = (features[:, 0] + 0.5 * features[:, 1] > 0).astype(np.float32)
    make_job(base, {"objective": "binary:logistic", "num_round": 15, "max_depth": 3}, features, y)
    model_dir = train("xgboost", base)
    booster = xgb.Booster(model_file=bytearray((model_dir / "xgboost-model").read_bytes()))
    container = Container("xgboost", base).start()
    yield container, booster
    # a clean stop on SIGTERM: uvicorn re-raises the signal once it has drained
    assert container.stop() in (0, -signal.SIGTERM)


@pytest.fixture(scope="module")
def linear_learner_server(tmp_path_factory, features):
    base = tmp_path_factory.mktemp("ll") / "job"
    y = (features[:, 2] - features[:, 3] > 0).astype(np.float32)
    make_job(base, {"predictor_type": "binary_classifier", "epochs": 3, "mini_batch_size": 100},
             features, y)
    model_dir = train("linear_learner", base)
    # two workers on one socket: the supervisor path
    container = Container("linear_learner", base,
                          {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"}).start()
    yield container, load_model(model_dir)
    assert container.stop() == 0  # the supervisor exits 0 once its workers have stopped


def recordio_body(X) -> bytes:
    buf = io.BytesIO()
    recordio.write_records(buf, X)
    return buf.getvalue()


def libsvm_body(X) -> str:
    return "\n".join(" ".join(f"{j}:{v:.9g}" for j, v in enumerate(row)) for row in X)


def scores_of(accept: str, body: bytes) -> list:
    if accept == "text/csv":
        return [float(v) for v in body.decode().split(",")]
    if accept == "application/json":
        return [p["score"] for p in json.loads(body)["predictions"]]
    if accept == "application/jsonlines":
        return [json.loads(line)["score"] for line in body.splitlines()]
    return [float(r["label"]["score"]["values"][0])
            for r in recordio.read_records(io.BytesIO(body))]


XGB_REQUESTS = {"text/csv": lambda X: csv_rows(X), "text/libsvm": libsvm_body,
                "application/x-recordio-protobuf": recordio_body}
ACCEPTS = ["text/csv", "application/json", "application/jsonlines",
           "application/x-recordio-protobuf"]


@pytest.mark.parametrize("content_type", sorted(XGB_REQUESTS))
@pytest.mark.parametrize("accept", ACCEPTS)
def test_xgboost_predictions_match_the_booster(xgboost_server, features, content_type, accept):
    container, booster = xgboost_server
    X = features[ROWS]
    status, headers, body = container.invoke(XGB_REQUESTS[content_type](X), content_type, accept)
    assert status == 200, body
    assert headers["content-type"] == accept
    expected = booster.predict(xgb.DMatrix(X))
    np.testing.assert_allclose(scores_of(accept, body), expected, atol=1e-6)


def test_xgboost_defaults_to_csv_and_passes_parameters(xgboost_server, features):
    container, booster = xgboost_server
    status, headers, body = container.invoke(csv_rows(features[:2]), "text/csv; label_size=0")
    assert status == 200 and headers["content-type"] == "text/csv"
    np.testing.assert_allclose(scores_of("text/csv", body),
                               booster.predict(xgb.DMatrix(features[:2])), atol=1e-6)
    # no Content-Type at all: CSV, as AWS's container assumes
    status, _, _ = container.invoke(csv_rows(features[:1]))
    assert status == 200


def test_xgboost_errors_over_http(xgboost_server):
    container, _ = xgboost_server
    status, _, body = container.invoke("1.0,abc,3,4,5,6", "text/csv")
    assert status == 415 and b"Loading text/csv data failed" in body and b"'abc'" in body
    status, _, body = container.invoke('{"instances": []}', "application/json")
    assert status == 415 and b"not supported by XGBoost" in body
    status, _, body = container.invoke("1,2,3", "text/csv")
    assert status == 400 and b"expects 6 features" in body
    status, _, body = container.invoke("1,2,3,4,5,6", "text/csv", "image/png")
    assert status == 406 and b"image/png" in body
    assert container.invoke(b"", "text/csv")[0] == 204
    status, _, body = container.request("GET", "/execution-parameters")
    assert status == 200 and json.loads(body)["BatchStrategy"] == "MULTI_RECORD"
    assert container.request("GET", "/invocations")[0] == 405
    assert container.request("GET", "/nowhere")[0] == 404


def test_invocation_latency_has_no_nagle_stall(xgboost_server, features):
    """Sequential one-row requests on one connection: a response held back by Nagle's
    algorithm costs ~40 ms; kamado's stay around a millisecond."""
    container, _ = xgboost_server
    row = csv_rows(features[:1])
    for _ in range(10):
        container.invoke(row, "text/csv")
    times = []
    for _ in range(50):
        started = time.perf_counter()
        status, _, _ = container.invoke(row, "text/csv")
        times.append(time.perf_counter() - started)
        assert status == 200
    assert statistics.median(times) < 0.015, f"median {statistics.median(times) * 1000:.1f} ms"


LL_REQUESTS = {
    "text/csv": lambda X: csv_rows(X),
    "application/json": lambda X: json.dumps({"instances": [{"features": r.tolist()} for r in X]}),
    "application/jsonlines": lambda X: "\n".join(
        json.dumps({"data": {"features": {"values": r.tolist()}}}) for r in X),
    "application/x-recordio-protobuf": recordio_body,
}


@pytest.mark.parametrize("content_type", sorted(LL_REQUESTS))
@pytest.mark.parametrize("accept", ["application/json", "application/jsonlines",
                                    "application/x-recordio-protobuf"])
def test_linear_learner_predictions_match_the_model(linear_learner_server, features,
                                                   content_type, accept):
    container, model = linear_learner_server
    X = features[ROWS]
    status, headers, body = container.invoke(LL_REQUESTS[content_type](X), content_type, accept)
    assert status == 200, body
    assert headers["content-type"] == accept
    expected = model.predict(X)
    if accept == "application/x-recordio-protobuf":
        got = [{k: float(v["values"][0]) for k, v in r["label"].items()}
               for r in recordio.read_records(io.BytesIO(body))]
    elif accept == "application/json":
        got = json.loads(body)["predictions"]
    else:
        got = [json.loads(line) for line in body.splitlines()]
    assert [g["predicted_label"] for g in got] == [e["predicted_label"] for e in expected]
    np.testing.assert_allclose([g["score"] for g in got], [e["score"] for e in expected],
                               atol=1e-6)


def test_linear_learner_errors_and_default_accept(linear_learner_server, features):
    container, _ = linear_learner_server
    status, headers, body = container.invoke(csv_rows(features[:1]), "text/csv")
    assert status == 200 and headers["content-type"] == "application/json"
    assert set(json.loads(body)["predictions"][0]) == {"score", "predicted_label"}
    status, _, body = container.invoke("1,2", "text/csv")
    assert status == 400 and b"expects 6 features" in body
    status, _, body = container.invoke("1 0:1", "text/libsvm")
    assert status == 415 and b"Linear Learner" in body
    status, _, body = container.invoke("{not json", "application/json")
    assert status == 400 and b"not valid JSON" in body
