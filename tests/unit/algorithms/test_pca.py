"""The PCA library on arrays: components, singular values and projections against
scikit-learn's PCA (in AWS's ascending order, up to sign), streaming over mini-batches,
randomized mode against scikit-learn's randomized_svd, the model file, hyperparameter
validation, the serving handlers and the metric definitions."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.utils.extmath import randomized_svd

from kamado.algorithms import recordio
from kamado.algorithms.log import JobLog
from kamado.algorithms.pca import fit, inference, load_model, metric_definitions, validate
from kamado.images.program import ClientError
from kamado.serving.errors import BadRequestError, UnsupportedAcceptError


@pytest.fixture(scope="module")
def digits():
    return load_digits().data.astype(np.float32)


def up_to_sign(got, expected):
    """``got`` with each column's sign turned to agree with ``expected``."""
    signs = np.sign(np.sum(np.asarray(got) * np.asarray(expected), axis=0))
    return np.asarray(got) * signs


def test_regular_equals_scikit_learn_in_ascending_order(digits):
    model = fit(digits, {"num_components": "10", "mini_batch_size": "128"})
    reference = PCA(10, svd_solver="full").fit(digits.astype(np.float64))
    assert model.s == pytest.approx(reference.singular_values_[::-1], rel=1e-10)
    assert list(model.s) == sorted(model.s)  # the most significant component last
    assert up_to_sign(model.v, reference.components_[::-1].T) == \
        pytest.approx(reference.components_[::-1].T, abs=1e-10)
    expected = reference.transform(digits.astype(np.float64))[:, ::-1]
    assert up_to_sign(model.project(digits), expected) == pytest.approx(expected, abs=1e-8)
    # scikit-learn's sign rule too: each component's largest entry positive
    assert np.all(model.v[np.abs(model.v).argmax(axis=0), np.arange(10)] > 0)


def test_mini_batches_and_a_large_mean_change_nothing(digits):
    shifted = digits.astype(np.float64) + 1e4
    models = [fit(shifted, {"num_components": "5", "mini_batch_size": size})
              for size in ("1", "7", "100000")]
    for other in models[1:]:
        assert other.v == pytest.approx(models[0].v, abs=1e-7)
        assert other.s == pytest.approx(models[0].s, rel=1e-9)
    reference = PCA(5, svd_solver="full").fit(digits.astype(np.float64))
    assert models[0].s == pytest.approx(reference.singular_values_[::-1], rel=1e-8)
    assert models[0].mean.ravel() == pytest.approx(reference.mean_ + 1e4, rel=1e-12)


def test_without_subtract_mean_the_data_is_not_centred(digits):
    model = fit(digits, {"num_components": "3", "mini_batch_size": "500",
                         "subtract_mean": "false"})
    assert model.mean is None
    _, s, vt = np.linalg.svd(digits.astype(np.float64), full_matrices=False)
    assert model.s == pytest.approx(s[:3][::-1], rel=1e-9)
    expected = digits.astype(np.float64) @ vt[:3][::-1].T
    assert up_to_sign(model.project(digits), expected) == pytest.approx(expected, rel=1e-7)


def test_randomized_is_scikit_learns_randomized_svd(digits):
    model = fit(digits, {"num_components": "6", "mini_batch_size": "100",
                         "algorithm_mode": "randomized"})
    centred = digits - digits.mean(axis=0, dtype=np.float64).astype(np.float32)
    _, s, vt = randomized_svd(centred, 6, n_oversamples=10, random_state=0)
    assert model.s == pytest.approx(s[::-1], rel=1e-6)
    assert up_to_sign(model.v, vt[::-1].T) == pytest.approx(vt[::-1].T, abs=1e-6)
    exact = fit(digits, {"num_components": "6", "mini_batch_size": "100"})
    assert model.s == pytest.approx(exact.s, rel=1e-4)
    # extra_components is the oversampling; -1 means max(10, num_components)
    big = fit(digits, {"num_components": "12", "mini_batch_size": "100",
                       "algorithm_mode": "randomized", "extra_components": "-1"})
    _, s12, _ = randomized_svd(centred, 12, n_oversamples=12, random_state=0)
    assert big.s == pytest.approx(s12[::-1], rel=1e-6)


def test_sparse_records_equal_dense_ones():
    X = sp.random(300, 40, density=0.1, format="csr", random_state=0, dtype=np.float32)
    dense = fit(X.toarray(), {"num_components": "4", "mini_batch_size": "64"})
    sparse = fit(X, {"num_components": "4", "mini_batch_size": "64"})
    assert sparse.v == pytest.approx(dense.v, abs=1e-9)
    assert sparse.project(X) == pytest.approx(dense.project(X.toarray()), abs=1e-9)


