"""PCA: kamado's job against scikit-learn called directly on the same CSV (pandas reads it, as
a user would) with the same settings — regular mode is the eigendecomposition of the exact
covariance (scikit-learn's ``covariance_eigh`` solver), randomized mode scikit-learn's
randomized SVD with the same oversampling — and one CSV record answered by each (in AWS's
order, the most significant component last)."""

from __future__ import annotations

import io

import numpy as np

from algorithm_cases import Case, Data, csv

# what the direct side imports before its clock starts, as a fork server does for a job
LIBRARIES = ("pandas", "sklearn.decomposition")

FEATURES, RANK, COMPONENTS = 64, 12, 10


def make(rows: int, seed: int) -> Data:
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(RANK, FEATURES))
    X = rng.normal(scale=np.linspace(5, 1, RANK), size=(rows, RANK)) @ basis \
        + 0.1 * rng.normal(size=(rows, FEATURES)) + 2.0
    request = ",".join(f"{v:.6g}" for v in X[0]) + "\n"
    return Data({"train": csv(X)}, "text/csv;label_size=0",
                request.encode(), "text/csv")


def fitter(mode: str):
    def fit(paths):
        import pandas as pd
        from sklearn.decomposition import PCA

        X = pd.read_csv(paths["train"], header=None, dtype=np.float32).to_numpy()
        if mode == "regular":
            return PCA(COMPONENTS, svd_solver="covariance_eigh").fit(X)
        # extra_components -1: max(10, num_components) oversamples
        return PCA(COMPONENTS, svd_solver="randomized", n_oversamples=max(10, COMPONENTS),
                   random_state=0).fit(X)
    return fit


def predict(model, request: bytes):
    X = np.loadtxt(io.BytesIO(request), delimiter=",", dtype=np.float32, ndmin=2)
    return {"projections": [{"projection": row[::-1].tolist()} for row in model.transform(X)]}


ROWS = 400_000  # about a second of the direct side's time in regular mode
BASE = {"feature_dim": str(FEATURES), "num_components": str(COMPONENTS),
        "mini_batch_size": "5000"}
CASES = [
    Case(name="PCA regular", image="pca", rows=ROWS, make=make,
         hyperparameters={**BASE, "algorithm_mode": "regular"}, fit=fitter("regular"),
         predict=predict,
         notes=f"{COMPONENTS} of {FEATURES} features; kamado streams the covariance in float64 "
               "over mini-batches of 5000, scikit-learn's covariance_eigh solver takes the "
               "whole matrix; the direct side reads the CSV with pandas"),
    Case(name="PCA randomized", image="pca", rows=ROWS, make=make,
         hyperparameters={**BASE, "algorithm_mode": "randomized"}, fit=fitter("randomized"),
         predict=predict,
         notes="scikit-learn's randomized SVD on both sides, 10 oversamples"),
]
