"""K-Means: kamado's job against scikit-learn called directly on the same CSV (pandas reads
it, as a user would) running the same two stages with the same settings — a mini-batch
k-means over k × extra_center_factor centres streamed in mini-batches, then a Lloyd's
k-means of those centres weighted by their cluster sizes — and one CSV record answered by
each."""

from __future__ import annotations

import io
import math

import numpy as np

from algorithm_cases import Case, Data, csv

# what the direct side imports before its clock starts, as a fork server does for a job
LIBRARIES = ("pandas", "scipy.sparse", "sklearn.cluster", "sklearn.metrics")

FEATURES, CLUSTERS, K, BATCH, EPOCHS = 32, 20, 20, 5000, 5


def make(rows: int, seed: int) -> Data:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(CLUSTERS, FEATURES))
    X = centres[rng.integers(0, CLUSTERS, rows)] + rng.normal(size=(rows, FEATURES))
    request = ",".join(f"{v:.6g}" for v in X[0]) + "\n"
    return Data({"train": csv(X)}, "text/csv;label_size=0",
                request.encode(), "text/csv")


def fit(paths):
    """What kamado's job runs, written against scikit-learn: shuffle, stream mini-batches
    through MiniBatchKMeans with k × extra_center_factor centres (auto: max(10, ⌈ln rows⌉)),
    re-centre them on their records, reduce them with a weighted KMeans (auto trials)."""
    import pandas as pd
    import scipy.sparse as sp
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.metrics import pairwise_distances_argmin

    X = pd.read_csv(paths["train"], header=None, dtype=np.float32).to_numpy()
    n = len(X)
    centres = min(n, K * max(10, math.ceil(math.log(n))))
    rng = np.random.default_rng(0)
    order = rng.permutation(n)
    first = X[order[:min(n, max(BATCH, 3 * centres))]]
    stream = MiniBatchKMeans(centres, init=first[rng.choice(len(first), centres, replace=False)],
                             n_init=1, batch_size=BATCH, random_state=0, compute_labels=False)
    for epoch in range(EPOCHS):
        if epoch:
            order = rng.permutation(n)
        for begin in range(0, n, BATCH):
            stream.partial_fit(X[order[begin:begin + BATCH]])
    labels = pairwise_distances_argmin(X, stream.cluster_centers_)
    members = sp.csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(centres, n))
    counts = np.bincount(labels, minlength=centres).astype(float)
    used = counts > 0
    means = np.asarray(members @ X.astype(np.float64))[used] / counts[used, None]
    trials = min(max(int(1e8 // (len(means) * K * FEATURES)), 10), 50)  # kamado's auto
    return KMeans(K, n_init=trials, max_iter=300, tol=1e-4, random_state=0).fit(
        means, sample_weight=counts[used])


def predict(model, request: bytes):
    X = np.loadtxt(io.BytesIO(request), delimiter=",", dtype=np.float64, ndmin=2)
    distances = model.transform(X)[0]
    closest = int(np.argmin(distances))
    return {"predictions": [{"closest_cluster": float(closest),
                             "distance_to_cluster": float(distances[closest])}]}


ROWS = 200_000
CASES = [
    Case(name="K-Means", image="kmeans", rows=ROWS, make=make,
         hyperparameters={"feature_dim": str(FEATURES), "k": str(K),
                          "mini_batch_size": str(BATCH), "epochs": str(EPOCHS)},
         fit=fit, predict=predict,
         notes=f"{K} clusters of {FEATURES} features, {EPOCHS} epochs of mini-batches of "
               f"{BATCH} (k × 13 centres, reduced by a weighted KMeans); the direct side "
               "reads the CSV with pandas"),
]