def test_model_file_round_trip(tmp_path, digits):
    model = fit(digits, {"num_components": "4", "mini_batch_size": "100"})
    model.save(tmp_path)
    again = load_model(tmp_path)
    assert np.array_equal(again.v, model.v.astype(np.float32))
    with np.load(tmp_path / "model_algo-1") as archive:  # AWS's names and shapes
        assert archive["v"].shape == (64, 4)
        assert archive["s"].shape == (4,)
        assert archive["mean"].shape == (1, 64)
    fit(digits, {"num_components": "4", "mini_batch_size": "100",
                 "subtract_mean": "False"}).save(tmp_path)
    with np.load(tmp_path / "model_algo-1") as archive:
        assert "mean" not in archive.files
    (tmp_path / "other").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a kamado PCA model"):
        load_model(tmp_path / "other")


def test_defaults():
    assert validate({"feature_dim": "5", "mini_batch_size": "10", "num_components": "2"}) == {
        "feature_dim": 5, "mini_batch_size": 10, "num_components": 2,
        "algorithm_mode": "regular", "subtract_mean": True, "extra_components": -1}


@pytest.mark.parametrize("changes, words", [
    ({"num_components": None}, "num_components is required"),
    ({"mini_batch_size": None}, "mini_batch_size is required"),
    ({"num_components": "6"}, "larger than feature_dim 5"),
    ({"algorithm_mode": "fast"}, "allowed values: regular, randomized"),
    ({"subtract_mean": "yes"}, "allowed values: true, false"),
    ({"extra_components": "-3"}, "-1 (the larger of 10 and num_components)"),
    ({"extra_components": "2.5"}, "extra_components"),
    ({"k": "3"}, "k is not a hyperparameter of PCA"),
])
def test_bad_hyperparameters(changes, words):
    base = {"feature_dim": "5", "mini_batch_size": "10", "num_components": "2"}
    raw = {k: v for k, v in {**base, **changes}.items() if v is not None}
    with pytest.raises(ClientError) as err:
        validate(raw)
    assert words in str(err.value)


def test_handlers(digits):
    model = fit(digits, {"num_components": "3", "mini_batch_size": "100"})
    X = digits[:4]
    expected = model.project(X)
    buf = io.BytesIO()
    recordio.write_records(buf, X)
    bodies = {
        "text/csv": "\n".join(",".join(map(repr, row.tolist())) for row in X).encode(),
        "application/json": json.dumps({"instances": [{"features": r.tolist()} for r in X]}),
        "application/jsonlines": "\n".join(json.dumps({"data": {"features": {
            "values": r.tolist()}}}) for r in X),
        "application/x-recordio-protobuf": buf.getvalue(),
    }
    for content_type, body in bodies.items():
        prediction = inference.predict_fn(inference.input_fn(body, content_type), model)
        assert np.array([p["projection"] for p in prediction]) == pytest.approx(expected)
    prediction = inference.predict_fn(inference.input_fn(bodies["text/csv"], None), model)
    body, mime = inference.output_fn(prediction, None)
    assert mime == "application/json"
    assert np.array([p["projection"] for p in json.loads(body)["projections"]]) == \
        pytest.approx(expected)
    body, _ = inference.output_fn(prediction, "application/jsonlines")
    assert np.array([json.loads(line)["projection"] for line in body.decode().splitlines()]) \
        == pytest.approx(expected)
    body, _ = inference.output_fn(prediction, "application/x-recordio-protobuf")
    records = list(recordio.read_records(io.BytesIO(body)))
    assert np.array([r["label"]["projection"]["values"] for r in records]) == \
        pytest.approx(expected, rel=1e-6)
    with pytest.raises(UnsupportedAcceptError):
        inference.output_fn(prediction, "text/csv")
    with pytest.raises(BadRequestError, match="expects 64 features"):
        inference.predict_fn(inference.input_fn(b"1,2\n", "text/csv"), model)


def test_metric_definitions_read_the_job_log_lines():
    out = io.StringIO()
    log = JobLog(stream=out)
    log.progress(100)
    log.throughput(99.5)
    found = {d["Name"]: float(re.search(d["Regex"], out.getvalue()).group(1))
             for d in metric_definitions()}
    assert found == {"train:progress": 100.0, "train:throughput": 99.5}
