"""The MetricDefinitions of a k-NN job: AWS's metric names (builtin-algorithms.md §3.5); the
regexes follow the first-party ``#quality_metric`` pattern (§2.4; AWS's own are UNCONFIRMED)."""

from __future__ import annotations

_Q = r"#quality_metric: host=\S+, "
_ALL = {"test:accuracy": (_Q + r"test accuracy <score>=(\S+)", "classifier"),
        "test:mse": (_Q + r"test mse <loss>=(\S+)", "regressor")}


def _predictor_type(hyperparameters: dict | None) -> str | None:
    raw = (hyperparameters or {}).get("predictor_type")
    return None if raw is None else str(raw).strip().strip('"')


def metric_definitions(hyperparameters: dict | None = None) -> list[dict]:
    kind = _predictor_type(hyperparameters)
    known = kind in ("classifier", "regressor")
    return [{"Name": name, "Regex": regex} for name, (regex, kinds) in _ALL.items()
            if not known or kind == kinds]
