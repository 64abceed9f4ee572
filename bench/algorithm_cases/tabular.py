"""The binary tabular data of the LightGBM and CatBoost cases, and how a user's script reads
its CSV files."""

from __future__ import annotations

import numpy as np

from algorithm_cases import Data, csv

FEATURES = 20


def make(rows: int, seed: int, train: str) -> Data:
    """A nonlinear binary problem: 4/5 of the rows in the ``train`` channel, the rest in
    ``validation``; the request is the first row."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, FEATURES))
    logit = X[:, 0] * 2 - X[:, 1] + np.sin(X[:, 2] * 3) + X[:, 3] * X[:, 4]
    y = (logit + rng.logistic(size=rows) > 0).astype(int)
    cut = rows * 4 // 5
    return Data({train: csv(X[:cut], y[:cut]), "validation": csv(X[cut:], y[cut:])},
                "text/csv", csv(X[:1]), "text/csv")


def read(path):
    """(X, y) of a CSV file with the label first, by pandas."""
    import pandas as pd

    frame = pd.read_csv(path, header=None, dtype=np.float32)
    return frame.iloc[:, 1:].to_numpy(), frame.iloc[:, 0].to_numpy()
