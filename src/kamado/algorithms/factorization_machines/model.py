"""The factorization machine,
``y = w0 + Σ_i w_i x_i + ½ Σ_f [(Σ_i v_if x_i)² − Σ_i v_if² x_i²]`` (Rendle's O(k·nnz)
form), and its answers: ``score`` (for a binary classifier the sigmoid of y, the probability
of label 1) and, for a binary classifier, ``predicted_label`` = score ≥ 0.5.

The artifact ``model_algo-1`` is one ``.npz`` without pickle (:mod:`kamado.algorithms.archive`,
format ``kamado-factorization-machines``): ``w0``, ``w``, ``V`` and the settings as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kamado.algorithms import archive

FILE = archive.FILE
FORMAT, VERSION = "kamado-factorization-machines", 1


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # tanh form: no overflow warning for large |z|


def squared(X):
    return X.multiply(X).tocsr() if hasattr(X, "multiply") and hasattr(X, "tocsr") else X * X


def raw_scores(X, w0: float, w: np.ndarray, V: np.ndarray) -> np.ndarray:
    """y of each row of X (dense rows or CSR), before any link function."""
    XV = np.asarray(X @ V)
    pairwise = 0.5 * (np.einsum("ij,ij->i", XV, XV) - np.asarray(squared(X) @ (V * V)).sum(1))
    return w0 + np.asarray(X @ w).ravel() + pairwise


class FMModel:
    def __init__(self, w0: float, w: np.ndarray, V: np.ndarray, settings: dict):
        self.w0, self.w, self.V, self.settings = float(w0), w, V, settings

    @property
    def feature_dim(self) -> int:
        return self.w.shape[0]

    @property
    def binary(self) -> bool:
        return self.settings["predictor_type"] == "binary_classifier"

    def scores(self, X, batch: int = 65536) -> np.ndarray:
        """score per row: the probability of label 1 (binary) or the predicted value."""
        parts = [raw_scores(X[s:s + batch], self.w0, self.w, self.V)
                 for s in range(0, X.shape[0], batch)]
        raw = np.concatenate(parts) if parts else np.zeros(0)
        return sigmoid(raw) if self.binary else raw

    def predict(self, X) -> list[dict]:
        scores = self.scores(X).astype(np.float32)
        if not self.binary:
            return [{"score": float(s)} for s in scores]
        return [{"score": float(s), "predicted_label": int(s >= 0.5)} for s in scores]

    def save(self, directory) -> Path:
        return archive.write(directory, {"format": FORMAT, "version": VERSION}, {
            "w0": np.array([self.w0]), "w": self.w, "V": self.V,
            "settings": np.frombuffer(json.dumps(self.settings).encode(), np.uint8)})


def load_model(path) -> FMModel:
    _, arrays = archive.read(path, FORMAT, VERSION, "Factorization Machines",
                             required=("w0", "w", "V", "settings"), legacy=True)
    settings = json.loads(arrays["settings"].tobytes().decode())
    return FMModel(float(arrays["w0"][0]), arrays["w"], arrays["V"], settings)
