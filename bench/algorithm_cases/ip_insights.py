"""IP Insights: kamado's job against the same kamado library called directly on the same CSV
(no other IP Insights implementation is installed, so the direct side is
``kamado.algorithms.ip_insights.fit``: what the ratio measures is the platform's overhead —
container start, channel download, artifact upload); and one CSV record answered by each."""

from __future__ import annotations

import numpy as np

from algorithm_cases import Case, Data

# what the direct side imports before its clock starts, as a fork server does for a job
LIBRARIES = ("kamado.algorithms.ip_insights", "kamado.algorithms.ip_insights.records")

ENTITIES = 20_000
HYPERPARAMETERS = {"num_entity_vectors": str(2 * ENTITIES), "vector_dim": "64", "epochs": "2",
                   "mini_batch_size": "10000"}


def make(rows: int, seed: int) -> Data:
    """Logins: each entity uses one to three home /24 subnets."""
    rng = np.random.default_rng(seed)
    homes = rng.integers(0, 1 << 24, size=(ENTITIES, 3))
    who = rng.integers(ENTITIES, size=rows)
    nets = homes[who, rng.integers(0, 3, rows)].astype(np.uint64)
    ips = (nets << np.uint64(8)) | rng.integers(1, 255, rows).astype(np.uint64)
    octets = [(ips >> np.uint64(s)) & np.uint64(255) for s in (24, 16, 8, 0)]
    lines = [f"user-{w},{a}.{b}.{c}.{d}\n" for w, a, b, c, d in zip(who, *octets)]
    return Data({"train": "".join(lines).encode()}, "text/csv", lines[0].encode(), "text/csv")


def fit(paths):
    from kamado.algorithms.ip_insights import fit as ipi_fit, validate
    from kamado.algorithms.ip_insights.records import read_channel

    entities, ips = read_channel(paths["train"].parent, "train")
    return ipi_fit(entities, ips, validate(HYPERPARAMETERS))


def predict(model, request: bytes):
    from kamado.algorithms.ip_insights.inference import input_fn

    entities, ips = input_fn(request, "text/csv")
    return {"predictions": model.predict(entities, ips)}


CASES = [Case(
    name="IP Insights", image="ipinsights", rows=100_000, make=make,
    hyperparameters=HYPERPARAMETERS, fit=fit, predict=predict,
    notes="64-dim vectors, 20k entities, 1 encoder layer, 2 epochs, 1+1 negatives per pair; no "
          "other IP Insights implementation is installed: the direct side is kamado's own "
          "library on the same file, so the ratio is the platform's overhead")]
