"""IP Insights' metrics: the discriminator's ROC AUC, and a batch's accuracy and cross
entropy, in NumPy only."""

from __future__ import annotations

import numpy as np

_EPS = 1e-12


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (ties count a half), by the rank-sum formula."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels) == 1
    positives, negatives = labels.sum(), (~labels).sum()
    if not positives or not negatives:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores))
    # average ranks over ties
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], len(scores)]
    average = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(average, ends - starts)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def batch_metrics(prob: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(accuracy at 0.5, mean cross entropy) of probabilities against 0/1 labels."""
    p = np.clip(np.asarray(prob, np.float64), _EPS, 1 - _EPS)
    positive = labels == 1
    accuracy = float(np.mean((p >= 0.5) == positive))
    entropy = float(-np.mean(np.where(positive, np.log(p), np.log(1 - p))))
    return accuracy, entropy
