"""The quality metrics Linear Learner logs for its final model on validation and test data,
by the names AWS logs (and tunes on): ``<channel> <name> <loss|score>=<value>``."""

from __future__ import annotations

import numpy as np


def _safe_div(a: float, b: float) -> float:
    return a / b if b else 0.0


def _prf(y: np.ndarray, pred: np.ndarray, beta: float) -> tuple[float, float, float]:
    tp = float(np.sum((pred == 1) & (y == 1)))
    fp = float(np.sum((pred == 1) & (y == 0)))
    fn = float(np.sum((pred == 0) & (y == 1)))
    precision, recall = _safe_div(tp, tp + fp), _safe_div(tp, tp + fn)
    b2 = beta * beta
    return precision, recall, _safe_div((1 + b2) * precision * recall, b2 * precision + recall)


def roc_auc(y: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: the Mann-Whitney statistic with tied scores at their mean rank."""
    positives = int(np.sum(y == 1))
    negatives = len(y) - positives
    if not positives or not negatives:
        return float("nan")
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    mean_rank = ends - (counts - 1) / 2.0  # 1-based mean rank of each distinct score
    rank_sum = float(mean_rank[inverse][y == 1].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def regression(pred: np.ndarray, y: np.ndarray) -> list[tuple[str, str, float]]:
    r = np.asarray(pred, float) - y
    mse = float(np.mean(r * r))
    return [("mse", "loss", mse), ("rmse", "loss", float(np.sqrt(mse))),
            ("absolute_loss", "loss", float(np.mean(np.abs(r))))]


def binary(scores: np.ndarray, labels: np.ndarray, y: np.ndarray,
           f_beta: float) -> list[tuple[str, str, float]]:
    precision, recall, f = _prf(y, labels, f_beta)
    return [("binary_classification_accuracy", "score", float(np.mean(labels == y))),
            (f"binary_f_{f_beta:.3f}", "score", f), ("precision", "score", precision),
            ("recall", "score", recall), ("roc_auc_score", "score", roc_auc(y, scores))]


def multiclass(probs: np.ndarray, y: np.ndarray, top_k: int,
               f_beta: float) -> list[tuple[str, str, float]]:
    y = y.astype(np.intp)
    n, classes = probs.shape
    labels = probs.argmax(axis=1)
    k = min(top_k, classes)
    true_p = probs[np.arange(n), y]
    # Rank of the true class (1 = best); ties count in the class's favour, as top-k does.
    rank = (probs > true_p[:, None]).sum(axis=1) + 1
    per_class = [_prf((y == c).astype(int), (labels == c).astype(int), f_beta)
                 for c in range(classes)]
    present = [c for c in range(classes) if np.any(y == c)]
    macro_recall = float(np.mean([per_class[c][1] for c in present])) if present else 0.0
    return [("multiclass_accuracy", "score", float(np.mean(labels == y))),
            (f"multiclass_top_k_accuracy_{k}", "score", float(np.mean(rank <= k))),
            ("dcg", "score", float(np.mean(1.0 / np.log2(rank + 1.0)))),
            ("macro_recall", "score", macro_recall),
            ("macro_precision", "score", float(np.mean([p[0] for p in per_class]))),
            (f"macro_f_{f_beta:.3f}", "score", float(np.mean([p[2] for p in per_class]))),
            ("multiclass_balanced_accuracy", "score", macro_recall),
            ("multiclass_log_loss", "score", float(np.mean(-np.log(np.maximum(true_p, 1e-15)))))]
