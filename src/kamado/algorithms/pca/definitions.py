"""The MetricDefinitions of a PCA job: AWS documents no PCA metric for tuning
(builtin-algorithms.md §3.4), so only the progress and throughput lines every first-party
algorithm prints (Linear Learner's regexes; UNCONFIRMED for PCA)."""

from __future__ import annotations

_ALL = {
    "train:progress": r"#progress_metric: host=\S+, completed (\S+) %",
    "train:throughput": r"#throughput_metric: host=\S+, train throughput=(\S+) records/second",
}


def metric_definitions(hyperparameters: dict | None = None) -> list[dict]:
    return [{"Name": name, "Regex": regex} for name, regex in _ALL.items()]
