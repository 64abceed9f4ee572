"""The JumpStart CatBoost built-in as a library and as a job (what it shares with LightGBM is
tested in test_lightgbm_tabular.py). Iterations are kept small: CatBoost is slow to start."""

from __future__ import annotations

import io
import json
import re

import catboost
import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris

from kamado.algorithms import catboost_tabular as C
from kamado.algorithms.catboost_tabular import inference
from kamado.algorithms.catboost_tabular.definitions import metric_definitions
from kamado.algorithms.catboost_tabular.hyperparameters import DEFAULTS, library_params
from kamado.algorithms.catboost_tabular.job import train
from kamado.algorithms.tabular import task as tasks
from kamado.images.environment import TrainingEnvironment
from kamado.images.program import ClientError
from kamado.serving.errors import BadRequestError, UnsupportedFormatError


def csv(X, y=None) -> bytes:
    data = np.asarray(X) if y is None else np.column_stack([y, X])
    buf = io.StringIO()
    np.savetxt(buf, data, delimiter=",", fmt="%.10g")
    return buf.getvalue().encode()


def env_with(tmp_path, files: dict[str, bytes], hp: dict | None = None) -> TrainingEnvironment:
    config = {}
    for name, body in files.items():
        path = tmp_path / "input" / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        config.setdefault(name.split("/")[0], {"ContentType": "text/csv"})
    return TrainingEnvironment(tmp_path, hyperparameters=hp or {}, input_data_config=config)


def test_defaults_are_aws_documented_ones():
    hp = C.validate_hyperparameters({})
    assert hp == DEFAULTS
    assert (hp["iterations"], hp["early_stopping_rounds"], hp["learning_rate"], hp["depth"],
            hp["max_bin"], hp["grow_policy"], hp["random_seed"]) == \
        (500, 5, 0.009, 6, "Auto", "SymmetricTree", 1)
    assert C.validate_hyperparameters({"max_bin": "254"})["max_bin"] == 254


@pytest.mark.parametrize("raw, words", [
    ({"boosting_type": "Fast"}, ["boosting_type", "Auto, Ordered, Plain"]),
    ({"learning_rate": "1.5"}, ["learning_rate", "(0, 1)"]),
    ({"depth": "17"}, ["depth", "[1, 16]"]),
    ({"max_leaves": "65"}, ["max_leaves", "[2, 64]"]),
    ({"max_bin": "70000"}, ["max_bin", "Auto"]),
    ({"grow_policy": "Oblivious"}, ["grow_policy", "Lossguide"]),
    ({"eval_metric": "Quantile"}, ["eval_metric", "MultiClass"]),
    ({"thread_count": "0"}, ["thread_count", "-1"]),
    ({"loss_function": "RMSE"}, ["loss_function is not a hyperparameter of CatBoost"]),
])
def test_invalid_hyperparameters_name_what_is_allowed(raw, words):
    with pytest.raises(ClientError) as err:
        C.validate_hyperparameters(raw)
    for word in words:
        assert word in str(err.value)


def test_library_params_pass_policy_bound_settings_only_where_catboost_takes_them():
    symmetric = library_params(C.validate_hyperparameters({}), tasks.MULTICLASS)
    assert "max_leaves" not in symmetric and "min_data_in_leaf" not in symmetric
    assert symmetric["loss_function"] == symmetric["eval_metric"] == "MultiClass"
    assert "scale_pos_weight" not in symmetric and "border_count" not in symmetric
    lossguide = library_params(C.validate_hyperparameters(
        {"grow_policy": "Lossguide", "max_bin": "64", "eval_metric": "AUC"}), tasks.BINARY)
    assert (lossguide["max_leaves"], lossguide["min_data_in_leaf"], lossguide["border_count"],
            lossguide["eval_metric"], lossguide["scale_pos_weight"]) == (31, 1, 64, "AUC", 1.0)


def test_the_eval_metric_decides_the_task():
    X, y = load_iris(return_X_y=True)
    model = C.fit({"iterations": "5", "eval_metric": "RMSE", "verbose": "0"}, X[::2], y[::2],
                  validation=(X[1::2], y[1::2]))
    assert model.info.task == tasks.REGRESSION


def test_job_prints_best_test_and_saves_catboost_format(tmp_path, capsys):
    X, y = load_diabetes(return_X_y=True)
    env = env_with(tmp_path, {"training/d.csv": csv(X, y)},
                   {"iterations": "15", "learning_rate": "0.2", "verbose": "0"})
    train(env)
    log = capsys.readouterr().out
    regex = metric_definitions({})[0]["Regex"]
    value = float(re.findall(regex, log)[-1])
    saved = catboost.CatBoostRegressor()
    saved.load_model(str(env.model_dir / "model.cbm"))
    assert value == pytest.approx(saved.get_best_score()["validation"]["RMSE"], rel=1e-6)
    assert json.loads((env.model_dir / "kamado-tabular.json").read_text())["task"] == \
        "regression"
    assert metric_definitions({"eval_metric": "RMSE"}) == [
        {"Name": "catboost-regression:rmse", "Regex": r"bestTest = ([0-9\.]+)"}]


def test_categorical_columns_reach_catboost_as_categories(tmp_path):
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.randint(0, 4, 200), rng.rand(200)])
    y = (X[:, 0] >= 2).astype(float)
    model = C.fit({"iterations": "10", "verbose": "0", "learning_rate": "0.3"}, X[:150], y[:150],
                  validation=(X[150:], y[150:]), categorical=[0])
    assert model.model.get_cat_feature_indices() == [0]
    model.save(tmp_path)
    loaded = inference.model_fn(tmp_path)
    assert np.allclose(C.predict(loaded, X[:5]), C.predict(model, X[:5]))


def test_inference_handlers(tmp_path):
    X, y = load_iris(return_X_y=True)
    C.fit({"iterations": "5", "verbose": "0"}, X[::2], y[::2],
          validation=(X[1::2], y[1::2])).save(tmp_path)
    model = inference.model_fn(tmp_path)
    rows = inference.input_fn(csv(X[:3]), "text/csv")
    body, mime = inference.output_fn(inference.predict_fn(rows, model),
                                     "application/json;verbose")
    answer = json.loads(body)
    assert np.asarray(answer["probabilities"]).shape == (3, 3)
    assert answer["labels"] == [0, 1, 2] and len(answer["predicted_label"]) == 3
    with pytest.raises(UnsupportedFormatError):
        inference.input_fn(b"{}", "application/jsonlines")
    with pytest.raises(BadRequestError, match="4 features"):
        inference.predict_fn(inference.input_fn(b"1,2,3,4,5\n", "text/csv"), model)
