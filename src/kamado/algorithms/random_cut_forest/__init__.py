"""The built-in Random Cut Forest (``randomcutforest`` images), as a plain NumPy library: a
robust random cut forest (Guha, Mishra, Roy, Schrijvers, ICML 2016) whose anomaly score is a
point's collusive displacement, averaged over the trees.

    model = fit({"feature_dim": "5"}, X)      # AWS's hyperparameter names, string values
    predict(model, X)       # [{"score": 0.98}, …] — Random Cut Forest's inference records
    model.scores(X)         # the same scores as an array
    model.save(directory)   # model_algo-1; load_model(path) reads it back

:mod:`.sampling` picks each tree's points, :mod:`.forest` builds the trees, :mod:`.scoring`
computes the scores; :func:`metric_definitions` gives the job's MetricDefinitions.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from kamado.algorithms.random_cut_forest.definitions import metric_definitions
from kamado.algorithms.random_cut_forest.evaluation import evaluate, threshold
from kamado.algorithms.random_cut_forest.forest import Forest, build
from kamado.algorithms.random_cut_forest.hyperparameters import validate as validate_hyperparameters
from kamado.algorithms.random_cut_forest.model import RandomCutForestModel, load_model
from kamado.algorithms.random_cut_forest.sampling import tree_samples
from kamado.images.program import ClientError

# Random Cut Forest has no seed hyperparameter; a fixed one makes a job repeat its model.
SEED = 0
_BATCH = 1 << 16


def batches(X, rows: int = _BATCH) -> Iterable[np.ndarray]:
    """A matrix (dense or sparse) as dense float32 row batches."""
    for start in range(0, X.shape[0], rows):
        part = X[start:start + rows]
        yield np.asarray(part.toarray() if hasattr(part, "toarray") else part, np.float32)


def fit_resolved(hp: dict, data, *, seed: int = SEED) -> RandomCutForestModel:
    """A forest from validated hyperparameters and a matrix (or an iterable of row batches,
    read once, in order, as a stream is)."""
    stream = batches(data) if hasattr(data, "shape") else data
    width = hp["feature_dim"]

    def checked():
        for batch in stream:
            if batch.ndim != 2 or batch.shape[1] != width:
                raise ClientError(f"The records have {batch.shape[-1]} features but "
                                  f"feature_dim is {width}.")
            yield batch

    rng = np.random.default_rng(seed)
    samples = tree_samples(checked(), hp["num_trees"], hp["num_samples_per_tree"], rng)
    return RandomCutForestModel(build(samples, rng), hp, seed)


def fit(hyperparameters: dict, X, *, seed: int = SEED) -> RandomCutForestModel:
    """Train on a matrix (dense or scipy sparse) with AWS's hyperparameters (string values
    as a job's HyperParameters are). Raises ClientError for invalid ones."""
    return fit_resolved(validate_hyperparameters(hyperparameters), X, seed=seed)


def predict(model: RandomCutForestModel, X) -> list[dict]:
    return model.predict(X)


__all__ = ["Forest", "RandomCutForestModel", "build", "evaluate", "fit", "fit_resolved",
           "load_model", "metric_definitions", "predict", "threshold", "tree_samples",
           "validate_hyperparameters"]
