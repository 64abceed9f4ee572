"""A trained model's objective and quality metrics on a channel's data, in the order AWS's
Linear Learner logs them (objective first)."""

from __future__ import annotations

import numpy as np

from kamado.algorithms.linear_learner import metrics
from kamado.algorithms.linear_learner.losses import OBJECTIVE_NAMES, LossParams, loss_and_grad
from kamado.algorithms.linear_learner.model import LinearModel


def objective(model: LinearModel, X, y: np.ndarray, hp: dict,
              weights: np.ndarray | None = None) -> float:
    raw = model.raw_scores(X)[:, None, :]
    with np.errstate(over="ignore", invalid="ignore"):
        values, _ = loss_and_grad(model.loss, raw, np.asarray(y, float),
                                  LossParams.from_hyperparameters(hp), grad=False)
    values = values[:, 0]
    return float(np.average(values, weights=weights))


def evaluate(model: LinearModel, X, y: np.ndarray, hp: dict,
             weights: np.ndarray | None = None) -> list[tuple[str, str, float]]:
    """[(name, "loss"|"score", value)] for the model's predictor type."""
    y = np.asarray(y, float)
    out = [(OBJECTIVE_NAMES[model.loss], "loss", objective(model, X, y, hp, weights))]
    scores, labels = model.predict_arrays(X)
    if model.predictor_type == "regressor":
        return out + metrics.regression(scores, y)
    if model.predictor_type == "binary_classifier":
        return out + metrics.binary(scores, labels, y, hp["f_beta"])
    return out + metrics.multiclass(scores, y, hp["accuracy_top_k"], hp["f_beta"])
