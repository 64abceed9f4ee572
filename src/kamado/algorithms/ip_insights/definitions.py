"""The MetricDefinitions SageMaker fills in for an IP Insights job: names and regexes verbatim
from real job descriptions (builtin-algorithms.md §2.4)."""

from __future__ import annotations

_Q = r"#quality_metric: host=\S+, "
_TRAIN = {"binary_classification_accuracy": "score", "binary_classification_cross_entropy": "loss"}


def metric_definitions(hyperparameters: dict | None = None) -> list[dict]:
    definitions = [
        {"Name": "train:progress", "Regex": r"#progress_metric: host=\S+, completed (\S+) %"},
        {"Name": "train:throughput",
         "Regex": r"#throughput_metric: host=\S+, train throughput=(\S+) records/second"},
        {"Name": "validation:discriminator_auc",
         "Regex": _Q + r"epoch=\S+, validation discriminator_auc <score>=(\S+)"},
    ]
    for name, kind in _TRAIN.items():
        definitions.append({"Name": f"train:{name}",
                            "Regex": _Q + rf"epoch=\S+, batch=\S+ train {name} <{kind}>=(\S+)"})
        definitions.append({"Name": f"train:{name}:epoch",
                            "Regex": _Q + rf"epoch=\S+, train {name} <{kind}>=(\S+)"})
    return definitions
