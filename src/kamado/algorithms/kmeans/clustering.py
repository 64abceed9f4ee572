"""K-Means as AWS describes its algorithm (builtin-algorithms.md §3.3; "How K-Means Clustering
Works"), built on scikit-learn:

1. Streaming: ``epochs`` passes over the records in mini-batches of ``mini_batch_size``, a
   mini-batch k-means (scikit-learn's ``MiniBatchKMeans.partial_fit``) keeping K = k ×
   ``extra_center_factor`` centres, started by ``init_method`` from the first mini-batch.
   ``half_life_time_size`` > 0 makes older records count less: before each mini-batch the
   weight every centre has gathered is multiplied by 0.5^(batch rows / half_life_time_size),
   so a record's weight halves after that many newer records.
2. Reduction: a Lloyd's k-means on the K centres weighted by their cluster sizes
   (scikit-learn's ``KMeans`` with ``local_lloyd_init_method``, ``local_lloyd_num_trials``
   restarts (auto: 10-50, as many as a fixed amount of work allows),
   ``local_lloyd_max_iter``, ``local_lloyd_tol``) gives the k final centres.

kamado's own choices, where AWS publishes nothing: the records are shuffled (fixed seed) once
per epoch; without decay one more pass assigns every record to its nearest of the K centres,
which are then replaced by the means of their records and weighted by their counts (an exact
summary of that partition, so the reduction optimises the true within-cluster sum of squares
of it); ``tol`` is scikit-learn's (relative to the data's variance).
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from kamado.algorithms.kmeans.hyperparameters import (ALGORITHM, extra_center_factor,
                                                      local_lloyd_num_trials, validate)
from kamado.algorithms.kmeans.model import KMeansModel
from kamado.algorithms.log import JobLog, SilentLog
from kamado.images.program import ClientError

_SUMMARY_ROWS = 65536  # rows per chunk when summarising: bounds the float64 copies


def _initial_centres(first: np.ndarray, K: int, method: str, rng, seed: int) -> np.ndarray:
    if method == "kmeans++":
        from sklearn.cluster import kmeans_plusplus

        centres, _ = kmeans_plusplus(first, K, random_state=seed)
        return centres
    return first[rng.choice(len(first), K, replace=False)]


def _stream(X: np.ndarray, K: int, hp: dict, rng, seed: int, log: JobLog):
    """Stage 1: the K centres after ``epochs`` streaming passes, and the weight each has
    gathered (decayed when half_life_time_size > 0)."""
    from sklearn.cluster import MiniBatchKMeans

    n, batch = len(X), hp["mini_batch_size"]
    order = rng.permutation(n)
    first = X[order[:min(n, max(batch, 3 * K))]]
    start = _initial_centres(first, K, hp["init_method"], rng, seed)
    stream = MiniBatchKMeans(n_clusters=K, init=start, n_init=1, batch_size=batch,
                             random_state=seed, compute_labels=False)
    half_life = hp["half_life_time_size"]
    for epoch in range(hp["epochs"]):
        if epoch:
            order = rng.permutation(n)
        # scikit-learn's first step needs a row per centre: the first mini-batch grows to
        # at least K rows
        bounds = [0] + [b for b in range(batch, n, batch) if epoch or b >= K]
        for begin, end in zip(bounds, bounds[1:] + [n]):
            rows = order[begin:end]
            # MiniBatchKMeans keeps each centre's gathered weight in its (private) _counts,
            # which weighs the old mean against a batch's records: decaying it is the decay
            counts = getattr(stream, "_counts", None)
            if half_life and counts is not None:
                counts *= 0.5 ** (len(rows) / half_life)
            stream.partial_fit(X[rows])
        log.progress(100.0 * (epoch + 1) / hp["epochs"])
    counts = getattr(stream, "_counts", None)
    return stream.cluster_centers_, (None if counts is None else np.asarray(counts, float))


def _summarise(X: np.ndarray, centres: np.ndarray):
    """The means of the records nearest each centre, and how many records each has."""
    import scipy.sparse as sp

    nearest, K = KMeansModel(centres), len(centres)
    sums, counts = np.zeros((K, X.shape[1])), np.zeros(K)
    for begin in range(0, len(X), _SUMMARY_ROWS):
        chunk = X[begin:begin + _SUMMARY_ROWS]
        labels = nearest.assign(chunk)[0]
        membership = sp.csr_matrix((np.ones(len(chunk)), (labels, np.arange(len(chunk)))),
                                   shape=(K, len(chunk)))
        sums += membership @ chunk.astype(np.float64)
        counts += np.bincount(labels, minlength=K)
    used = counts > 0
    return sums[used] / counts[used, None], counts[used]


def _reduce(centres: np.ndarray, weights: np.ndarray, k: int, hp: dict, seed: int):
    from sklearn.cluster import KMeans

    lloyd = KMeans(n_clusters=k, init="k-means++" if hp["local_lloyd_init_method"] == "kmeans++"
                   else "random", n_init=local_lloyd_num_trials(hp, len(centres)),
                   max_iter=hp["local_lloyd_max_iter"], tol=hp["local_lloyd_tol"],
                   random_state=seed)
    with warnings.catch_warnings():
        # fewer distinct points than k: scikit-learn warns and repeats centres, as we want
        warnings.simplefilter("ignore")
        return lloyd.fit(centres, sample_weight=weights).cluster_centers_


def fit(X, hyperparameters: dict | None = None, *, seed: int = 0,
        log: JobLog | None = None) -> KMeansModel:
    """K-Means on the rows of X (dense, or scipy sparse which is densified) with AWS's
    hyperparameters (strings as a job's, or typed values; ``feature_dim`` defaults to X's
    width). Raises ClientError for invalid hyperparameters or too few records."""
    log = log or SilentLog()
    X = X.toarray() if hasattr(X, "toarray") else X
    X = np.ascontiguousarray(X, dtype=np.float32)
    hp = validate({"feature_dim": X.shape[1], **(hyperparameters or {})})
    if hp["feature_dim"] != X.shape[1]:
        raise ClientError(f"The records have {X.shape[1]} features but feature_dim is "
                          f"{hp['feature_dim']}.")
    n, k = X.shape[0], hp["k"]
    if k > n:
        raise ClientError(f"Hyperparameter k: value {k} is larger than the number of training "
                          f"records ({n}); {ALGORITHM} needs at least k records.")
    factor = extra_center_factor(hp, n)
    K = min(n, k * factor)
    log.info(f"Streaming {hp['epochs']} epoch(s) over {n} records in mini-batches of "
             f"{hp['mini_batch_size']} with {K} centres (k={k}, extra_center_factor={factor})")
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    centres, weights = _stream(X, K, hp, rng, seed, log)
    if hp["half_life_time_size"] and weights is not None:
        used = weights > 0
        centres, weights = centres[used], weights[used]
    else:
        centres, weights = _summarise(X, centres)
    if len(centres) < k:  # the stream collapsed (duplicate records): reduce the records
        centres, weights = X.astype(np.float64), np.ones(n)
    final = _reduce(centres, weights, k, hp, seed)
    elapsed = time.perf_counter() - started
    log.info(f"Reduced {len(centres)} centres to {k} with Lloyd's k-means "
             f"({local_lloyd_num_trials(hp, len(centres))} trials, "
             f"{hp['local_lloyd_init_method']} init)")
    log.throughput(n * hp["epochs"] / max(elapsed, 1e-9))
    settings = {key: value for key, value in hp.items() if key != "force_dense"}
    return KMeansModel(final.astype(np.float32), settings)
