"""MetricDefinitions for a LightGBM job (builtin-algorithms.md §2.4, §3.19): one per metric
AWS lists, each with AWS's regex ``<metric>: ([0-9\\.]+)``, which reads LightGBM's own
evaluation lines (``[12]\tvalidation's multi_logloss: 0.0833``).

Names follow JumpStart's one published default, ``lightgbm-classification:multi-log-loss``;
the others are built the same way and are UNCONFIRMED. When the job's ``metric`` is set, only
its definition is kept (the others never match a line of the job)."""

from __future__ import annotations

from kamado.algorithms.hyperparameters import text
from kamado.algorithms.lightgbm_tabular.hyperparameters import METRICS, REGRESSION_METRICS


def metric_name(metric: str) -> str:
    task = "regression" if metric in REGRESSION_METRICS else "classification"
    return f"lightgbm-{task}:" + metric.replace("logloss", "log_loss").replace("_", "-")


def metric_definitions(hyperparameters: dict | None = None) -> list[dict]:
    chosen = text((hyperparameters or {}).get("metric", "auto"))
    metrics = [chosen] if chosen in METRICS else list(METRICS)
    return [{"Name": metric_name(m), "Regex": f"{m}: ([0-9\\.]+)"} for m in metrics]
