"""IP Insights' hyperparameters as AWS documents them (builtin-algorithms.md §3.8).

``feature_dim`` is accepted and ignored: the SDK's ``IPInsights`` estimator, like every
first-party estimator, sends the ``feature_dim`` of a RecordSet it is given (kamado's choice;
whether AWS's image accepts it is unconfirmed)."""

from __future__ import annotations

from kamado.algorithms.hyperparameters import Number, parse

ALGORITHM = "IP Insights"
SPECS = {
    "num_entity_vectors": Number(integer=True, lo=1, hi=250_000_000),
    "vector_dim": Number(integer=True, lo=4, hi=4096),
    "epochs": Number(integer=True, lo=1),
    "learning_rate": Number(lo=1e-6, hi=10.0),
    "mini_batch_size": Number(integer=True, lo=1, hi=500_000),
    "num_ip_encoder_layers": Number(integer=True, lo=0, hi=100),
    "random_negative_sampling_rate": Number(integer=True, lo=0, hi=500),
    "shuffled_negative_sampling_rate": Number(integer=True, lo=0, hi=500),
    "weight_decay": Number(lo=0, hi=10.0),
    "batch_metrics_publish_interval": Number(integer=True, lo=1),
    "feature_dim": Number(integer=True, lo=1),
}
DEFAULTS = {
    "epochs": 10, "learning_rate": 0.001, "mini_batch_size": 10000,
    "num_ip_encoder_layers": 1, "random_negative_sampling_rate": 1,
    "shuffled_negative_sampling_rate": 1, "weight_decay": 0.00001,
    "batch_metrics_publish_interval": 1000,
}
REQUIRED = ("num_entity_vectors", "vector_dim")


def validate(raw: dict) -> dict:
    return parse(raw, SPECS, DEFAULTS, ALGORITHM, required=REQUIRED)
