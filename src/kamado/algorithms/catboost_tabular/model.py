"""CatBoost as AWS's JumpStart CatBoost trains it: ``CatBoostClassifier`` /
``CatBoostRegressor`` on the training rows with the validation rows as ``eval_set`` (early
stopping, the best iteration, CatBoost's ``bestTest = …`` line); the model saved in CatBoost's
own format (``model.cbm``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kamado.algorithms.catboost_tabular.hyperparameters import (ALGORITHM, library_params,
                                                                 metric_kind, validate)
from kamado.algorithms.tabular.model import ModelInfo, load_info
from kamado.algorithms.tabular.task import REGRESSION, decide, encode_labels
from kamado.images.program import ClientError

FILE = "model.cbm"


@dataclass
class CatBoostModel:
    model: object  # catboost.CatBoost
    info: ModelInfo

    def save(self, directory: Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / FILE
        self.model.save_model(str(path))
        self.info.save(directory)
        return path


def pool(X, y=None, categorical=()):
    """A catboost Pool; categorical columns as whole-number codes (CatBoost wants integers or
    strings there, not floats)."""
    import catboost

    X = np.asarray(X)
    if not categorical:
        return catboost.Pool(X, y)
    import pandas as pd

    frame = pd.DataFrame(X)
    for j in categorical:
        frame[j] = frame[j].fillna(-1).astype(np.int64)
    return catboost.Pool(frame, y, cat_features=list(categorical))


def fit(hyperparameters: dict, X, y, *, validation: tuple, categorical=(),
        jumpstart_task: str | None = None) -> CatBoostModel:
    """Train on arrays; ``validation=(X_val, y_val)`` is CatBoost's eval_set."""
    import catboost

    hp = validate(hyperparameters)
    y, y_val = np.asarray(y, np.float64), np.asarray(validation[1], np.float64)
    task = decide(y, jumpstart=jumpstart_task, metric_kind=metric_kind(hp["eval_metric"]),
                  algorithm=ALGORITHM)
    classes = [] if task == REGRESSION else np.unique(y)
    if task != REGRESSION:
        y, y_val = encode_labels(y, classes, "train"), encode_labels(y_val, classes, "validation")
    params = library_params(hp, task)
    model = (catboost.CatBoostRegressor if task == REGRESSION
             else catboost.CatBoostClassifier)(**params)
    try:
        model.fit(pool(X, y, categorical), eval_set=pool(validation[0], y_val, categorical),
                  use_best_model=True)
    except catboost.CatBoostError as exc:
        raise ClientError(f"CatBoost refused the job's settings: {exc}") from None
    if not hp["verbose"] and model.get_best_score().get("validation"):
        # CatBoost prints its bestTest line only when verbose; the metric regex needs it
        scores = model.get_best_score()["validation"]
        best = scores.get(params["eval_metric"], next(iter(scores.values())))
        print(f"bestTest = {best:.10g}\nbestIteration = {model.get_best_iteration()}",
              flush=True)
    info = ModelInfo("catboost", task, int(np.asarray(X).shape[1]),
                     [float(c) for c in classes], list(categorical))
    return CatBoostModel(model, info)


def predict(model: CatBoostModel, X) -> np.ndarray:
    """Regression: one prediction per row; classification: class probabilities (K per row)."""
    data = pool(X, None, model.info.categorical)
    if model.info.task == REGRESSION:
        return model.model.predict(data)
    return model.model.predict_proba(data)


def load_model(directory: Path) -> CatBoostModel:
    import catboost

    directory = Path(directory)
    info = load_info(directory)
    if info is None or info.algorithm != "catboost":
        raise ValueError(f"{directory} holds no kamado CatBoost model")
    cls = catboost.CatBoostRegressor if info.task == REGRESSION else catboost.CatBoostClassifier
    model = cls()
    model.load_model(str(directory / FILE))
    return CatBoostModel(model, info)
