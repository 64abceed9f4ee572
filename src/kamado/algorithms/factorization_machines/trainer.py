"""Training a factorization machine: mini-batches of CSR (or dense) rows, the gradient of the
logistic loss (binary classifier) or of ½·squared error (regressor) computed on the columns the
mini-batch touches only, one lazy Adam per model part.

    model = fit(X, y, validate({"feature_dim": "500", "num_factors": "8",
                                "predictor_type": "binary_classifier"}))
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from kamado.algorithms.factorization_machines.metrics import Running
from kamado.algorithms.factorization_machines.model import FMModel, sigmoid, squared
from kamado.algorithms.factorization_machines.optimizer import LazyAdam
from kamado.algorithms.log import JobLog, SilentLog

SEED = 0  # Factorization Machines has no seed hyperparameter; a fixed one makes reruns repeat


def initial(rng: np.random.Generator, hp: dict, part: str, shape) -> np.ndarray:
    method = hp[f"{part}_init_method"]
    if method == "normal":
        values = rng.normal(0.0, hp[f"{part}_init_sigma"], shape)
    elif method == "uniform":
        scale = hp[f"{part}_init_scale"]
        values = rng.uniform(-scale, scale, shape)
    else:
        values = np.full(shape, hp[f"{part}_init_value"])
    return np.asarray(values, np.float32)


def _optimizer(hp: dict, part: str, shape) -> LazyAdam:
    return LazyAdam(shape, hp[f"{part}_lr"], hp[f"{part}_wd"], hp["eps"], hp["clip_gradient"],
                    hp["rescale_grad"])


def _columns(Xb):
    """(the mini-batch over only the columns it touches, those columns); (Xb, None) when
    dense."""
    if not sp.issparse(Xb):
        return Xb, None
    cols, local = np.unique(Xb.indices, return_inverse=True)
    narrow = sp.csr_matrix((Xb.data, local.astype(np.int32), Xb.indptr),
                           shape=(Xb.shape[0], len(cols)))
    return narrow, cols


def gradients(Xb, y: np.ndarray, w0: float, w: np.ndarray, V: np.ndarray, binary: bool):
    """(outputs, and the gradients of the batch-mean loss for w0, w and V) of a mini-batch:
    logistic loss on sigmoid outputs for a binary classifier, ½·squared error for a regressor
    (both have d loss / d y = output − label)."""
    XV = np.asarray(Xb @ V)
    X2 = squared(Xb)
    raw = (w0 + np.asarray(Xb @ w).ravel()
           + 0.5 * (np.einsum("ij,ij->i", XV, XV) - np.asarray(X2 @ (V * V)).sum(1)))
    out = sigmoid(raw) if binary else raw
    g = ((out - y) / len(y)).astype(np.float32)
    grad_w = np.asarray(Xb.T @ g).ravel()
    grad_v = np.asarray(Xb.T @ (XV * g[:, None])) - V * np.asarray(X2.T @ g).ravel()[:, None]
    return out, float(g.sum()), grad_w.astype(np.float32), grad_v.astype(np.float32)


def fit(X, y, hp: dict, seed: int = SEED, log: JobLog | None = None) -> FMModel:
    """The model of ``hp`` (validated hyperparameters) on rows X (float32, CSR or dense) with
    labels y (0/1 for a binary classifier)."""
    log = log or SilentLog()
    binary = hp["predictor_type"] == "binary_classifier"
    rng = np.random.default_rng(seed)
    d, k = X.shape[1], hp["num_factors"]
    w0 = initial(rng, hp, "bias", (1,))
    w = initial(rng, hp, "linear", (d,))
    V = initial(rng, hp, "factors", (d, k))
    opt_b, opt_w, opt_v = (_optimizer(hp, "bias", w0.shape), _optimizer(hp, "linear", w.shape),
                           _optimizer(hp, "factors", V.shape))
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float32)
    y = np.asarray(y, np.float32)
    rows, batch, epochs = X.shape[0], hp["mini_batch_size"], hp["epochs"]
    for epoch in range(epochs):
        started = time.perf_counter()
        running = Running(binary)
        for start in range(0, rows, batch):
            Xb, cols = _columns(X[start:start + batch])
            yb = y[start:start + batch]
            Vb = V if cols is None else V[cols]
            wb = w if cols is None else w[cols]
            out, grad_b, grad_w, grad_v = gradients(Xb, yb, w0[0], wb, Vb, binary)
            running.add(out, yb)
            opt_b.step(w0, np.array([grad_b], np.float32))
            opt_w.step(w, grad_w, cols)
            opt_v.step(V, grad_v, cols)
        elapsed = time.perf_counter() - started
        for name, kind, value in running.results():
            log.quality("train", name, kind, value, epoch=epoch)
        log.progress(100.0 * (epoch + 1) / epochs)
        log.throughput(rows / max(elapsed, 1e-9))
    return FMModel(float(w0[0]), w, V, {"predictor_type": hp["predictor_type"],
                                        "feature_dim": d, "num_factors": k})
