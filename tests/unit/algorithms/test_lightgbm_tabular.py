"""The JumpStart LightGBM built-in as a library and as a job, and what it shares with CatBoost
(kamado.algorithms.tabular): channels, categorical_index.json, the task rule, the hold-out,
the inference shapes, the JumpStart route's recognition."""

from __future__ import annotations

import io
import json
import re

import lightgbm as lgb
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris

from kamado.algorithms import lightgbm_tabular as L
from kamado.algorithms.lightgbm_tabular import inference
from kamado.algorithms.lightgbm_tabular.definitions import metric_definitions
from kamado.algorithms.lightgbm_tabular.hyperparameters import DEFAULTS, library_params
from kamado.algorithms.lightgbm_tabular.job import train
from kamado.algorithms.tabular import task as tasks
from kamado.algorithms.tabular.data import Split, hold_out, read_training
from kamado.algorithms.tabular.model import algorithm_of
from kamado.images.environment import TrainingEnvironment
from kamado.images.program import ClientError
from kamado.images.registry import ImageRegistry, jumpstart_algorithm
from kamado.serving.errors import BadRequestError, UnsupportedAcceptError, UnsupportedFormatError


def csv(X, y=None) -> bytes:
    data = np.asarray(X) if y is None else np.column_stack([y, X])
    buf = io.StringIO()
    np.savetxt(buf, data, delimiter=",", fmt="%.10g")
    return buf.getvalue().encode()


def env_with(tmp_path, files: dict[str, bytes], hp: dict | None = None,
             content_type: str | None = "text/csv") -> TrainingEnvironment:
    """``files``: "channel/relative/path" -> bytes."""
    config = {}
    for name, body in files.items():
        path = tmp_path / "input" / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        config.setdefault(name.split("/")[0], {"ContentType": content_type} if content_type
                          else {})
    return TrainingEnvironment(tmp_path, hyperparameters=hp or {}, input_data_config=config)


# --- hyperparameters ----------------------------------------------------------------------------
def test_defaults_are_aws_documented_ones():
    hp = L.validate_hyperparameters({})
    assert hp == DEFAULTS
    assert (hp["num_boost_round"], hp["early_stopping_rounds"], hp["learning_rate"],
            hp["num_leaves"], hp["max_depth"], hp["boosting"]) == (100, 10, 0.1, 64, 6, "gbdt")


@pytest.mark.parametrize("raw, words", [
    ({"boosting": "xgboost"}, ["boosting", "gbdt, rf, dart, goss"]),
    ({"learning_rate": "1.5"}, ["learning_rate", "(0, 1)"]),
    ({"learning_rate": "0"}, ["learning_rate"]),
    ({"num_leaves": "1"}, ["num_leaves"]),
    ({"metric": "mse"}, ["metric", "rmse, l1"]),
    ({"tweedie_variance_power": "2"}, ["tweedie_variance_power", "[1, 2)"]),
    ({"is_unbalance": "maybe"}, ["is_unbalance", "true, false"]),
    ({"eta": "0.1"}, ["eta is not a hyperparameter of LightGBM"]),
])
def test_invalid_hyperparameters_name_what_is_allowed(raw, words):
    with pytest.raises(ClientError) as err:
        L.validate_hyperparameters(raw)
    for word in words:
        assert word in str(err.value)


def test_library_params_keep_binary_settings_for_binary_only():
    hp = L.validate_hyperparameters({"is_unbalance": "True", "metric": "auc"})
    assert library_params(hp, tasks.BINARY, 2)["metric"] == "auc"
    assert "scale_pos_weight" not in library_params(hp, tasks.BINARY, 2)
    regression = library_params(L.validate_hyperparameters({}), tasks.REGRESSION, 0)
    assert regression["metric"] == "rmse" and "is_unbalance" not in regression
    assert library_params(L.validate_hyperparameters({}), tasks.MULTICLASS, 4)["num_class"] == 4


# --- the task rule ------------------------------------------------------------------------------
def test_task_from_labels_metric_and_jumpstart_source():
    ints = np.array([0, 1, 1, 0], float)
    many = np.arange(100, dtype=float)
    assert tasks.decide(ints, jumpstart=None, metric_kind=None, algorithm="x") == tasks.BINARY
    assert tasks.decide(np.array([0, 1, 2.]), jumpstart=None, metric_kind=None,
                        algorithm="x") == tasks.MULTICLASS
    assert tasks.decide(many, jumpstart=None, metric_kind=None, algorithm="x") == \
        tasks.REGRESSION
    assert tasks.decide(np.array([.5, 1.5]), jumpstart=None, metric_kind=None,
                        algorithm="x") == tasks.REGRESSION
    # an explicit choice wins over the labels
    assert tasks.decide(ints, jumpstart="regression", metric_kind=None, algorithm="x") == \
        tasks.REGRESSION
    assert tasks.decide(ints, jumpstart=None, metric_kind=tasks.REGRESSION,
                        algorithm="x") == tasks.REGRESSION
    assert tasks.decide(many[:30], jumpstart="classification", metric_kind=None,
                        algorithm="x") == tasks.MULTICLASS
    with pytest.raises(ClientError, match="at least two classes"):
        tasks.decide(np.ones(4), jumpstart="classification", metric_kind=None, algorithm="x")


