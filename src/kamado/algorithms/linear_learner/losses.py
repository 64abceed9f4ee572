"""Linear Learner's losses, evaluated for many models at once.

Scores arrive as ``S[b, m, k]`` (example, model, output). Each function gives the loss per
example and model, in the units AWS reports the objective in (squared loss as the mean
squared error), and its gradient with respect to the scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The objective's name in the log lines (``… validation mse_objective <loss>=…``); AWS's
# metric regexes only require the ``_objective`` suffix.
OBJECTIVE_NAMES = {
    "logistic": "binary_classification_cross_entropy_objective",
    "hinge_loss": "binary_classification_hinge_loss_objective",
    "softmax_loss": "multiclass_cross_entropy_objective",
    "squared_loss": "mse_objective",
    "absolute_loss": "absolute_loss_objective",
    "eps_insensitive_squared_loss": "eps_insensitive_squared_loss_objective",
    "eps_insensitive_absolute_loss": "eps_insensitive_absolute_loss_objective",
    "quantile_loss": "quantile_loss_objective",
    "huber_loss": "huber_loss_objective",
}


@dataclass(frozen=True)
class LossParams:
    margin: float = 1.0
    quantile: float = 0.5
    insensitivity: float = 0.01
    huber_delta: float = 1.0

    @classmethod
    def from_hyperparameters(cls, hp: dict, label_scale: float = 1.0) -> "LossParams":
        """Thresholds given in the label's units, moved to standardised-label units."""
        return cls(margin=hp["margin"], quantile=hp["quantile"],
                   insensitivity=hp["loss_insensitivity"] / label_scale,
                   huber_delta=hp["huber_delta"] / label_scale)


def _softplus(s: np.ndarray) -> np.ndarray:
    # log(1 + e^s) without overflow; exp/log are several times faster than np.logaddexp.
    return np.maximum(s, 0.0) + np.log(1.0 + np.exp(-np.abs(s)))


def loss_and_grad(loss: str, S: np.ndarray, y: np.ndarray, p: LossParams, *,
                  values: bool = True, grad: bool = True):
    """(loss[b, m] or None, dloss/dS[b, m, k] or None) for scores S[b, m, k], labels y[b];
    the training loop asks only for the gradient, evaluation only for the values."""
    y2 = y.astype(S.dtype, copy=False)[:, None]
    if loss == "softmax_loss":
        shifted = S - S.max(axis=2, keepdims=True)
        exp = np.exp(shifted)
        z = exp.sum(axis=2)
        rows, cls = np.arange(len(y)), y.astype(np.intp)
        v = (np.log(z) - shifted[rows, :, cls]) if values else None
        g = None
        if grad:
            g = exp / z[..., None]
            g[rows, :, cls] -= 1.0
        return v, g
    s = S[..., 0]
    if loss == "logistic":
        v = (_softplus(s) - y2 * s) if values else None
        g = (1.0 / (1.0 + np.exp(-s)) - y2) if grad else None
    elif loss == "hinge_loss":
        sign = 2.0 * y2 - 1.0
        slack = p.margin - sign * s
        v = np.maximum(0.0, slack) if values else None
        g = np.where(slack > 0, -sign, 0.0) if grad else None
    else:
        r = s - y2
        if loss == "squared_loss":
            # Trained as r²/2 (gradient r); reported as r², the mean squared error AWS logs.
            v, g = r * r, r
        elif loss == "absolute_loss":
            v, g = np.abs(r), np.sign(r)
        elif loss == "huber_loss":
            d, a = p.huber_delta, np.abs(r)
            v = np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))
            g = np.clip(r, -d, d)
        elif loss == "quantile_loss":
            q = p.quantile
            v = np.where(r >= 0, (1.0 - q) * r, -q * r)
            g = np.where(r > 0, 1.0 - q, -q)
        elif loss in ("eps_insensitive_squared_loss", "eps_insensitive_absolute_loss"):
            excess = np.maximum(np.abs(r) - p.insensitivity, 0.0)
            if loss == "eps_insensitive_squared_loss":
                v, g = 0.5 * excess * excess, np.sign(r) * excess
            else:
                v, g = excess, np.sign(r) * (excess > 0)
        else:
            raise ValueError(f"unknown loss {loss}")
        v, g = (v if values else None), (g if grad else None)
    if g is not None:
        g = g.astype(S.dtype, copy=False)[..., None]
    return v, g
