"""The K-Means library on arrays: inertia against scikit-learn's KMeans, the streaming and
reduction settings, the model file, hyperparameter validation, the serving handlers and the
metric definitions."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, load_iris, load_wine

from kamado.algorithms import recordio
from kamado.algorithms.kmeans import fit, inference, load_model, metric_definitions, validate
from kamado.algorithms.kmeans.hyperparameters import extra_center_factor, local_lloyd_num_trials
from kamado.algorithms.log import JobLog
from kamado.images.program import ClientError
from kamado.serving.errors import BadRequestError, UnsupportedAcceptError, UnsupportedFormatError


def standardised(loader):
    X = loader().data.astype(np.float64)
    return ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)


def inertia(X, k):
    return KMeans(k, n_init=10, random_state=0).fit(X.astype(np.float64)).inertia_


@pytest.mark.parametrize("name, k, settings", [
    ("digits", 10, {}),
    ("digits", 10, {"init_method": "kmeans++", "mini_batch_size": "300", "epochs": "3"}),
    ("iris", 3, {}),
    ("wine", 3, {"local_lloyd_init_method": "random", "local_lloyd_num_trials": "5"}),
])
def test_inertia_within_two_percent_of_scikit_learn(name, k, settings):
    X = load_digits().data.astype(np.float32) if name == "digits" else \
        standardised(load_iris if name == "iris" else load_wine)
    model = fit(X, {"k": str(k), **settings})
    assert model.centroids.shape == (k, X.shape[1])
    assert model.score(X, "ssd") <= 1.02 * inertia(X, k)


def test_same_data_same_model():
    X = load_digits().data.astype(np.float32)
    assert np.array_equal(fit(X, {"k": "5"}).centroids, fit(X, {"k": "5"}).centroids)


def test_decay_and_tiny_mini_batches_still_cluster():
    X = standardised(load_iris)
    model = fit(X, {"k": "3", "mini_batch_size": "10", "half_life_time_size": "30",
                    "epochs": "2"})
    assert model.score(X, "ssd") <= 1.2 * inertia(X, 3)
    assert not np.array_equal(model.centroids, fit(X, {"k": "3", "mini_batch_size": "10",
                                                        "epochs": "2"}).centroids)


def test_decay_forgets_old_records():
    X = np.random.default_rng(0).normal(size=(2000, 2)).astype(np.float32)
    # one cluster: without decay its centre is exactly the mean of all records
    assert fit(X, {"k": "1", "mini_batch_size": "50"}).centroids[0] == \
        pytest.approx(X.mean(axis=0), abs=1e-5)
    # with a half-life of one record only the last mini-batches count
    recent = fit(X, {"k": "1", "mini_batch_size": "50", "half_life_time_size": "1"})
    assert np.abs(recent.centroids[0] - X.mean(axis=0)).max() > 0.05


def test_duplicate_records_fewer_than_the_extra_centres():
    X = np.repeat(np.array([[0, 0], [5, 5], [9, 0]], np.float32), 20, axis=0)
    model = fit(X, {"k": "3"})
    centres = sorted(map(tuple, np.round(model.centroids, 5).tolist()))
    assert centres == [(0, 0), (5, 5), (9, 0)]
    assert model.score(X, "ssd") == pytest.approx(0, abs=1e-6)


def test_k_larger_than_the_records_is_a_client_error():
    with pytest.raises(ClientError, match="k: value 5 is larger than the number of training "
                                          r"records \(4\)"):
        fit(np.zeros((4, 2), np.float32), {"k": "5"})


def test_predictions_are_the_nearest_centre_and_its_euclidean_distance():
    X = load_digits().data.astype(np.float32)
    model = fit(X, {"k": "4"})
    closest, distance = model.predict_arrays(X)
    brute = np.linalg.norm(X[:, None, :].astype(np.float64) - model.centroids[None], axis=2)
    assert np.array_equal(closest, brute.argmin(axis=1))
    assert distance == pytest.approx(brute.min(axis=1), rel=1e-6, abs=1e-6)
    sparse_closest, sparse_distance = model.predict_arrays(sp.csr_matrix(X))
    assert np.array_equal(sparse_closest, closest)
    assert sparse_distance == pytest.approx(distance, rel=1e-9, abs=1e-9)
    assert model.score(X, "msd") == pytest.approx(np.mean(distance ** 2), rel=1e-9)
    first = model.predict(X[:1])[0]
    assert first == {"closest_cluster": float(closest[0]),
                     "distance_to_cluster": pytest.approx(distance[0])}


def test_model_file_round_trip(tmp_path):
    model = fit(standardised(load_iris), {"k": "3", "eval_metrics": '["ssd"]'})
    model.save(tmp_path)
    again = load_model(tmp_path)
    assert np.array_equal(again.centroids, model.centroids)
    assert again.hyperparameters["eval_metrics"] == ["ssd"]
    with np.load(tmp_path / "model_algo-1") as archive:  # plain arrays, no pickle
        assert archive["centroids"].shape == (3, 4)
    (tmp_path / "other").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a kamado K-Means model"):
        load_model(tmp_path / "other")


@pytest.mark.parametrize("raw, expected", [
    ('["msd", "ssd"]', ["msd", "ssd"]),   # the Python SDK: json.dumps
    ("[ssd, msd]", ["ssd", "msd"]),       # the Spark SDK
    ("['msd']", ["msd"]),
    ("ssd", ["ssd"]),
])
def test_eval_metrics_in_every_client_spelling(raw, expected):
    assert validate({"feature_dim": "2", "k": "2", "eval_metrics": raw})["eval_metrics"] == \
        expected


def test_defaults_and_the_sdk_hyperparameters():
    hp = validate({"feature_dim": "3", "k": "2", "force_dense": "True",
                   "_tuning_objective_metric": "test:msd"})
    assert hp == {"feature_dim": 3, "k": 2, "mini_batch_size": 5000, "epochs": 1,
                  "init_method": "random", "extra_center_factor": "auto",
                  "local_lloyd_init_method": "kmeans++", "local_lloyd_max_iter": 300,
                  "local_lloyd_num_trials": "auto", "local_lloyd_tol": 0.0001,
                  "half_life_time_size": 0, "eval_metrics": ["msd"], "force_dense": True}
    assert extra_center_factor(hp, 100) == 10
    assert extra_center_factor(hp, 10 ** 6) == 14
    assert extra_center_factor({**hp, "extra_center_factor": 4}, 10 ** 6) == 4
    assert local_lloyd_num_trials(hp, 20) == 50   # small reductions: many restarts
    assert local_lloyd_num_trials({**hp, "k": 1000, "feature_dim": 100}, 14000) == 10
    assert local_lloyd_num_trials({**hp, "local_lloyd_num_trials": 3}, 20) == 3


@pytest.mark.parametrize("changes, words", [
    ({"k": None}, "k is required"),
    ({"feature_dim": None}, "feature_dim is required"),
    ({"k": "0"}, "k: value 0 is not in [1, inf]"),
    ({"init_method": "k-means++"}, "allowed values: random, kmeans++"),
    ({"extra_center_factor": "1.5"}, "auto or an integer"),
    ({"local_lloyd_tol": "2"}, "not in [0, 1]"),
    ({"half_life_time_size": "-1"}, "half_life_time_size"),
    ({"eval_metrics": '["msd", "mse"]'}, "a JSON list of msd and ssd"),
    ({"eval_metrics": "[]"}, "eval_metrics"),
    ({"num_clusters": "3"}, "num_clusters is not a hyperparameter of K-Means"),
])
def test_bad_hyperparameters(changes, words):
    raw = {k: v for k, v in {"feature_dim": "2", "k": "2", **changes}.items() if v is not None}
    with pytest.raises(ClientError) as err:
        validate(raw)
    assert words in str(err.value)


@pytest.fixture(scope="module")
def model():
    return fit(standardised(load_iris), {"k": "3"})


def test_handlers_read_every_request_type(model):
    X = standardised(load_iris)[:5]
    closest, distance = model.predict_arrays(X)
    buf = io.BytesIO()
    recordio.write_records(buf, X)
    bodies = {
        "text/csv": "\n".join(",".join(map(repr, row.tolist())) for row in X).encode(),
        "application/json": json.dumps({"instances": [{"features": r.tolist()} for r in X]}),
        "application/jsonlines": "\n".join(json.dumps({"features": r.tolist()}) for r in X),
        "application/x-recordio-protobuf": buf.getvalue(),
    }
    for content_type, body in bodies.items():
        got = inference.predict_fn(inference.input_fn(body, content_type), model)
        assert np.array_equal(got[0], closest)
        assert got[1] == pytest.approx(distance, rel=1e-6)


def test_handlers_write_every_response_type(model):
    prediction = (np.array([2, 0]), np.array([1.5, 0.25]))
    body, mime = inference.output_fn(prediction, "text/csv")
    assert (body, mime) == (b"2.0,1.5\n0.0,0.25\n", "text/csv")
    body, mime = inference.output_fn(prediction, None)
    assert mime == "application/json"
    assert json.loads(body) == {"predictions": [
        {"closest_cluster": 2.0, "distance_to_cluster": 1.5},
        {"closest_cluster": 0.0, "distance_to_cluster": 0.25}]}
    body, _ = inference.output_fn(prediction, "application/jsonlines")
    assert [json.loads(line)["closest_cluster"] for line in body.decode().splitlines()] == \
        [2.0, 0.0]
    body, _ = inference.output_fn(prediction, "application/x-recordio-protobuf")
    records = list(recordio.read_records(io.BytesIO(body)))
    assert records[0]["label"]["closest_cluster"]["values"].tolist() == [2.0]
    assert records[1]["label"]["distance_to_cluster"]["values"].tolist() == [0.25]
    with pytest.raises(UnsupportedAcceptError):
        inference.output_fn(prediction, "application/x-npy")


def test_handlers_refuse_bad_requests(model):
    with pytest.raises(BadRequestError, match="expects 4 features"):
        inference.predict_fn(inference.input_fn(b"1,2,3\n", "text/csv"), model)
    with pytest.raises(BadRequestError, match="missing or infinite"):
        inference.predict_fn(inference.input_fn(b"1,2,,4\n", "text/csv"), model)
    with pytest.raises(BadRequestError, match="line 1"):
        inference.input_fn(b"1,2,x,4\n", "text/csv")
    with pytest.raises(UnsupportedFormatError):
        inference.input_fn(b"1 0:1", "text/libsvm")


def test_metric_definitions_read_the_job_log_lines():
    out = io.StringIO()
    log = JobLog(stream=out)
    log.quality("test", "msd", "loss", 1.25)
    log.quality("test", "ssd", "loss", 250.5)
    log.quality("train", "msd", "loss", 1.5)
    log.progress(100)
    log.throughput(1234.5)
    text = out.getvalue()
    found = {d["Name"]: float(re.search(d["Regex"], text).group(1))
             for d in metric_definitions()}
    assert found == {"test:msd": 1.25, "test:ssd": 250.5, "train:msd": 1.5,
                     "train:progress": 100.0, "train:throughput": 1234.5}
