"""The MetricDefinitions kamado fills in for a Random Cut Forest job: the test channel's
metrics, in the ``#quality_metric`` shape of AWS's first-party algorithms
(builtin-algorithms.md §2.4). ``test:f1`` is the documented tuning objective (maximize); the
regexes of AWS's own auto-populated definitions for this image are not published, so these
follow the shape those of Linear Learner and K-Means have (UNCONFIRMED for RCF).
"""

from __future__ import annotations

_NAMES = ("f1", "accuracy", "precision", "recall")


def metric_definitions(hyperparameters: dict | None = None) -> list[dict]:
    return [{"Name": f"test:{name}",
             "Regex": rf"#quality_metric: host=\S+, test {name} <score>=(\S+)"}
            for name in _NAMES]
