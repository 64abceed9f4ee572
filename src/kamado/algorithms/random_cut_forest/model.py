"""A trained Random Cut Forest and its file.

AWS's ``model_algo-1`` is an MXNet-serialised object that kamado cannot write; kamado's, under
the same name, is a NumPy ``.npz`` (nothing pickled) holding the forest's flat arrays
(:mod:`.forest`: ``roots``, ``left``, ``right``, ``dim``, ``cut``, ``size``, ``lo``, ``hi``)
and ``meta``: JSON with ``format`` ("kamado-random-cut-forest"), ``version`` (1),
``feature_dim``, ``num_trees``, ``num_samples_per_tree``, ``seed`` and the job's
hyperparameters. About 2 · num_trees · num_samples_per_tree nodes of 8 · feature_dim + 20
bytes (boxes, then the rest): 3 MB for the defaults and 5 features, 4 GB at feature_dim 10000.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kamado.algorithms import archive
from kamado.algorithms.random_cut_forest import scoring
from kamado.algorithms.random_cut_forest.forest import ARRAYS, Forest

FILE = archive.FILE
FORMAT, VERSION = "kamado-random-cut-forest", 1


@dataclass
class RandomCutForestModel:
    forest: Forest
    hyperparameters: dict = field(default_factory=dict)
    seed: int = 0

    @property
    def feature_dim(self) -> int:
        return self.forest.feature_dim

    def scores(self, X) -> np.ndarray:
        """(n,) anomaly scores: mean over trees of the expected CoDisp (:mod:`.scoring`)."""
        X = X.toarray() if hasattr(X, "toarray") else np.atleast_2d(np.asarray(X, np.float32))
        if X.shape[1] != self.feature_dim:
            raise ValueError(f"The model expects {self.feature_dim} features per record; got "
                             f"{X.shape[1]}.")
        return scoring.scores(self.forest, X)

    def predict(self, X) -> list[dict]:
        """Random Cut Forest's inference records: ``[{"score": …}, …]``."""
        return [{"score": s} for s in self.scores(X).tolist()]

    def save(self, directory) -> Path:
        meta = {"format": FORMAT, "version": VERSION, "feature_dim": self.feature_dim,
                "num_trees": self.forest.num_trees,
                "num_samples_per_tree": self.hyperparameters.get("num_samples_per_tree"),
                "seed": self.seed, "hyperparameters": self.hyperparameters}
        return archive.write(directory, meta, self.forest.arrays())


def load_model(path) -> RandomCutForestModel:
    """From ``model_algo-1`` or the directory holding it; ValueError if it is not one."""
    meta, arrays = archive.read(path, FORMAT, VERSION, "Random Cut Forest", required=ARRAYS)
    return RandomCutForestModel(Forest(**{name: arrays[name] for name in ARRAYS}),
                                meta.get("hyperparameters", {}), meta.get("seed", 0))
