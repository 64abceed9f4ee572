"""LDA's hyperparameters as AWS documents them (builtin-algorithms.md §3.9)."""

from __future__ import annotations

from kamado.algorithms.hyperparameters import POSITIVE, Number, parse

ALGORITHM = "LDA"
SPECS = {
    "num_topics": Number(integer=True, lo=1),
    "feature_dim": Number(integer=True, lo=1),
    "mini_batch_size": Number(integer=True, lo=1),
    "alpha0": Number(**POSITIVE),
    "max_restarts": Number(integer=True, lo=1),
    "max_iterations": Number(integer=True, lo=1),
    "tol": Number(**POSITIVE),
}
DEFAULTS = {"alpha0": 1.0, "max_restarts": 10, "max_iterations": 1000, "tol": 1e-8}
REQUIRED = ("num_topics", "feature_dim", "mini_batch_size")


def validate(raw: dict) -> dict:
    return parse(raw, SPECS, DEFAULTS, ALGORITHM, required=REQUIRED)
