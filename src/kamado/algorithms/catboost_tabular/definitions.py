"""MetricDefinitions for a CatBoost job (builtin-algorithms.md §2.4, §3.20). AWS documents
one regex for every CatBoost metric, ``bestTest = ([0-9\\.]+)``: CatBoost's closing line,
the validation score of the best iteration of the job's ``eval_metric``. So a job has one
definition, named after that metric: ``catboost-regression:rmse``,
``catboost-classification:multiclass`` and so on; with ``eval_metric`` auto (whose metric
depends on the labels) it is ``catboost:best-test``. These names are kamado's own (AWS
publishes none that would read CatBoost's output)."""

from __future__ import annotations

from kamado.algorithms.catboost_tabular.hyperparameters import METRICS, REGRESSION_METRICS
from kamado.algorithms.hyperparameters import text

REGEX = r"bestTest = ([0-9\.]+)"


def metric_name(metric: str) -> str:
    task = "regression" if metric in REGRESSION_METRICS else "classification"
    return f"catboost-{task}:{metric.lower()}"


def metric_definitions(hyperparameters: dict | None = None) -> list[dict]:
    chosen = text((hyperparameters or {}).get("eval_metric", "auto"))
    name = metric_name(chosen) if chosen in METRICS else "catboost:best-test"
    return [{"Name": name, "Regex": REGEX}]
