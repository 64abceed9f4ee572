"""A trained K-Means model, its file, and answers in the shape K-Means' inference returns
(builtin-algorithms.md §3.3): ``{"closest_cluster": 1.0, "distance_to_cluster": 3.0}`` per
record, the cluster's index as a float and the Euclidean distance to its centre.

The file. AWS's ``model_algo-1`` is an MXNet NDArray file whose first array is the k ×
feature_dim matrix of centres; kamado cannot write MXNet's format, so its ``model_algo-1`` is
a NumPy ``.npz`` (a zip of ``.npy`` arrays, nothing pickled) holding ``centroids`` (k ×
feature_dim, float32, the same matrix) and ``meta`` (JSON: ``format`` "kamado-kmeans",
``version`` 1, ``feature_dim``, ``k`` and the job's ``hyperparameters``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kamado.algorithms import archive

FILE = archive.FILE
FORMAT, VERSION = "kamado-kmeans", 1
_CHUNK_ROWS = 8192


@dataclass
class KMeansModel:
    centroids: np.ndarray                  # (k, feature_dim) float32
    hyperparameters: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    @property
    def feature_dim(self) -> int:
        return int(self.centroids.shape[1])

    def squared_distances(self, X) -> np.ndarray:
        """(rows, k) squared Euclidean distances, in float64; X dense or scipy sparse."""
        C = self.centroids.astype(np.float64)
        if hasattr(X, "toarray"):
            X = X.astype(np.float64)
            norms = np.asarray(X.multiply(X).sum(axis=1)).ravel()
            cross = np.asarray(X @ C.T)
        else:
            X = np.asarray(X, np.float64)
            norms = np.einsum("ij,ij->i", X, X)
            cross = X @ C.T
        d2 = norms[:, None] - 2.0 * cross + np.einsum("ij,ij->i", C, C)[None, :]
        return np.maximum(d2, 0.0)

    def assign(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(closest cluster, squared distance to it) of each row; in chunks of rows, so the
        rows × k distances stay small whatever the data."""
        rows = X.shape[0]
        closest, nearest = np.empty(rows, np.int64), np.empty(rows)
        for begin in range(0, rows, _CHUNK_ROWS):
            d2 = self.squared_distances(X[begin:begin + _CHUNK_ROWS])
            found = d2.argmin(axis=1)
            closest[begin:begin + len(found)] = found
            nearest[begin:begin + len(found)] = d2[np.arange(len(found)), found]
        return closest, nearest

    def predict_arrays(self, X) -> tuple[np.ndarray, np.ndarray]:
        closest, d2 = self.assign(X)
        return closest, np.sqrt(d2)

    def predict(self, X) -> list[dict]:
        closest, distance = self.predict_arrays(X)
        return [{"closest_cluster": float(c), "distance_to_cluster": float(d)}
                for c, d in zip(closest, distance)]

    def score(self, X, metric: str) -> float:
        """``msd`` (mean squared distance to the closest centre) or ``ssd`` (their sum)."""
        _, d2 = self.assign(X)
        return float(d2.mean() if metric == "msd" else d2.sum())

    def save(self, target: Path | str) -> Path:
        """Write ``model_algo-1`` into a directory (or to the file path given)."""
        return archive.write(target, {"format": FORMAT, "version": VERSION,
                                      "feature_dim": self.feature_dim, "k": self.k,
                                      "hyperparameters": self.hyperparameters},
                             {"centroids": self.centroids.astype(np.float32)})


def load_model(path: Path | str) -> KMeansModel:
    """Read ``model_algo-1`` (or the directory holding it, e.g. an extracted model.tar.gz)."""
    meta, arrays = archive.read(path, FORMAT, VERSION, "K-Means")
    centroids = arrays["centroids"]
    return KMeansModel(centroids.astype(np.float32), meta.get("hyperparameters", {}))
