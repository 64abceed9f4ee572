"""A trained Linear Learner model: weights in the original feature space, and predictions in
the shapes Linear Learner's inference returns (builtin-algorithms.md §3.2).

AWS's ``model_algo-1`` is an MXNet file, which kamado cannot write; kamado's is an ``.npz``
archive under the same name holding ``weights`` (features × outputs), ``bias``, and a JSON
``meta`` (predictor_type, num_classes, threshold, label scaling)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE = "model_algo-1"


@dataclass
class LinearModel:
    predictor_type: str
    weights: np.ndarray          # (features, outputs)
    bias: np.ndarray             # (outputs,)
    threshold: float = 0.5       # binary: P(label=1) at or above which the label is 1
    loss: str = "logistic"
    num_classes: int = 2

    def raw(self, X) -> np.ndarray:
        return np.asarray(X @ self.weights) + self.bias

    def predict(self, X) -> list[dict]:
        scores = self.raw(X)
        if self.predictor_type == "regressor":
            return [{"score": float(s)} for s in scores[:, 0]]
        if self.predictor_type == "binary_classifier":
            s = scores[:, 0]
            p = 1.0 / (1.0 + np.exp(-s)) if self.loss == "logistic" else s
            return [{"score": float(v), "predicted_label": int(v >= self.threshold)} for v in p]
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        return [{"score": row.tolist(), "predicted_label": int(row.argmax())} for row in probs]

    def save(self, directory: Path) -> Path:
        meta = {"predictor_type": self.predictor_type, "threshold": self.threshold,
                "loss": self.loss, "num_classes": self.num_classes, "format": "kamado-linear-learner-1"}
        buf = io.BytesIO()
        np.savez(buf, weights=self.weights, bias=self.bias, meta=np.array(json.dumps(meta)))
        path = Path(directory) / FILE
        path.write_bytes(buf.getvalue())
        return path


def load_model(path: Path | str) -> LinearModel:
    path = Path(path)
    if path.is_dir():
        path = path / FILE
    with np.load(path) as archive:
        meta = json.loads(str(archive["meta"]))
        return LinearModel(meta["predictor_type"], archive["weights"], archive["bias"],
                           meta["threshold"], meta["loss"], meta["num_classes"])
