"""PCA as AWS describes its two modes (builtin-algorithms.md §3.4; "How PCA Works"):

- ``regular``: the exact covariance (or, without ``subtract_mean``, the scatter matrix
  XᵀX) built by streaming over mini-batches of ``mini_batch_size`` records — batch means and
  scatters merged as Chan et al.'s pairwise update, in float64, so a large mean costs no
  precision — then its eigendecomposition (NumPy): components and singular values exactly
  those of the SVD of the (centred) data;
- ``randomized``: scikit-learn's ``randomized_svd`` of the (centred) data, in float32, with
  ``extra_components`` as its oversampling (-1: max(10, num_components)).

Both keep ``num_components`` components in ascending order of singular value, as AWS's
model does. Each component's sign is fixed so its largest-magnitude entry is positive
(scikit-learn's PCA convention), so reruns and the two modes agree.
"""

from __future__ import annotations

import time

import numpy as np

from kamado.algorithms.log import JobLog, SilentLog
from kamado.algorithms.pca.hyperparameters import oversampling, validate
from kamado.algorithms.pca.model import PCAModel
from kamado.images.program import ClientError


def _fix_signs(v: np.ndarray) -> np.ndarray:
    biggest = np.abs(v).argmax(axis=0)
    signs = np.sign(v[biggest, np.arange(v.shape[1])])
    signs[signs == 0] = 1.0
    return v * signs


def _regular(X, hp: dict):
    d, batch = X.shape[1], hp["mini_batch_size"]
    centred = hp["subtract_mean"]
    n, mean, scatter = 0, np.zeros(d), np.zeros((d, d))
    for begin in range(0, X.shape[0], batch):
        B = X[begin:begin + batch]
        B = B.toarray() if hasattr(B, "toarray") else B
        B = np.asarray(B, np.float64)
        if not centred:
            scatter += B.T @ B
            n += len(B)
            continue
        nb, mb = len(B), B.mean(axis=0)
        Bc = B - mb
        delta, total = mb - mean, n + nb
        scatter += Bc.T @ Bc + np.outer(delta, delta) * (n * nb / total)
        mean += delta * (nb / total)
        n = total
    values, vectors = np.linalg.eigh(scatter)  # ascending
    k = hp["num_components"]
    return (vectors[:, -k:], np.sqrt(np.maximum(values[-k:], 0.0)),
            mean if centred else None)


def _randomized(X, hp: dict, seed: int):
    from sklearn.utils.extmath import randomized_svd

    X = X.toarray() if hasattr(X, "toarray") else X
    # float32, as scikit-learn's PCA keeps float32 data: half the memory and time, and
    # precision to spare for an approximate solver (the mean itself is summed in float64)
    X = np.asarray(X, np.float32)
    mean = X.mean(axis=0, dtype=np.float64) if hp["subtract_mean"] else None
    if mean is not None:
        X = X - mean.astype(np.float32)
    _, S, Vt = randomized_svd(X, hp["num_components"], n_oversamples=oversampling(hp),
                              random_state=seed)
    return Vt[::-1].T.astype(np.float64), S[::-1].astype(np.float64), mean


def fit(X, hyperparameters: dict | None = None, *, seed: int = 0,
        log: JobLog | None = None) -> PCAModel:
    """PCA of the rows of X (dense or scipy sparse) with AWS's hyperparameters (strings as a
    job's, or typed values; ``feature_dim`` defaults to X's width, ``mini_batch_size`` to
    500, the SDK's). Raises ClientError for invalid hyperparameters."""
    log = log or SilentLog()
    hp = validate({"feature_dim": X.shape[1], "mini_batch_size": 500,
                   **(hyperparameters or {})})
    if hp["feature_dim"] != X.shape[1]:
        raise ClientError(f"The records have {X.shape[1]} features but feature_dim is "
                          f"{hp['feature_dim']}.")
    started = time.perf_counter()
    if hp["algorithm_mode"] == "regular":
        v, s, mean = _regular(X, hp)
    else:
        v, s, mean = _randomized(X, hp, seed)
    elapsed = time.perf_counter() - started
    log.progress(100.0)
    log.throughput(X.shape[0] / max(elapsed, 1e-9))
    return PCAModel(_fix_signs(v), s, None if mean is None else mean.reshape(1, -1), hp)
