"""The built-in XGBoost algorithm (``sagemaker-xgboost`` images), as a plain library."""

from __future__ import annotations

import json

from kamado.algorithms.xgboost.hyperparameters import EVAL_METRICS, default_metric

# The number pattern of AWS's own regexes for this algorithm (builtin-algorithms.md §2.4).
_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def _value(raw) -> str:
    try:
        decoded = json.loads(raw)
    except (TypeError, ValueError):
        return str(raw)
    return decoded if isinstance(decoded, str) else str(raw)


def metric_definitions(hyperparameters: dict | None = None) -> list[dict]:
    """The MetricDefinitions SageMaker fills in for a job of the built-in XGBoost image: one
    per channel for each metric the job evaluates (its eval_metric, else the objective's
    default), in AWS's regex form with the log's ``#011`` tab."""
    hp = hyperparameters or {}
    metrics = [m.strip() for m in _value(hp.get("eval_metric", "")).split(",") if m.strip()]
    if not metrics:
        metrics = [default_metric(_value(hp.get("objective", "reg:squarederror")))]
    return [{"Name": f"{channel}:{metric}",
             "Regex": f".*\\[[0-9]+\\].*#011{channel}-{metric}:{_NUMBER}.*"}
            for channel in ("train", "validation") for metric in metrics][:40]


__all__ = ["EVAL_METRICS", "metric_definitions"]
