"""Factorization Machines as a library: the model's formula, its gradients, training quality,
hyperparameters, the artifact, metrics and their MetricDefinitions, and the inference
handlers."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import accuracy_score, f1_score, log_loss

from kamado.algorithms import recordio
from kamado.algorithms.factorization_machines import fit, load_model, validate
from kamado.algorithms.factorization_machines import inference
from kamado.algorithms.factorization_machines.definitions import metric_definitions
from kamado.algorithms.factorization_machines.metrics import evaluate
from kamado.algorithms.factorization_machines.model import FMModel, raw_scores
from kamado.algorithms.factorization_machines.trainer import gradients, initial
from kamado.algorithms.log import JobLog
from kamado.images.program import ClientError
from kamado.serving.errors import BadRequestError, UnsupportedFormatError

BASE = {"feature_dim": "6", "num_factors": "3", "predictor_type": "binary_classifier"}


def brute_force(X, w0, w, V):
    """y by the definition: every pair of features once."""
    X = np.asarray(X.toarray() if sp.issparse(X) else X, np.float64)
    out = w0 + X @ w
    for i in range(X.shape[1]):
        for j in range(i + 1, X.shape[1]):
            out += (V[i] @ V[j]) * X[:, i] * X[:, j]
    return out


def random_params(d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return 0.3, rng.normal(size=d), rng.normal(size=(d, k))


def test_scores_are_the_pairwise_interaction_model():
    w0, w, V = random_params()
    X = sp.random(20, 6, density=0.5, random_state=1, format="csr")
    np.testing.assert_allclose(raw_scores(X, w0, w, V), brute_force(X, w0, w, V), rtol=1e-9)
    np.testing.assert_allclose(raw_scores(X.toarray(), w0, w, V), brute_force(X, w0, w, V))
    model = FMModel(w0, w, V, {"predictor_type": "binary_classifier"})
    np.testing.assert_allclose(model.scores(X), 1 / (1 + np.exp(-brute_force(X, w0, w, V))))


@pytest.mark.parametrize("binary", [True, False])
def test_gradients_match_finite_differences(binary):
    w0, w, V = random_params(seed=2)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(8, 6))
    y = (rng.random(8) < 0.5).astype(float) if binary else rng.normal(size=8)

    def loss(w0, w, V):
        raw = brute_force(X, w0, w, V)
        if binary:
            p = 1 / (1 + np.exp(-raw))
            return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        return np.mean(0.5 * (raw - y) ** 2)

    _, g_b, g_w, g_v = gradients(X, y, w0, w, V, binary)
    h = 1e-6
    assert g_b == pytest.approx((loss(w0 + h, w, V) - loss(w0 - h, w, V)) / (2 * h), rel=1e-4)
    for i in (0, 4):
        step = np.zeros(6)
        step[i] = h
        assert g_w[i] == pytest.approx((loss(w0, w + step, V) - loss(w0, w - step, V)) / (2 * h),
                                       rel=1e-4, abs=1e-7)
        dv = np.zeros_like(V)
        dv[i, 1] = h
        assert g_v[i, 1] == pytest.approx((loss(w0, w, V + dv) - loss(w0, w, V - dv)) / (2 * h),
                                          rel=1e-4, abs=1e-7)


def interactions(rows, seed):
    """Labels that only a factor model can get right: x_a · x_b interactions of one-hots."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(10, size=rows), rng.integers(10, size=rows)
    truth = np.random.default_rng(0).normal(size=(10, 2)), np.random.default_rng(1).normal(
        size=(10, 2))
    logit = 2 * np.einsum("ij,ij->i", truth[0][a], truth[1][b])
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    X = sp.csr_matrix((np.ones(2 * rows, np.float32), (np.repeat(np.arange(rows), 2),
                                                       np.column_stack([a, 10 + b]).ravel())),
                      shape=(rows, 20))
    return X, y


def test_training_learns_interactions_a_linear_model_cannot():
    (X, y), (Xt, yt) = interactions(6000, 1), interactions(2000, 2)
    hp = validate({**BASE, "feature_dim": "20", "num_factors": "4", "epochs": "10",
                   "mini_batch_size": "100", "factors_lr": "0.02", "linear_lr": "0.02",
                   "factors_init_sigma": "0.05"})
    model = fit(X, y, hp)
    linear = fit(X, y, {**hp, "factors_lr": 0.0, "factors_init_method": "constant"})
    base = log_loss(yt, np.full(len(yt), y.mean()))
    assert log_loss(yt, model.scores(Xt)) < log_loss(yt, linear.scores(Xt)) - 0.05
    assert log_loss(yt, model.scores(Xt)) < base - 0.05
    again = fit(X, y, hp)  # a fixed seed: reruns repeat
    np.testing.assert_array_equal(again.V, model.V)
    dense = fit(X.toarray(), y, hp)  # dense rows train too
    assert log_loss(yt, dense.scores(Xt)) < base - 0.05


