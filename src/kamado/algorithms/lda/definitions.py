"""The MetricDefinitions of an LDA job: AWS's metric name ``test:pwll``
(builtin-algorithms.md §3.9); the regex follows the first-party ``#quality_metric`` pattern
(§2.4; AWS's own is UNCONFIRMED)."""

from __future__ import annotations


def metric_definitions(hyperparameters: dict | None = None) -> list[dict]:
    return [{"Name": "test:pwll", "Regex": r"#quality_metric: host=\S+, test pwll <score>=(\S+)"}]
