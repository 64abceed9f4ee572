"""Factorization Machines: kamado's job against the same kamado library called directly on the
same RecordIO file, read by the same fast sparse reader (no other factorization machine library
is installed, so the direct side is ``kamado.algorithms.factorization_machines.fit``: what the
ratio measures is the platform's overhead — container start, channel download, artifact
upload); and one sparse JSON record answered by each."""

from __future__ import annotations

import io
import json

import numpy as np
import scipy.sparse as sp

from algorithm_cases import Case, Data

# what the direct side imports before its clock starts, as a fork server does for a job
LIBRARIES = ("scipy.sparse", "kamado.algorithms.recordio", "kamado.algorithms.sparse_recordio",
             "kamado.algorithms.factorization_machines")

USERS, ITEMS, CONTEXTS, FACTORS = 40_000, 8_000, 16, 64
WIDTH = USERS + ITEMS + CONTEXTS
HYPERPARAMETERS = {"feature_dim": str(WIDTH), "num_factors": str(FACTORS),
                   "predictor_type": "binary_classifier", "epochs": "1",
                   "mini_batch_size": "1000"}


def make(rows: int, seed: int) -> Data:
    """Clicks of one-hot user × item × context rows from latent factors."""
    from kamado.algorithms import recordio

    rng = np.random.default_rng(seed)
    U, I = rng.normal(size=(USERS, 4)), rng.normal(size=(ITEMS, 4))
    u, i, c = rng.integers(USERS, size=rows), rng.integers(ITEMS, size=rows), \
        rng.integers(CONTEXTS, size=rows)
    y = (rng.random(rows) < 1 / (1 + np.exp(1 - np.einsum("ij,ij->i", U[u], I[i])))) \
        .astype(np.float32)
    cols = np.column_stack([u, USERS + i, USERS + ITEMS + c]).ravel()
    X = sp.csr_matrix((np.ones(3 * rows, np.float32), (np.repeat(np.arange(rows), 3), cols)),
                      shape=(rows, WIDTH))
    buf = io.BytesIO()
    recordio.write_records(buf, X, y)
    request = {"instances": [{"data": {"features": {
        "keys": X[0].indices.tolist(), "shape": [WIDTH], "values": X[0].data.tolist()}}}]}
    return Data({"train": buf.getvalue()}, None, json.dumps(request).encode(),
                "application/json")


def fit(paths):
    from kamado.algorithms import recordio
    from kamado.algorithms.factorization_machines import fit as fm_fit, validate
    from kamado.algorithms.sparse_recordio import read_sparse

    body = paths["train"].read_bytes()
    X, y = read_sparse(body) or recordio.read_arrays(body)
    X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], WIDTH))
    return fm_fit(X, y, validate(HYPERPARAMETERS))


def predict(model, request: bytes):
    from kamado.serving.formats import read_json

    X = read_json(request)
    X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], WIDTH))
    return {"predictions": model.predict(X)}


CASES = [Case(
    name="Factorization Machines", image="factorization-machines", rows=300_000, make=make,
    hyperparameters=HYPERPARAMETERS, fit=fit, predict=predict,
    notes="binary classifier, 64 factors, 48k one-hot features (3 per row), 1 epoch; no other "
          "FM library is installed: the direct side is kamado's own library on the same file, "
          "so the ratio is the platform's overhead. Both sides read the file with FM's fast "
          "sparse RecordIO reader")]
