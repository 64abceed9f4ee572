"""The built-in algorithms' handlers in-process: AWS's response shapes for each objective /
predictor type, the selectable outputs of XGBoost, and their errors."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import xgboost as xgb

from kamado.algorithms import recordio
from kamado.algorithms.linear_learner import inference as ll
from kamado.algorithms.linear_learner.model import LinearModel
from kamado.algorithms.xgboost import inference as xi
from kamado.algorithms.xgboost.callbacks import save
from kamado.serving.errors import (BadRequestError, ModelLoadError, NoContentError, UnsupportedAcceptError,
                                   UnsupportedFormatError)

RNG = np.random.default_rng(3)
X = RNG.normal(size=(120, 4)).astype(np.float32)


def xgb_model(tmp_path, params, y, name="xgboost-model", rounds=5):
    booster = xgb.train({**params, "seed": 1}, xgb.DMatrix(X, label=y), rounds)
    tmp_path.mkdir(exist_ok=True)
    save(booster, tmp_path / name)
    return booster


def csv(rows) -> bytes:
    return "\n".join(",".join(f"{v:.9g}" for v in r) for r in rows).encode()


def run(module, model, body, content_type, accept):
    return module.output_fn(module.predict_fn(module.input_fn(body, content_type), model), accept)


@pytest.fixture
def binary(tmp_path, monkeypatch):
    for var in ("SAGEMAKER_INFERENCE_OUTPUT", "SAGEMAKER_BATCH", "SAGEMAKER_INFERENCE_ENSEMBLE"):
        monkeypatch.delenv(var, raising=False)
    booster = xgb_model(tmp_path, {"objective": "binary:logistic"}, (X[:, 0] > 0).astype(float))
    return booster, tmp_path


def test_xgboost_default_outputs_per_accept(binary):
    booster, model_dir = binary
    model = xi.model_fn(model_dir)
    expected = booster.predict(xgb.DMatrix(X[:3]))
    body, ctype = run(xi, model, csv(X[:3]), "text/csv", "text/csv")
    assert ctype == "text/csv"
    np.testing.assert_allclose([float(v) for v in body.decode().split(",")], expected, atol=1e-6)
    body, _ = run(xi, model, csv(X[:3]), "text/csv", "application/json")
    assert [p["score"] for p in json.loads(body)["predictions"]] == pytest.approx(expected, abs=1e-6)
    body, _ = run(xi, model, csv(X[:3]), "text/csv", "application/jsonlines")
    assert [json.loads(line)["score"] for line in body.splitlines()] == pytest.approx(expected,
                                                                                    abs=1e-6)
    body, _ = run(xi, model, csv(X[:3]), "text/csv", "application/x-recordio-protobuf")
    scores = [r["label"]["score"]["values"][0] for r in recordio.read_records(io.BytesIO(body))]
    assert scores == pytest.approx(expected, abs=1e-6)


def test_xgboost_batch_csv_is_one_prediction_per_line(binary, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_BATCH", "true")
    model = xi.model_fn(binary[1])
    body, _ = run(xi, model, csv(X[:3]), "text/csv", "text/csv")
    assert body.endswith(b"\n") and len(body.splitlines()) == 3


def test_xgboost_selectable_outputs(binary, monkeypatch):
    booster, model_dir = binary
    monkeypatch.setenv("SAGEMAKER_INFERENCE_OUTPUT", "predicted_label, probabilities,predicted_score")
    model = xi.model_fn(model_dir)
    p = float(booster.predict(xgb.DMatrix(X[:1]))[0])
    body, _ = run(xi, model, csv(X[:1]), "text/csv", "application/json")
    record = json.loads(body)["predictions"][0]
    assert record["predicted_label"] == int(p > 0.5)
    assert record["probabilities"] == pytest.approx([1 - p, p], abs=1e-6)
    assert np.isnan(record["predicted_score"])  # not a key of binary:logistic, as AWS
    body, _ = run(xi, model, csv(X[:1]), "text/csv", "text/csv")
    label, probs, score = body.decode().split(",", 1)[0], body.decode().split('"')[1], \
        body.decode().rsplit(",", 1)[1]
    assert label == str(int(p > 0.5)) and probs.startswith("[") and score == "nan"


def test_xgboost_softprob_scores_are_lists(tmp_path, monkeypatch):
    monkeypatch.delenv("SAGEMAKER_INFERENCE_OUTPUT", raising=False)
    y = np.digitize(X[:, 0], [-0.5, 0.5])
    booster = xgb_model(tmp_path, {"objective": "multi:softprob", "num_class": 3}, y)
    model = xi.model_fn(tmp_path)
    expected = booster.predict(xgb.DMatrix(X[:2]))
    body, _ = run(xi, model, csv(X[:2]), "text/csv", "application/json")
    scores = [p["score"] for p in json.loads(body)["predictions"]]
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    body, _ = run(xi, model, csv(X[:2]), "text/csv", "text/csv")
    np.testing.assert_allclose(np.loadtxt(io.StringIO(body.decode()), delimiter=","), expected,
                               atol=1e-6)


def test_xgboost_ensemble_averages_the_fold_models(tmp_path, monkeypatch):
    monkeypatch.delenv("SAGEMAKER_INFERENCE_ENSEMBLE", raising=False)
    y = X[:, 1] * 2.0
    a = xgb_model(tmp_path, {"objective": "reg:squarederror"}, y, "xgboost-model-0", 3)
    b = xgb_model(tmp_path, {"objective": "reg:squarederror"}, y, "xgboost-model-1", 6)
    model = xi.model_fn(tmp_path)
    got = xi.predict_fn(xi.input_fn(csv(X[:4]), "text/csv"), model)
    expected = (a.predict(xgb.DMatrix(X[:4])) + b.predict(xgb.DMatrix(X[:4]))) / 2
    np.testing.assert_allclose(got, expected, atol=1e-6)
    monkeypatch.setenv("SAGEMAKER_INFERENCE_ENSEMBLE", "false")
    assert len(xi.model_fn(tmp_path).boosters) == 1


def test_xgboost_libsvm_and_recordio_requests(binary):
    booster, model_dir = binary
    model = xi.model_fn(model_dir)
    expected = booster.predict(xgb.DMatrix(X[:2]))
    libsvm = "\n".join("1 " + " ".join(f"{j}:{v:.9g}" for j, v in enumerate(r)) for r in X[:2])
    got = xi.predict_fn(xi.input_fn(libsvm.encode(), "text/x-libsvm"), model)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    buf = io.BytesIO()
    recordio.write_records(buf, X[:2])
    got = xi.predict_fn(xi.input_fn(buf.getvalue(), "application/x-recordio-protobuf"), model)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_xgboost_errors(binary, tmp_path):
    model = xi.model_fn(binary[1])
    with pytest.raises(NoContentError):
        xi.input_fn(b"", "text/csv")
    with pytest.raises(UnsupportedFormatError, match="application/json"):
        xi.input_fn(b"[1]", "application/json")
    with pytest.raises(UnsupportedFormatError, match="Loading text/csv data failed"):
        xi.input_fn(b"1,a,3,4", "text/csv")
    with pytest.raises(BadRequestError, match="expects 4 features.*has 5.*label column"):
        xi.predict_fn(xi.input_fn(b"1,1,2,3,4", "text/csv"), model)
    with pytest.raises(UnsupportedAcceptError):
        run(xi, model, csv(X[:1]), "text/csv", "application/x-npy")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match="No xgboost-model file"):
        xi.model_fn(empty)


# --- Linear Learner ----------------------------------------------------------------------------------
def ll_model(tmp_path, predictor_type, outputs, loss="logistic", num_classes=2):
    w = RNG.normal(size=(4, outputs))
    model = LinearModel(predictor_type, w, RNG.normal(size=outputs), loss, 0.5, num_classes)
    model.save(tmp_path)
    return ll.model_fn(tmp_path)


@pytest.mark.parametrize("kind,outputs,keys", [
    ("binary_classifier", 1, {"score", "predicted_label"}),
    ("multiclass_classifier", 3, {"score", "predicted_label"}),
    ("regressor", 1, {"score"})])
def test_linear_learner_response_shapes(tmp_path, kind, outputs, keys):
    model = ll_model(tmp_path, kind, outputs, "softmax_loss" if outputs > 1 else
                     ("squared_loss" if kind == "regressor" else "logistic"), max(outputs, 2))
    expected = model.predict(X[:2])
    body, ctype = run(ll, model, csv(X[:2]), "text/csv", "application/json")
    predictions = json.loads(body)["predictions"]
    assert ctype == "application/json" and predictions == expected
    assert all(set(p) == keys for p in predictions)
    if kind == "multiclass_classifier":
        assert len(predictions[0]["score"]) == 3
    body, _ = run(ll, model, csv(X[:2]), "text/csv", "application/jsonlines")
    assert [json.loads(line) for line in body.splitlines()] == expected
    body, _ = run(ll, model, csv(X[:2]), "text/csv", "application/x-recordio-protobuf")
    records = list(recordio.read_records(io.BytesIO(body)))
    assert set(records[0]["label"]) == keys and records[0]["features"] == {}


def test_linear_learner_json_requests_and_errors(tmp_path):
    model = ll_model(tmp_path, "binary_classifier", 1)
    sparse = {"instances": [{"data": {"features": {"keys": [0, 2], "shape": [4],
                                                   "values": [1.0, 2.0]}}}]}
    got = ll.predict_fn(ll.input_fn(json.dumps(sparse).encode(), "application/json"), model)
    assert got == model.predict(np.array([[1.0, 0, 2.0, 0]]))
    with pytest.raises(BadRequestError, match="expects 4 features"):
        ll.predict_fn(ll.input_fn(b"1,2", "text/csv"), model)
    with pytest.raises(BadRequestError, match="missing"):
        ll.predict_fn(ll.input_fn(b"1,,2,3", "text/csv"), model)
    with pytest.raises(UnsupportedFormatError):
        ll.input_fn(b"1 0:1", "text/libsvm")
    with pytest.raises(UnsupportedAcceptError, match="application/json"):
        ll.output_fn([{"score": 1.0}], "text/csv")
