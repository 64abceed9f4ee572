"""LightGBM as AWS's JumpStart LightGBM trains it: ``lightgbm.train`` on the training rows,
the validation rows driving early stopping and the logged metric; the booster saved with
joblib (``model.pkl``), as AWS saves it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kamado.algorithms.lightgbm_tabular.hyperparameters import (ALGORITHM, library_params,
                                                                 metric_kind, validate)
from kamado.algorithms.tabular.model import ModelInfo, load_info
from kamado.algorithms.tabular.task import REGRESSION, decide, encode_labels
from kamado.images.program import ClientError

FILE = "model.pkl"


@dataclass
class LightGBMModel:
    booster: object  # lightgbm.Booster
    info: ModelInfo

    def save(self, directory: Path) -> Path:
        import joblib

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / FILE
        joblib.dump(self.booster, path)
        self.info.save(directory)
        return path


def fit(hyperparameters: dict, X, y, *, validation: tuple, categorical=(),
        jumpstart_task: str | None = None, callbacks=None) -> LightGBMModel:
    """Train on arrays; ``validation=(X_val, y_val)`` drives early stopping and the metric
    (the job holds 20 % of the training rows out when there is no validation channel).
    ``categorical``: feature indexes. Raises ClientError for what the user can fix."""
    import lightgbm as lgb

    hp = validate(hyperparameters)
    X, y = np.asarray(X), np.asarray(y, np.float64)
    X_val, y_val = np.asarray(validation[0]), np.asarray(validation[1], np.float64)
    task = decide(y, jumpstart=jumpstart_task, metric_kind=metric_kind(hp["metric"]),
                  algorithm=ALGORITHM)
    classes = [] if task == REGRESSION else np.unique(y)
    if task != REGRESSION:
        y, y_val = encode_labels(y, classes, "train"), encode_labels(y_val, classes, "validation")
    params = library_params(hp, task, len(classes), given=hyperparameters)
    cats = list(categorical) or "auto"
    train_set = lgb.Dataset(X, y, categorical_feature=cats, free_raw_data=True)
    valid_set = lgb.Dataset(X_val, y_val, categorical_feature=cats, reference=train_set)
    if callbacks is None:
        callbacks = default_callbacks(hp)
    try:
        booster = lgb.train(params, train_set, num_boost_round=hp["num_boost_round"],
                            valid_sets=[valid_set], valid_names=["validation"],
                            callbacks=callbacks)
    except lgb.basic.LightGBMError as exc:
        raise ClientError(f"LightGBM refused the job's settings: {exc}") from None
    info = ModelInfo("lightgbm", task, int(X.shape[1]), [float(c) for c in classes],
                     list(categorical))
    return LightGBMModel(booster, info)


def default_callbacks(hp: dict) -> list:
    """LightGBM's own evaluation log (``[7]\tvalidation's rmse: 3.2``) and early stopping:
    the lines AWS's metric regex ``<metric>: ([0-9\\.]+)`` reads."""
    import lightgbm as lgb

    callbacks = [lgb.log_evaluation(period=1)]
    if hp["early_stopping_rounds"] > 0:
        callbacks.append(lgb.early_stopping(hp["early_stopping_rounds"], verbose=True))
    return callbacks


def predict(model: LightGBMModel, X) -> np.ndarray:
    """Regression: one prediction per row; classification: class probabilities, one row of
    K per record (binary too)."""
    out = model.booster.predict(np.asarray(X), num_iteration=model.booster.best_iteration
                                or None)
    if model.info.task == "binary":
        return np.column_stack([1 - out, out])
    return out


def load_model(directory: Path) -> LightGBMModel:
    import joblib

    directory = Path(directory)
    info = load_info(directory)
    if info is None or info.algorithm != "lightgbm":
        raise ValueError(f"{directory} holds no kamado LightGBM model")
    return LightGBMModel(joblib.load(directory / FILE), info)
