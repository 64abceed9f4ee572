"""Random Cut Forest: kamado's job against the same library code
(``kamado.algorithms.random_cut_forest``) called directly on arrays that pandas reads from the
same CSV, with the same settings — no other random cut forest library is installed (rrcf,
AWS's Java RCF), so the direct side measures what the job adds around the algorithm: reading
the channel, the image's start, writing and packing the model. One CSV record answered by
each.

The data: shingles of 5 consecutive values of a noisy sine, 1% of them pushed far off; the
AWS defaults (100 trees of 256 samples). Two cases:

- train only: a reservoir sample of the whole channel and the trees built on it (0.1 s in
  the job's own code), so both sides are mostly pandas reading the CSV: 8M records (400 MB),
  about a second of it on two cores (pandas reads 5–9M of these records a second, depending
  on the machine's day; at 4M the job's fixed 0.1 s was up to a fifth of kamado's time, its
  cost, not its throughput);
- train + a labelled test channel of 100,000 records (what a tuning job runs: the test
  channel's F1 is the objective): both sides also score the test records and compute the
  metrics, which is where the time goes.
"""

from __future__ import annotations

import io
import json

import numpy as np

from algorithm_cases import Case, Data, csv

# what the direct side imports before its clock starts, as a fork server does for a job
LIBRARIES = ("pandas", "kamado.algorithms.random_cut_forest")

FEATURES = 5
HP = {"feature_dim": str(FEATURES), "num_samples_per_tree": "256", "num_trees": "100"}


def _stream(rows: int, seed: int):
    rng = np.random.default_rng(seed)
    signal = np.sin(np.arange(rows + FEATURES - 1) / 12.0) + 0.05 * rng.normal(
        size=rows + FEATURES - 1)
    X = np.lib.stride_tricks.sliding_window_view(signal, FEATURES).copy()
    far = rng.random(rows) < 0.01
    X[far] += rng.choice([-1.0, 1.0], (int(far.sum()), FEATURES)) * 1.5
    return X, far


def make(rows: int, seed: int) -> Data:
    X, _ = _stream(rows, seed)
    request = ",".join(f"{v:.6g}" for v in X[0]) + "\n"
    return Data({"train": csv(X)}, "text/csv;label_size=0", request.encode(), "text/csv")


TEST_ROWS = 100_000


def make_with_test(rows: int, seed: int) -> Data:
    """Both channels labelled (one ContentType for both): train's labels are 0, and ignored."""
    X, _ = _stream(rows, seed)
    Xte, yte = _stream(TEST_ROWS, seed + 1)
    request = ",".join(f"{v:.6g}" for v in X[0]) + "\n"
    return Data({"train": csv(X, np.zeros(len(X))), "test": csv(Xte, yte)},
                "text/csv;label_size=1", request.encode(), "text/csv")


def fit(paths):
    import pandas as pd

    from kamado.algorithms import random_cut_forest

    X = pd.read_csv(paths["train"], header=None, dtype=np.float32).to_numpy()
    return random_cut_forest.fit(HP, X)


def fit_with_test(paths):
    """Train, then the test channel's scores and metrics, as the job computes them."""
    import pandas as pd

    from kamado.algorithms import random_cut_forest

    X = pd.read_csv(paths["train"], header=None, dtype=np.float32).to_numpy()[:, 1:]
    test = pd.read_csv(paths["test"], header=None, dtype=np.float32).to_numpy()
    model = random_cut_forest.fit(HP, X)
    random_cut_forest.evaluate(model.scores(test[:, 1:]), test[:, 0],
                               ["accuracy", "precision_recall_fscore"])
    return model


def predict(model, request: bytes):
    X = np.loadtxt(io.BytesIO(request), delimiter=",", dtype=np.float32, ndmin=2)
    return json.dumps({"scores": model.predict(X)})


CASES = [
    Case(name="Random Cut Forest", image="randomcutforest", rows=8_000_000, make=make,
         hyperparameters=HP, fit=fit, predict=predict,
         notes="100 trees of 256 samples on 5 features; the direct side is kamado's own "
               "library (no other RCF library is installed) on arrays pandas reads from the "
               "same CSV"),
    Case(name="Random Cut Forest + test", image="randomcutforest", rows=1_000_000,
         make=make_with_test, hyperparameters=HP, fit=fit_with_test, predict=predict,
         notes=f"the same, plus a labelled test channel of {TEST_ROWS:,} records scored and "
               "evaluated (accuracy, precision, recall, F1) on both sides"),
]