def test_jumpstart_sources_are_recognised():
    source = ("s3://jumpstart-cache-prod-eu-west-1/source-directory-tarballs/lightgbm/"
              "transfer_learning/regression/v1.1.2/sourcedir.tar.gz")
    assert tasks.jumpstart_source({"sagemaker_submit_directory": json.dumps(source)}) == \
        ("lightgbm", "regression")
    assert jumpstart_algorithm({"sagemaker_submit_directory": source}) == "lightgbm"
    assert jumpstart_algorithm({"sagemaker_submit_directory": source.replace(
        "lightgbm", "catboost")}) == "catboost"
    assert jumpstart_algorithm({"sagemaker_submit_directory": "s3://mine/sourcedir.tar.gz"}) \
        is None
    assert jumpstart_algorithm({}) is None


def test_registry_runs_kamados_lightgbm_for_a_jumpstart_job(tmp_path):
    registry = ImageRegistry(tmp_path)
    source = ("s3://jumpstart-cache-prod-us-east-1/source-directory-tarballs/lightgbm/"
              "transfer_learning/classification/v2.1.3/sourcedir.tar.gz")
    uri = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.9.0-cpu-py38"
    image = registry.resolve_training(uri, "us-east-1", {"sagemaker_submit_directory": source})
    assert image.name == "lightgbm"
    assert registry.resolve("lightgbm", "us-east-1").name == "lightgbm"
    assert registry.resolve("catboost", "us-east-1").name == "catboost"
    # another image with the same tarball is left alone
    assert registry.resolve_training("linear-learner", "us-east-1",
                                     {"sagemaker_submit_directory": source}).name == \
        "linear-learner"


# --- data ---------------------------------------------------------------------------------------
def test_hold_out_is_20_percent_and_repeatable():
    split = Split(np.arange(50, dtype=np.float32).reshape(-1, 1), np.arange(50, dtype=np.float32))
    tr, va = hold_out(split)
    tr2, va2 = hold_out(split)
    assert va.X.shape[0] == 10 and tr.X.shape[0] == 40
    assert np.array_equal(va.y, va2.y)
    assert sorted(np.concatenate([tr.y, va.y])) == list(range(50))


def test_categorical_index_beside_the_data(tmp_path):
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.randint(0, 5, 200), rng.rand(200)])
    y = (X[:, 0] % 2 == 0).astype(float)
    env = env_with(tmp_path, {"training/data.csv": csv(X, y),
                              "training/categorical_index.json":
                                  json.dumps({"cat_index_list": [1]}).encode()})
    data = read_training(env, "LightGBM")
    assert data.categorical == [0] and data.held_out
    model = L.fit({"num_boost_round": "10"}, data.train.X, data.train.y,
                  validation=(data.validation.X, data.validation.y),
                  categorical=data.categorical)
    assert model.info.categorical == [0]
    assert model.booster.dump_model()["feature_infos"]["Column_0"]["values"]  # categorical


@pytest.mark.parametrize("body, words", [
    (b'{"cat_index_list": [0]}', ["column 0 is not a feature column"]),
    (b'{"cat_index_list": [3]}', ["column 3 is not a feature column"]),
    (b'{"cats": [1]}', ["cat_index_list"]),
])
def test_bad_categorical_index(tmp_path, body, words):
    env = env_with(tmp_path, {"train/data.csv": b"1,2,3\n0,4,5\n1,2,3\n",
                              "train/categorical_index.json": body})
    with pytest.raises(ClientError) as err:
        read_training(env, "LightGBM")
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize("files, content_type, words", [
    ({"train/a.csv": b"1,2\n", "training/b.csv": b"1,2\n"}, "text/csv", ["both train"]),
    ({"validation/a.csv": b"1,2\n"}, "text/csv", ["requires a training channel"]),
    ({"test/a.csv": b"1,2\n", "train/a.csv": b"1,2\n"}, "text/csv", ["Channel test"]),
    ({"train/a.csv": b"1,2\n"}, "application/x-recordio-protobuf", ["use text/csv"]),
    ({"train/a.csv": b"1,2\n0,x\n"}, "text/csv", ["a.csv", "line 2", "not numeric"]),
    ({"train/a.csv": b"1\n0\n"}, "text/csv", ["a.csv", "not enough for a label"]),
])
def test_bad_channels_and_files(tmp_path, files, content_type, words):
    with pytest.raises(ClientError) as err:
        read_training(env_with(tmp_path, files, content_type=content_type), "LightGBM")
    for word in words:
        assert word in str(err.value)


