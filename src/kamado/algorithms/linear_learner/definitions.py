"""The MetricDefinitions SageMaker fills in for a Linear Learner job (builtin-algorithms.md §2.4).

The entries and regexes are verbatim those of real ``linear-learner:1`` job descriptions (37
of them), plus the three later documented for tuning (``validation:rmse``,
``validation:roc_auc_score``, ``test:roc_auc_score``, §3.2) — 40, the API's limit. When the
job's ``predictor_type`` is known only the definitions that predictor can produce are kept,
which leaves room under that limit for the user's own definitions (the others could never
match a line of the job anyway).
"""

from __future__ import annotations

import json

_Q = r"#quality_metric: host=\S+, "
# name -> (regex, predictor types that emit it; None = all)
_ALL = {
    "train:progress": (r"#progress_metric: host=\S+, completed (\S+) %", None),
    "train:throughput": (r"#throughput_metric: host=\S+, train throughput=(\S+) records/second",
                         None),
    "train:objective_loss": (_Q + r"epoch=\S+, train \S+_objective <loss>=(\S+)", None),
    "validation:objective_loss": (_Q + r"epoch=\S+, validation \S+_objective <loss>=(\S+)", None),
    "train:objective_loss:final": (_Q + r"train \S+_objective <loss>=(\S+)", None),
    "validation:objective_loss:final": (_Q + r"validation \S+_objective <loss>=(\S+)", None),
    "test:objective_loss": (_Q + r"test \S+_objective <loss>=(\S+)", None),
}
_R, _B, _M = ("regressor",), ("binary_classifier",), ("multiclass_classifier",)
for _ch, _names in (
        ("train", {"mse": _R, "absolute_loss": _R, "binary_classification_accuracy": _B,
                   "binary_f_beta": _B, "precision": _B, "recall": _B}),
        ("validation", {"mse": _R, "rmse": _R, "absolute_loss": _R,
                        "binary_classification_accuracy": _B, "binary_f_beta": _B,
                        "precision": _B, "recall": _B, "roc_auc_score": _B,
                        "multiclass_accuracy": _M, "multiclass_top_k_accuracy": _M,
                        "macro_f_beta": _M, "macro_precision": _M, "macro_recall": _M,
                        "dcg": _M}),
        ("test", {"mse": _R, "absolute_loss": _R, "binary_classification_accuracy": _B,
                  "binary_f_beta": _B, "precision": _B, "recall": _B, "roc_auc_score": _B,
                  "multiclass_accuracy": _M, "multiclass_top_k_accuracy": _M,
                  "macro_f_beta": _M, "macro_precision": _M, "macro_recall": _M, "dcg": _M})):
    for _name, _kinds in _names.items():
        if _name in ("binary_f_beta", "macro_f_beta", "multiclass_top_k_accuracy"):
            # The logged names carry beta or k (binary_f_1.000, multiclass_top_k_accuracy_3).
            stem = _name.replace("_beta", "_") if _name.endswith("f_beta") else _name + "_"
            regex = _Q + rf"{_ch} {stem}\S+ <score>=(\S+)"
        else:
            unit = "loss" if _name in ("mse", "rmse", "absolute_loss") else "score"
            regex = _Q + rf"{_ch} {_name} <{unit}>=(\S+)"
        _ALL[f"{_ch}:{_name}"] = (regex, _kinds)


def _predictor_type(hyperparameters: dict | None) -> str | None:
    raw = (hyperparameters or {}).get("predictor_type")
    if raw is None:
        return None
    try:
        raw = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        pass
    return str(raw).strip()


def metric_definitions(hyperparameters: dict | None = None) -> list[dict]:
    kind = _predictor_type(hyperparameters)
    known = kind in ("regressor", "binary_classifier", "multiclass_classifier")
    return [{"Name": name, "Regex": regex} for name, (regex, kinds) in _ALL.items()
            if not known or kinds is None or kind in kinds]
