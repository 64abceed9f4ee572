"""The MetricDefinitions of a K-Means job (builtin-algorithms.md §2.4, §3.3): ``test:msd``
is verbatim from a real tuning job; ``test:ssd`` and ``train:msd`` follow the same
``#quality_metric`` pattern, and ``train:progress`` / ``train:throughput`` Linear Learner's
(those four regexes are UNCONFIRMED for K-Means)."""

from __future__ import annotations

_Q = r"#quality_metric: host=\S+, "
_ALL = {
    "test:msd": _Q + r"test msd <loss>=(\S+)",
    "test:ssd": _Q + r"test ssd <loss>=(\S+)",
    "train:msd": _Q + r"train msd <loss>=(\S+)",
    "train:progress": r"#progress_metric: host=\S+, completed (\S+) %",
    "train:throughput": r"#throughput_metric: host=\S+, train throughput=(\S+) records/second",
}


def metric_definitions(hyperparameters: dict | None = None) -> list[dict]:
    return [{"Name": name, "Regex": regex} for name, regex in _ALL.items()]
