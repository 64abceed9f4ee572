"""The MetricDefinitions of a Factorization Machines job: AWS's metric names
(builtin-algorithms.md §3.7). The regexes follow the first-party ``#quality_metric`` pattern
and Linear Learner's verbatim ones for the shared names (§2.4); AWS's own for this algorithm
are UNCONFIRMED. ``train:*`` are kamado's per-epoch lines on the training mini-batches."""

from __future__ import annotations

from kamado.algorithms.hyperparameters import text

_Q = r"#quality_metric: host=\S+, "
_B, _R = "binary_classifier", "regressor"
_ALL = {
    "train:progress": (r"#progress_metric: host=\S+, completed (\S+) %", None),
    "train:throughput": (r"#throughput_metric: host=\S+, train throughput=(\S+) records/second",
                         None),
    "test:rmse": (_Q + r"test rmse <loss>=(\S+)", _R),
    "test:binary_classification_accuracy":
        (_Q + r"test binary_classification_accuracy <score>=(\S+)", _B),
    "test:binary_classification_cross_entropy":
        (_Q + r"test binary_classification_cross_entropy <loss>=(\S+)", _B),
    "test:binary_f_beta": (_Q + r"test binary_f_\S+ <score>=(\S+)", _B),
    "train:rmse": (_Q + r"epoch=\S+, train rmse <loss>=(\S+)", _R),
    "train:binary_classification_accuracy":
        (_Q + r"epoch=\S+, train binary_classification_accuracy <score>=(\S+)", _B),
    "train:binary_classification_cross_entropy":
        (_Q + r"epoch=\S+, train binary_classification_cross_entropy <loss>=(\S+)", _B),
}


def metric_definitions(hyperparameters: dict | None = None) -> list[dict]:
    raw = (hyperparameters or {}).get("predictor_type")
    kind = None if raw is None else text(raw)
    known = kind in (_B, _R)
    return [{"Name": name, "Regex": regex} for name, (regex, kinds) in _ALL.items()
            if not known or kinds is None or kinds == kind]
