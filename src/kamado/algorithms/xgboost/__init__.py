"""The built-in XGBoost algorithm (``sagemaker-xgboost`` images, algorithm mode) as a library:
its hyperparameters, its training (:mod:`.train`) and the metric definitions SageMaker fills
in for its jobs."""

from __future__ import annotations

from kamado.algorithms.xgboost.hyperparameters import EVAL_METRICS, default_metric, unquote

# AWS's number pattern for this algorithm's metrics (builtin-algorithms.md §2.4); #011 is the
# log's escaped tab.
_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
CHANNELS = ("train", "validation")


def _definition(channel: str, metric: str) -> dict:
    return {"Name": f"{channel}:{metric}",
            "Regex": f".*\\[[0-9]+\\].*#011{channel}-{metric}:{_NUMBER}.*"}


def _job_metrics(hp: dict) -> list[str]:
    """The metric names a job's evaluation lines carry: its eval_metric and tuning objective,
    else the objective's default."""
    text = unquote(hp.get("eval_metric", "")).strip()
    if text.startswith("["):
        text = text.strip("[]").replace('"', "").replace("'", "")
    names = [m.strip() for m in text.split(",") if m.strip()]
    tuning = unquote(hp.get("_tuning_objective_metric", "")).partition(":")[2].strip()
    if tuning and tuning not in names:
        names.append(tuning)
    if not names:
        try:
            power = float(unquote(hp.get("tweedie_variance_power", "1.5")))
        except ValueError:
            power = 1.5
        names = [default_metric(unquote(hp.get("objective", "reg:squarederror")).strip(),
                                power)]
    return names


def metric_definitions(hyperparameters: dict | None = None) -> list[dict]:
    """The MetricDefinitions SageMaker fills in for a job of the built-in XGBoost image:
    ``<channel>:<metric>`` for train and validation, in AWS's regex form.

    Without hyperparameters: every metric the algorithm knows. For a job (its
    hyperparameters given): the metrics its evaluation lines will carry, so that the job's
    definitions stay within CreateTrainingJob's 40 and leave room for the user's own; the
    lines carry no other metric, so the data points and FinalMetricDataList are the same."""
    metrics = list(EVAL_METRICS) if hyperparameters is None else _job_metrics(hyperparameters)
    return [_definition(channel, metric) for channel in CHANNELS for metric in metrics]


__all__ = ["EVAL_METRICS", "metric_definitions"]
