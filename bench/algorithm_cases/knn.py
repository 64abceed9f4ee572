"""k-NN: kamado's job against faiss called directly on the same CSV (pandas reads it, as a
user would), with the same index and settings; and one CSV record answered by each."""

from __future__ import annotations

import io
import math

import numpy as np

from algorithm_cases import Case, Data, csv

# what the direct side imports before its clock starts, as a fork server does for a job
LIBRARIES = ("pandas", "faiss")

FEATURES, CLASSES, K = 32, 10, 10


def make(rows: int, seed: int) -> Data:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(CLASSES, FEATURES))
    y = rng.integers(0, CLASSES, rows)
    X = centres[y] + rng.normal(size=(rows, FEATURES))
    request = ",".join(f"{v:.6g}" for v in X[0]) + "\n"
    return Data({"train": csv(X, y)}, "text/csv", request.encode(), "text/csv")


def fitter(pq_m: int | None):
    """The direct call: pandas reads the CSV, faiss builds the index kamado builds for the
    case's hyperparameters (√rows lists; kamado's nprobe) and writes it to disk with the
    labels, as a script that keeps its model does (the job writes both into model_algo-1)."""
    def fit(paths):
        import faiss
        import pandas as pd

        frame = pd.read_csv(paths["train"], header=None, dtype=np.float32)
        y = frame.iloc[:, 0].to_numpy()
        X = np.ascontiguousarray(frame.iloc[:, 1:].to_numpy())
        lists = int(round(math.sqrt(len(X))))
        quantizer = faiss.IndexFlatL2(FEATURES)
        index = faiss.IndexIVFFlat(quantizer, FEATURES, lists) if pq_m is None else \
            faiss.IndexIVFPQ(quantizer, FEATURES, lists, pq_m, 8)
        index.train(X)
        index.add(X)
        index.nprobe = min(lists, max(8, lists // 8))
        saved = paths["train"].parent
        faiss.write_index(index, str(saved / "direct.faiss"))
        np.save(saved / "direct-labels.npy", y)
        return index, y
    return fit


def predict(model, request: bytes):
    index, y = model
    X = np.loadtxt(io.BytesIO(request), delimiter=",", dtype=np.float32, ndmin=2)
    _, ids = index.search(X, K)
    votes = np.bincount(y[ids[0]].astype(int))
    return {"predictions": [{"predicted_label": float(np.argmax(votes))}]}


ROWS = 300_000
BASE = {"feature_dim": str(FEATURES), "k": str(K), "sample_size": str(ROWS),
        "predictor_type": "classifier"}
CASES = [
    Case(name="k-NN IVFPQ", image="knn", rows=ROWS, make=make,
         hyperparameters={**BASE, "index_type": "faiss.IVFPQ", "faiss_index_pq_m": "8"},
         fit=fitter(8), predict=predict,
         notes="faiss.IVFPQ (√rows lists, 8 sub-quantizers) on 32 features, 10 classes; the "
               "direct side reads the CSV with pandas and writes the index and labels to disk"),
    Case(name="k-NN IVFFlat", image="knn", rows=ROWS, make=make,
         hyperparameters={**BASE, "index_type": "faiss.IVFFlat"},
         fit=fitter(None), predict=predict,
         notes="faiss.IVFFlat: the model holds every vector (40 MB here); both sides write it "
               "to disk, and the job also gzips it into model.tar.gz and stores it"),
]
