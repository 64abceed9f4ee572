"""The k-NN library on arrays: answers against scikit-learn's nearest neighbours, every index
type and metric, the dimension reductions, the tie rule, the model file, hyperparameter
validation, the serving handlers and the metric definitions."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestNeighbors

from kamado.algorithms.knn import fit, load_model, majority, validate
from kamado.algorithms.knn import inference
from kamado.algorithms.knn.definitions import metric_definitions
from kamado.algorithms.knn.reduction import Projection, _hadamard
from kamado.algorithms.log import JobLog
from kamado.images.program import ClientError
from kamado.serving.errors import BadRequestError, UnsupportedAcceptError

BASE = {"feature_dim": "64", "k": "5", "sample_size": "5000", "predictor_type": "classifier"}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X.astype(np.float32), y.astype(np.float32), test_size=0.3,
                            random_state=0)


def hp(**changes):
    return validate({**BASE, **changes})


def test_flat_l2_equals_scikit_learn_with_the_nearest_tie_rule(digits):
    Xtr, Xte, ytr, yte = digits
    for k in (1, 4, 10):
        got = fit(Xtr, ytr, hp(k=str(k))).predict_labels(Xte)
        reference = KNeighborsClassifier(k).fit(Xtr, ytr)
        rows = reference.kneighbors(Xte, return_distance=False)
        assert np.array_equal(got, [majority(ytr[r]) for r in rows])
        sk = reference.predict(Xte)
        # rows without a tie are answered as scikit-learn answers them
        untied = [np.sum(np.bincount(ytr[r].astype(int)) ==
                         np.bincount(ytr[r].astype(int)).max()) == 1 for r in rows]
        assert np.array_equal(got[untied], sk[untied])


def test_majority_breaks_ties_by_the_nearest_label():
    assert majority(np.array([2.0, 1.0, 1.0, 2.0], np.float32)) == 2.0
    assert majority(np.array([3.0, 1.0, 2.0], np.float32)) == 3.0
    assert majority(np.array([3.0, 1.0, 1.0], np.float32)) == 1.0


def test_regressor_is_the_mean_of_the_neighbours(digits):
    Xtr, Xte, ytr, _ = digits
    # Digits' integer pixels tie many distances, and faiss and scikit-learn may then pick
    # different (equally near) neighbours; a little noise makes the neighbours unique.
    rng = np.random.default_rng(0)
    Xtr = Xtr + rng.normal(scale=1e-2, size=Xtr.shape).astype(Xtr.dtype)
    Xte = Xte + rng.normal(scale=1e-2, size=Xte.shape).astype(Xte.dtype)
    got = fit(Xtr, ytr, hp(predictor_type="regressor", k="6")).predict_labels(Xte)
    expected = KNeighborsRegressor(6).fit(Xtr, ytr).predict(Xte)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize("changes", [
    {"index_type": "faiss.IVFFlat"}, {"index_type": "faiss.IVFFlat", "index_metric": "COSINE"},
    {"index_type": "faiss.IVFPQ", "faiss_index_pq_m": "16"},
    {"index_type": "faiss.IVFFlat", "faiss_index_ivf_nlists": "10"},
    {"dimension_reduction_type": "sign", "dimension_reduction_target": "32"},
    {"dimension_reduction_type": "fjlt", "dimension_reduction_target": "32"}])
def test_approximate_indexes_and_reductions_keep_most_of_the_accuracy(digits, changes):
    Xtr, Xte, ytr, yte = digits
    exact = np.mean(fit(Xtr, ytr, hp()).predict_labels(Xte) == yte)
    got = np.mean(fit(Xtr, ytr, hp(**changes)).predict_labels(Xte) == yte)
    assert got >= exact - 0.03


def test_cosine_neighbours_are_scikit_learns(digits):
    Xtr, Xte, ytr, _ = digits
    model = fit(Xtr, ytr, hp(index_metric="COSINE"))
    distances, labels = model.search(Xte[:50])
    rows = NearestNeighbors(n_neighbors=5, metric="cosine").fit(Xtr).kneighbors(
        Xte[:50], return_distance=False)
    assert np.array_equal(labels, ytr[rows])
    assert (np.diff(distances, axis=1) <= 1e-6).all()  # similarities, largest first


def test_inner_product_neighbours_have_the_largest_dot_products(digits):
    Xtr, Xte, ytr, _ = digits
    distances, _ = fit(Xtr, ytr, hp(index_metric="INNER_PRODUCT")).search(Xte[:50])
    largest = -np.sort(-(Xte[:50].astype(np.float64) @ Xtr.T), axis=1)[:, :5]
    np.testing.assert_allclose(distances, largest, rtol=1e-5)


def test_cosine_leaves_the_callers_rows_as_they_were(digits):
    """faiss normalizes in place; the rows a job or a request hands over stay unchanged."""
    Xtr, Xte = digits[0].copy(), digits[1][:20].copy()
    model = fit(Xtr, digits[2], hp(index_metric="COSINE"))
    model.search(Xte)
    assert np.array_equal(Xtr, digits[0]) and np.array_equal(Xte, digits[1][:20])
    assert not np.allclose(np.linalg.norm(Xtr, axis=1), 1.0)


def test_sample_size_indexes_a_sample(digits):
    Xtr, _, ytr, _ = digits
    model = fit(Xtr, ytr, hp(sample_size="300"))
    assert model.index.ntotal == 300 and len(model.labels) == 300
    again = fit(Xtr, ytr, hp(sample_size="300"))
    assert np.array_equal(model.labels, again.labels)  # a fixed seed


def test_projections_preserve_distances_roughly():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 200)).astype(np.float32)
    original = np.linalg.norm(X[:, None] - X[None], axis=2)[np.triu_indices(40, 1)]
    for kind in ("sign", "fjlt"):
        Z = Projection.draw(kind, 200, 100).apply(X)
        assert Z.shape == (40, 100)
        projected = np.linalg.norm(Z[:, None] - Z[None], axis=2)[np.triu_indices(40, 1)]
        assert np.abs(projected / original - 1).max() < 0.5
        assert abs(np.mean(projected / original) - 1) < 0.1


def test_hadamard_is_orthonormal():
    H = _hadamard(np.eye(8))
    np.testing.assert_allclose(H @ H.T, np.eye(8), atol=1e-12)


@pytest.mark.parametrize("changes", [
    {}, {"dimension_reduction_type": "fjlt", "dimension_reduction_target": "20"},
    {"index_type": "faiss.IVFPQ", "index_metric": "L2"},
    {"dimension_reduction_type": "sign", "dimension_reduction_target": "16",
     "index_metric": "COSINE"}])
def test_model_file_round_trip(digits, tmp_path, changes):
    Xtr, Xte, ytr, _ = digits
    model = fit(Xtr, ytr, hp(**changes))
    model.save(tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.predict(Xte, verbose=True) == model.predict(Xte, verbose=True)


def test_a_model_written_before_the_index_was_streamed_still_loads(digits, tmp_path):
    """Models of earlier kamado versions hold the index as a uint8 array
    (faiss.serialize_index); they serve as they did."""
    import json

    import faiss

    Xtr, Xte, ytr, _ = digits
    model = fit(Xtr, ytr, hp())
    with open(tmp_path / "model_algo-1", "wb") as fh:
        np.savez(fh, index=faiss.serialize_index(model.index), labels=model.labels,
                 settings=np.frombuffer(json.dumps(model.settings).encode(), np.uint8))
    assert load_model(tmp_path).predict(Xte, verbose=True) == model.predict(Xte, verbose=True)


def test_load_model_rejects_other_files(tmp_path):
    (tmp_path / "model_algo-1").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a kamado k-NN model"):
        load_model(tmp_path)


@pytest.mark.parametrize("changes, message", [
    ({"predictor_type": "ranker"}, "predictor_type: value 'ranker' is not valid; allowed values: "
     "classifier, regressor"),
    ({"k": "0"}, "k: value 0 is not in [1, inf]"),
    ({"index_type": "faiss.HNSW"}, "allowed values: faiss.Flat, faiss.IVFFlat, faiss.IVFPQ"),
    ({"index_type": "faiss.IVFPQ", "index_metric": "COSINE"}, "not valid with index_type "
     "faiss.IVFPQ; allowed values: L2"),
    ({"dimension_reduction_type": "fjlt"}, "dimension_reduction_target is required"),
    ({"dimension_reduction_target": "4"}, "dimension_reduction_type is not"),
    ({"dimension_reduction_type": "sign", "dimension_reduction_target": "64"},
     "not smaller than feature_dim 64"),
    ({"index_type": "faiss.IVFPQ", "faiss_index_pq_m": "5"}, "allowed values: 1, 2, 3, 4, 8"),
    ({"index_type": "faiss.IVFPQ", "faiss_index_pq_m": "3"}, "does not divide the indexed "
     "dimension 64"),
    ({"faiss_index_pq_m": "4"}, "applies only to index_type faiss.IVFPQ"),
    ({"faiss_index_ivf_nlists": "many"}, "auto or an integer"),
    ({"epochs": "3"}, "epochs is not a hyperparameter of k-NN"),
])
def test_invalid_hyperparameters(changes, message):
    with pytest.raises(ClientError) as err:
        hp(**changes)
    assert message in str(err.value)


def test_required_hyperparameters_and_defaults():
    for name in ("feature_dim", "k", "sample_size", "predictor_type"):
        with pytest.raises(ClientError, match=f"{name} is required"):
            validate({k: v for k, v in BASE.items() if k != name})
    got = hp()
    assert (got["index_type"], got["index_metric"], got["mini_batch_size"],
            got["faiss_index_ivf_nlists"]) == ("faiss.Flat", "L2", 5000, "auto")
    assert hp(index_type="faiss.IVFPQ")["faiss_index_pq_m"] == 16


def test_too_many_lists_is_a_client_error(digits):
    Xtr, _, ytr, _ = digits
    with pytest.raises(ClientError, match="faiss_index_ivf_nlists"):
        fit(Xtr[:50], ytr[:50], hp(index_type="faiss.IVFFlat", faiss_index_ivf_nlists="100"))


def test_handlers(digits, tmp_path):
    Xtr, Xte, ytr, _ = digits
    fit(Xtr, ytr, hp()).save(tmp_path)
    model = inference.model_fn(tmp_path)
    body = "\n".join(",".join(f"{v:g}" for v in row) for row in Xte[:3]).encode()
    X = inference.input_fn(body, "text/csv")
    assert X.shape == (3, 64)
    labelled = "\n".join("7," + ",".join(f"{v:g}" for v in row) for row in Xte[:3]).encode()
    np.testing.assert_array_equal(inference.input_fn(labelled, "text/csv; label_size=1"), X)
    records = inference.predict_fn(X, model)
    plain, mime = inference.output_fn(records, "application/json")
    assert mime == "application/json" and b"distances" not in plain
    verbose, _ = inference.output_fn(records, "application/json; verbose=true")
    assert b'"distances"' in verbose and b'"labels"' in verbose
    with pytest.raises(UnsupportedAcceptError):
        inference.output_fn(records, "text/csv")
    with pytest.raises(BadRequestError, match="expects 64 features"):
        inference.predict_fn(X[:, :10], model)
    sparse = sp.csr_matrix(X[:, :40])  # sparse rows may stop at their last non-zero feature
    assert len(inference.predict_fn(sparse, model)) == 3


def test_test_score_lines_match_the_metric_definitions(capsys):
    log = JobLog()
    log.score("test", "accuracy", 0.97)
    log.quality("test", "accuracy", "score", 0.97)
    log.quality("test", "mse", "loss", 2.5)
    out = capsys.readouterr().out
    assert "#test_score (algo-1) : ('accuracy', 0.97)" in out
    found = {d["Name"]: re.search(d["Regex"], out).group(1) for d in metric_definitions()}
    assert found == {"test:accuracy": "0.97", "test:mse": "2.5"}
    assert [d["Name"] for d in metric_definitions({"predictor_type": "regressor"})] == ["test:mse"]
