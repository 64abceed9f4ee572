"""The built-in Linear Learner (``linear-learner`` images), as a plain library."""

from __future__ import annotations

from kamado.algorithms.linear_learner.model import LinearModel, load_model

_HOST = r"#quality_metric: host=\S+, "


def metric_definitions(hyperparameters: dict | None = None) -> list[dict]:
    """The MetricDefinitions SageMaker fills in for a Linear Learner job (regexes verbatim
    from real job descriptions; builtin-algorithms.md §2.4)."""
    out = [{"Name": "train:progress", "Regex": r"#progress_metric: host=\S+, completed (\S+) %"},
           {"Name": "train:throughput",
            "Regex": r"#throughput_metric: host=\S+, train throughput=(\S+) records/second"}]
    for ch in ("train", "validation"):
        out.append({"Name": f"{ch}:objective_loss",
                    "Regex": _HOST + rf"epoch=\S+, {ch} \S+_objective <loss>=(\S+)"})
    for ch in ("train", "validation", "test"):
        out.append({"Name": f"{ch}:objective_loss:final" if ch != "test" else "test:objective_loss",
                    "Regex": _HOST + rf"{ch} \S+_objective <loss>=(\S+)"})
    for ch in ("validation", "test"):
        for m in ("mse", "absolute_loss", "rmse"):
            out.append({"Name": f"{ch}:{m}", "Regex": _HOST + rf"{ch} {m} <loss>=(\S+)"})
        for m in ("binary_classification_accuracy", "precision", "recall", "roc_auc_score",
                  "multiclass_accuracy", "macro_precision", "macro_recall", "dcg"):
            out.append({"Name": f"{ch}:{m}", "Regex": _HOST + rf"{ch} {m} <score>=(\S+)"})
        out.append({"Name": f"{ch}:binary_f_beta", "Regex": _HOST + rf"{ch} binary_f_\S+ <score>=(\S+)"})
        out.append({"Name": f"{ch}:macro_f_beta", "Regex": _HOST + rf"{ch} macro_f_\S+ <score>=(\S+)"})
        out.append({"Name": f"{ch}:multiclass_top_k_accuracy",
                    "Regex": _HOST + rf"{ch} multiclass_top_k_accuracy_\S+ <score>=(\S+)"})
    return out[:40]


__all__ = ["LinearModel", "load_model", "metric_definitions"]
