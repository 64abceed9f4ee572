"""A trained PCA model, its file, and answers in the shape PCA's inference returns
(builtin-algorithms.md §3.4): ``{"projection": [...]}`` per record.

As AWS's, the components are in ascending order of their singular values — the most
significant component is the last — and so are the values of each projection (AWS's own
notebooks take the last n columns of a projection as its top n components).

The file. AWS's ``model_algo-1`` is an MXNet NDArray dict with ``v`` (feature_dim ×
num_components), ``s`` (num_components) and, with ``subtract_mean``, ``mean`` (1 ×
feature_dim); kamado cannot write MXNet's format, so its ``model_algo-1`` is a NumPy ``.npz``
(a zip of ``.npy`` arrays, nothing pickled) with the same names and shapes (float32), plus
``meta`` (JSON: ``format`` "kamado-pca", ``version`` 1, ``feature_dim``,
``num_components``, ``subtract_mean`` and the job's ``hyperparameters``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kamado.algorithms import archive

FILE = archive.FILE
FORMAT, VERSION = "kamado-pca", 1


@dataclass
class PCAModel:
    v: np.ndarray                      # (feature_dim, num_components), ascending order
    s: np.ndarray                      # (num_components,) singular values, ascending
    mean: np.ndarray | None = None     # (1, feature_dim) when subtract_mean
    hyperparameters: dict = field(default_factory=dict)

    @property
    def feature_dim(self) -> int:
        return int(self.v.shape[0])

    @property
    def num_components(self) -> int:
        return int(self.v.shape[1])

    def project(self, X) -> np.ndarray:
        """(rows, num_components) projections in float64; X dense or scipy sparse."""
        V = self.v.astype(np.float64)
        if hasattr(X, "toarray"):
            P = np.asarray(X.astype(np.float64) @ V)
        else:
            P = np.asarray(X, np.float64) @ V
        if self.mean is not None:
            P -= self.mean.astype(np.float64) @ V
        return P

    def predict(self, X) -> list[dict]:
        return [{"projection": row} for row in self.project(X).tolist()]

    def save(self, target: Path | str) -> Path:
        """Write ``model_algo-1`` into a directory (or to the file path given)."""
        meta = {"format": FORMAT, "version": VERSION, "feature_dim": self.feature_dim,
                "num_components": self.num_components, "subtract_mean": self.mean is not None,
                "hyperparameters": self.hyperparameters}
        arrays = {"v": self.v.astype(np.float32), "s": self.s.astype(np.float32)}
        if self.mean is not None:
            arrays["mean"] = self.mean.astype(np.float32).reshape(1, -1)
        return archive.write(target, meta, arrays)


def load_model(path: Path | str) -> PCAModel:
    """Read ``model_algo-1`` (or the directory holding it, e.g. an extracted model.tar.gz)."""
    meta, arrays = archive.read(path, FORMAT, VERSION, "PCA")
    v, s, mean = arrays["v"], arrays["s"], arrays.get("mean")
    return PCAModel(v, s, mean, meta.get("hyperparameters", {}))