def test_training_logs_aws_lines_that_the_metric_definitions_read():
    X, y = interactions(500, 3)
    stream = io.StringIO()
    fit(X, y, validate({**BASE, "feature_dim": "20", "epochs": "2"}), log=JobLog(stream=stream))
    text = stream.getvalue()
    values = {}
    for d in metric_definitions(BASE):
        found = re.findall(d["Regex"], text)
        if found:
            values[d["Name"]] = float(found[-1])
    assert values["train:progress"] == 100
    assert {"train:throughput", "train:binary_classification_accuracy",
            "train:binary_classification_cross_entropy"} <= set(values)
    names = {d["Name"] for d in metric_definitions({"predictor_type": "regressor"})}
    assert "test:rmse" in names and "test:binary_f_beta" not in names
    assert {"test:rmse", "test:binary_f_beta"} <= {d["Name"] for d in metric_definitions()}
    line = "[x INFO 1] #quality_metric: host=algo-1, test binary_f_1.000 <score>=0.75"
    regex = next(d["Regex"] for d in metric_definitions(BASE)
                 if d["Name"] == "test:binary_f_beta")
    assert re.search(regex, line).group(1) == "0.75"


def test_evaluate_agrees_with_scikit_learn():
    rng = np.random.default_rng(4)
    y, p = (rng.random(200) < 0.4).astype(float), rng.random(200)
    got = {name: value for name, _, value in evaluate(p, y, True)}
    assert got["binary_classification_accuracy"] == pytest.approx(accuracy_score(y, p >= 0.5))
    assert got["binary_classification_cross_entropy"] == pytest.approx(log_loss(y, p))
    assert got["binary_f_1.000"] == pytest.approx(f1_score(y, p >= 0.5))
    rmse = np.sqrt(np.mean((p - y) ** 2))
    assert evaluate(p, y, False) == [("rmse", "loss", pytest.approx(rmse))]


def test_hyperparameters_defaults_and_refusals():
    hp = validate(BASE)
    assert (hp["epochs"], hp["mini_batch_size"], hp["bias_lr"], hp["linear_lr"],
            hp["factors_lr"]) == (1, 1000, 0.1, 0.001, 0.0001)
    assert (hp["bias_wd"], hp["linear_wd"], hp["factors_wd"]) == (0.01, 0.001, 0.00001)
    assert hp["factors_init_method"] == "normal" and hp["factors_init_sigma"] == 0.001
    assert validate({**BASE, "clip_gradient": "0"})["clip_gradient"] is None
    for raw, named in (({**BASE, "predictor_type": "multiclass_classifier"}, "predictor_type"),
                       ({**BASE, "linear_init_method": "xavier"}, "linear_init_method"),
                       ({**BASE, "factors_lr": "-1"}, "factors_lr"),
                       ({**BASE, "num_factors": "0"}, "num_factors"),
                       ({**BASE, "learning_rate": "0.1"}, "learning_rate"),
                       ({"feature_dim": "6", "num_factors": "3"}, "predictor_type")):
        with pytest.raises(ClientError, match=named):
            validate(raw)


def test_init_methods():
    rng = np.random.default_rng(0)
    hp = validate({**BASE, "linear_init_method": "uniform", "linear_init_scale": "0.5",
                   "factors_init_method": "constant", "factors_init_value": "0.25"})
    linear = initial(rng, hp, "linear", (1000,))
    assert linear.min() >= -0.5 and linear.max() <= 0.5 and linear.std() > 0.2
    assert (initial(rng, hp, "factors", (4, 3)) == 0.25).all()
    assert initial(rng, hp, "bias", (5000,)).std() == pytest.approx(0.01, rel=0.1)


def test_artifact_round_trip(tmp_path):
    X, y = interactions(300, 5)
    model = fit(X, y, validate({**BASE, "feature_dim": "20"}))
    model.save(tmp_path)
    loaded = load_model(tmp_path)
    np.testing.assert_array_equal(loaded.scores(X), model.scores(X))
    (tmp_path / "model_algo-1").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a kamado Factorization Machines model"):
        load_model(tmp_path)


def _model(predictor="binary_classifier"):
    w0, w, V = random_params()
    return FMModel(w0, w.astype(np.float32), V.astype(np.float32),
                   {"predictor_type": predictor, "feature_dim": 6, "num_factors": 3})


