"""Linear Learner's preprocessing: feature and label statistics from a sample of
``num_point_for_scaler`` rows (AWS: "goes over a small sample of the data").

AWS's ``auto`` rules: features are always scaled, but shifted only when dense (shifting
sparse data would make it dense) and when the model has a bias to absorb the shift; labels
are shifted and scaled for regression only. The data itself is never rewritten: the trainer
folds the statistics into the weights, so sparse input stays sparse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Scaler:
    mean: np.ndarray          # subtracted from each feature (zeros when not shifting)
    scale: np.ndarray         # each feature divided by this (ones when not scaling)
    label_mean: float = 0.0
    label_scale: float = 1.0

    def arrays(self) -> dict:
        return {"scaler_mean": self.mean, "scaler_scale": self.scale,
                "scaler_label": np.array([self.label_mean, self.label_scale])}

    @classmethod
    def from_arrays(cls, arrays: dict) -> "Scaler":
        label = arrays["scaler_label"]
        return cls(np.asarray(arrays["scaler_mean"], float),
                   np.asarray(arrays["scaler_scale"], float), float(label[0]), float(label[1]))


def _moments(X) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(X, "toarray"):  # scipy sparse: E[x] and E[x²] without densifying
        n = X.shape[0]
        mean = np.asarray(X.sum(axis=0), float).ravel() / n
        sq = np.asarray(X.multiply(X).sum(axis=0), float).ravel() / n
        return mean, np.sqrt(np.maximum(sq - mean * mean, 0.0))
    X = np.asarray(X, float)
    return X.mean(axis=0), X.std(axis=0)


def fit_scaler(X, y: np.ndarray, hp: dict, rng: np.random.Generator) -> Scaler:
    n, d = X.shape
    sparse = hasattr(X, "toarray")
    rows = np.arange(n) if n <= hp["num_point_for_scaler"] else np.sort(
        rng.choice(n, hp["num_point_for_scaler"], replace=False))
    sample = X[rows]
    mean, std = _moments(sample)
    # A constant column has nothing to scale; dividing by ~0 would blow its weight up.
    std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
    shift = hp["unbias_data"] if hp["unbias_data"] != "auto" else (hp["use_bias"] and not sparse)
    scale = hp["normalize_data"] is not False
    scaler = Scaler(mean if shift else np.zeros(d), std if scale else np.ones(d))
    if hp["predictor_type"] == "regressor":
        labels = np.asarray(y, float)[rows]
        shift_label = hp["unbias_label"] if hp["unbias_label"] != "auto" else hp["use_bias"]
        if shift_label:
            scaler.label_mean = float(labels.mean())
        if hp["normalize_label"] is not False:
            spread = float(labels.std())
            scaler.label_scale = spread if np.isfinite(spread) and spread > 1e-12 else 1.0
    return scaler
