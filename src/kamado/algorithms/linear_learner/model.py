"""A trained Linear Learner model, its file, and predictions in the shapes Linear Learner's
inference returns (builtin-algorithms.md §3.2):

- binary: ``{"score": P(label=1), "predicted_label": 0|1}`` (with hinge loss the score is
  the raw margin),
- multiclass: ``{"score": [p0, p1, …], "predicted_label": k}``,
- regression: ``{"score": value}``.

The file. AWS's ``model_algo-1`` is an MXNet parameter file, which kamado cannot write;
kamado's, under the same name, is a NumPy ``.npz`` (a zip of ``.npy`` arrays; nothing
pickled) holding:

- ``weights`` (feature_dim × outputs) and ``bias`` (outputs): the model on raw features —
  feature and label scaling are already folded in, so predicting is one product;
- ``scaler_mean``, ``scaler_scale``, ``scaler_label`` (label mean, label scale): the training
  statistics, kept for reference only;
- ``meta``: JSON with ``format`` ("kamado-linear-learner"), ``version`` (1),
  ``predictor_type``, ``loss``, ``num_classes``, ``feature_dim``, ``threshold`` and the
  selected model's ``hyperparameters``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kamado.algorithms import archive

FILE = archive.FILE
FORMAT, VERSION = "kamado-linear-learner", 1


@dataclass
class LinearModel:
    predictor_type: str
    weights: np.ndarray               # (feature_dim, outputs), on raw features
    bias: np.ndarray                  # (outputs,)
    loss: str = "logistic"
    threshold: float = 0.5            # binary: label 1 when score >= threshold
    num_classes: int = 2
    statistics: dict = field(default_factory=dict)   # scaler arrays, for reference
    hyperparameters: dict = field(default_factory=dict)

    @property
    def feature_dim(self) -> int:
        return int(self.weights.shape[0])

    def raw_scores(self, X) -> np.ndarray:
        if X.ndim != 2 or X.shape[1] != self.feature_dim:
            raise ValueError(f"The model expects {self.feature_dim} features per record; got "
                             f"{X.shape[1] if X.ndim == 2 else 'a non-tabular input'}.")
        return np.asarray(X @ self.weights, float) + self.bias

    def predict_arrays(self, X) -> tuple[np.ndarray, np.ndarray | None]:
        """(scores, predicted labels) as arrays: scores (n,) or (n, classes)."""
        X = X if hasattr(X, "toarray") else np.atleast_2d(np.asarray(X, float))
        raw = self.raw_scores(X)
        if self.predictor_type == "regressor":
            return raw[:, 0], None
        if self.predictor_type == "binary_classifier":
            s = raw[:, 0]
            if self.loss == "logistic":
                s = 0.5 * (1.0 + np.tanh(0.5 * s))  # the sigmoid, without overflow
            return s, (s >= self.threshold).astype(int)
        shifted = raw - raw.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        return probs, probs.argmax(axis=1)

    def predict(self, X) -> list[dict]:
        scores, labels = self.predict_arrays(X)
        if labels is None:
            return [{"score": float(s)} for s in scores]
        if scores.ndim == 1:
            return [{"score": float(s), "predicted_label": int(k)}
                    for s, k in zip(scores, labels)]
        return [{"score": row.tolist(), "predicted_label": int(k)}
                for row, k in zip(scores, labels)]

    def save(self, target: Path | str) -> Path:
        """Write ``model_algo-1`` into a directory (or to the file path given)."""
        meta = {"format": FORMAT, "version": VERSION, "predictor_type": self.predictor_type,
                "loss": self.loss, "num_classes": self.num_classes,
                "feature_dim": self.feature_dim, "threshold": self.threshold,
                "hyperparameters": self.hyperparameters}
        return archive.write(target, meta, {
            "weights": self.weights, "bias": self.bias,
            **{k: np.asarray(v) for k, v in self.statistics.items()}})


def load_model(path: Path | str) -> LinearModel:
    """Read ``model_algo-1`` (or the directory holding it, e.g. an extracted model.tar.gz)."""
    meta, arrays = archive.read(path, FORMAT, VERSION, "Linear Learner")
    stats = {k: v for k, v in arrays.items() if k.startswith("scaler_")}
    return LinearModel(meta["predictor_type"], arrays["weights"], arrays["bias"], meta["loss"],
                       float(meta["threshold"]), int(meta["num_classes"]), stats,
                       meta.get("hyperparameters", {}))


def predict(model: LinearModel, X) -> list[dict]:
    """Linear Learner's inference output for each row of X (dense or scipy sparse)."""
    return model.predict(X)