def test_inference_reads_json_and_recordio_and_refuses_csv():
    model = _model()
    X = np.eye(6, dtype=np.float32)[:2]
    expected = model.scores(X)
    request = {"instances": [{"data": {"features": {"keys": [0], "shape": [6], "values": [1]}}},
                             {"features": X[1].tolist()}]}
    got = inference.predict_fn(inference.input_fn(json.dumps(request).encode(),
                                                  "application/json"), model)
    assert [p["score"] for p in got] == pytest.approx(expected.tolist(), rel=1e-6)
    assert [p["predicted_label"] for p in got] == [int(s >= 0.5) for s in expected]
    buf = io.BytesIO()
    recordio.write_records(buf, sp.csr_matrix(X))
    got = inference.predict_fn(inference.input_fn(buf.getvalue(), None), model)
    body, mime = inference.output_fn(got, "application/x-recordio-protobuf")
    records = list(recordio.read_records(io.BytesIO(body)))
    assert mime == "application/x-recordio-protobuf"
    assert [r["label"]["score"]["values"][0] for r in records] == pytest.approx(expected.tolist(),
                                                                                rel=1e-6)
    assert {"score", "predicted_label"} == set(records[0]["label"])
    body, mime = inference.output_fn(got, "application/jsonlines")
    assert [json.loads(line) for line in body.decode().splitlines()] == got
    for content_type in ("text/csv", "application/jsonlines"):
        with pytest.raises(UnsupportedFormatError):
            inference.input_fn(b"1,0,0,0,0,0\n", content_type)
    with pytest.raises(BadRequestError, match="feature_dim"):
        inference.predict_fn(np.ones((1, 7), np.float32), model)
    with pytest.raises(BadRequestError, match="missing or infinite"):
        inference.predict_fn(np.full((1, 6), np.nan, np.float32), model)


def test_a_regressor_answers_a_score_only():
    got = _model("regressor").predict(np.eye(6, dtype=np.float32)[:1])
    assert list(got[0]) == ["score"]


def _recordio(X, y=None) -> bytes:
    buf = io.BytesIO()
    recordio.write_records(buf, X, y)
    return buf.getvalue()


@pytest.mark.parametrize("labelled", [True, False])
def test_the_fast_sparse_reader_reads_what_the_general_reader_reads(labelled):
    from kamado.algorithms.sparse_recordio import read_sparse

    rng = np.random.default_rng(3)
    counts = rng.integers(1, 8, 500)  # no empty rows: the fast reader leaves them to the other
    keys = rng.integers(0, 300_000, counts.sum())  # one- to three-byte varints
    X = sp.csr_matrix((rng.normal(size=counts.sum()).astype(np.float32), keys,
                       np.r_[0, np.cumsum(counts)]), shape=(500, 300_000))
    y = rng.random(500).astype(np.float32) if labelled else None
    body = _recordio(X, y)
    fast, general = read_sparse(body), recordio.read_arrays(body)
    assert fast[0].shape == general[0].shape and (fast[0] != general[0]).nnz == 0
    assert fast[0].dtype == np.float32
    if labelled:
        np.testing.assert_array_equal(fast[1], general[1])
    else:
        assert fast[1] is None and general[1] is None


def test_the_fast_sparse_reader_leaves_other_layouts_to_the_general_reader():
    from kamado.algorithms.sparse_recordio import read_sparse

    one = sp.csr_matrix(np.array([[0, 2.0, 0], [1.0, 0, 3.0]], np.float32))
    body = _recordio(one, np.array([1, 0], np.float32))
    assert read_sparse(body) is not None
    assert read_sparse(_recordio(np.ones((2, 3), np.float32))) is None            # dense
    assert read_sparse(_recordio(sp.csr_matrix(np.array([[0, 1.0], [0, 0]], np.float32)))) \
        is None                                                                    # empty row
    assert read_sparse(_recordio(one.astype(np.float64))) is None                 # Float64
    assert read_sparse(body[:-6]) is None                                          # truncated
    assert read_sparse(b"") is None


@pytest.mark.parametrize("gzipped", [False, True])
def test_only_the_first_record_is_read_to_check_the_tensor_type(tmp_path, gzipped):
    import gzip

    from kamado.algorithms.factorization_machines.job import _first_frame

    buf = io.BytesIO()
    recordio.write_records(buf, np.arange(6, dtype=np.float64).reshape(3, 2), np.zeros(3))
    body = buf.getvalue()
    path = tmp_path / "part"
    path.write_bytes(gzip.compress(body) if gzipped else body)
    record = recordio.decode_record(_first_frame(path))
    assert record["features"]["values"]["values"].dtype == np.float64
    assert list(record["features"]["values"]["values"]) == [0.0, 1.0]
    (tmp_path / "empty").write_bytes(b"")
    assert _first_frame(tmp_path / "empty") is None