# --- the job --------------------------------------------------------------------------------------
def test_job_logs_the_metric_aws_regex_reads_and_saves_joblib(tmp_path, capsys):
    X, y = load_iris(return_X_y=True)
    env = env_with(tmp_path, {"train/d.csv": csv(X[::2], y[::2]),
                              "validation/d.csv": csv(X[1::2], y[1::2])},
                   {"num_boost_round": "15", "verbosity": "-1"})
    train(env)
    log = capsys.readouterr().out
    definition = metric_definitions({})
    regex = {d["Name"]: d["Regex"] for d in definition}["lightgbm-classification:multi-log-loss"]
    values = [float(v) for v in re.findall(regex, log)]
    import joblib

    booster = joblib.load(env.model_dir / "model.pkl")
    assert isinstance(booster, lgb.Booster)
    assert values[-1] == pytest.approx(booster.best_score["validation"]["multi_logloss"],
                                       rel=1e-5)
    assert algorithm_of(env.model_dir) == "lightgbm"
    assert metric_definitions({"metric": "auc"}) == [
        {"Name": "lightgbm-classification:auc", "Regex": "auc: ([0-9\\.]+)"}]


def test_labels_are_any_class_values_and_come_back_as_given():
    X, y = load_breast_cancer(return_X_y=True)
    labels = np.where(y == 1, 7.0, 3.0)
    model = L.fit({"num_boost_round": "5"}, X[::2], labels[::2],
                  validation=(X[1::2], labels[1::2]))
    assert model.info.classes == [3.0, 7.0] and model.info.task == "binary"
    body, mime = inference.output_fn(inference.predict_fn(X[:4].astype(np.float32), model),
                                     "application/json;verbose")
    answer = json.loads(body)
    assert answer["labels"] == [3, 7]
    assert set(answer["predicted_label"]) <= {3, 7}
    assert len(answer["probabilities"]) == 4 and isinstance(answer["probabilities"][0], float)


def test_validation_labels_unknown_to_training_are_refused():
    X = np.arange(20, dtype=float).reshape(-1, 1)
    with pytest.raises(ClientError, match="label 5"):
        L.fit({}, X[:10], np.array([0, 1] * 5), validation=(X[10:], np.array([5] * 10)))


# --- inference ----------------------------------------------------------------------------------
def test_inference_handlers(tmp_path):
    X, y = load_iris(return_X_y=True)
    L.fit({"num_boost_round": "5"}, X[::2], y[::2],
          validation=(X[1::2], y[1::2])).save(tmp_path)
    model = inference.model_fn(tmp_path)
    rows = inference.input_fn(csv(X[:3]), "text/csv")
    body, mime = inference.output_fn(inference.predict_fn(rows, model), None)
    assert mime == "application/json"
    assert np.asarray(json.loads(body)["probabilities"]).shape == (3, 3)
    assert "labels" not in json.loads(body)
    with pytest.raises(UnsupportedFormatError):
        inference.input_fn(b'{"instances": []}', "application/json")
    with pytest.raises(BadRequestError, match="4 features"):
        inference.predict_fn(inference.input_fn(b"1,2\n", "text/csv"), model)
    with pytest.raises(UnsupportedAcceptError):
        inference.output_fn(inference.predict_fn(rows, model), "text/csv")
    empty = tmp_path / "empty"
    empty.mkdir()
    from kamado.serving.errors import ModelLoadError

    with pytest.raises(ModelLoadError):
        inference.model_fn(empty)


def test_a_pytorch_inference_model_of_kamados_lightgbm_is_served_by_it(tmp_path):
    registry = ImageRegistry(tmp_path / "home")
    uri = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.0.1-cpu-py310"
    X, y = load_iris(return_X_y=True)
    L.fit({"num_boost_round": "3"}, X[::2], y[::2],
          validation=(X[1::2], y[1::2])).save(tmp_path / "model")
    assert registry.resolve_model(uri, "us-east-1", {}, tmp_path / "model").name == "lightgbm"
    source = ("s3://jumpstart-cache-prod-us-east-1/source-directory-tarballs/catboost/"
              "inference/regression/v1.1.2/sourcedir.tar.gz")
    assert registry.resolve_model(uri, "us-east-1", {"SAGEMAKER_SUBMIT_DIRECTORY": source}
                                  ).name == "catboost"
    assert registry.resolve_model("lightgbm", "us-east-1").name == "lightgbm"


def test_goss_runs_with_aws_defaults_and_refuses_bagging_asked_for():
    X, y = load_iris(return_X_y=True)
    model = L.fit({"num_boost_round": "3", "boosting": "goss", "verbosity": "-1"}, X[::2],
                  y[::2], validation=(X[1::2], y[1::2]), callbacks=[])
    assert model.info.task == "multiclass"
    with pytest.raises(ClientError, match="LightGBM refused the job's settings: .*GOSS"):
        L.fit({"num_boost_round": "3", "boosting": "goss", "bagging_freq": "2"}, X[::2],
              y[::2], validation=(X[1::2], y[1::2]), callbacks=[])
