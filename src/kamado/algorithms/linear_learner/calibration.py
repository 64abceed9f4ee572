"""Binary threshold calibration and model comparison for
``binary_classifier_model_selection_criteria``.

Every distinct score is a candidate threshold (counts from one sort, so it is exact and
O(n log n)); the chosen threshold sits halfway to the next lower score, so predictions on the
calibration rows are exactly the counted ones while new data gets some margin. The quality
returned is comparable across models: for the target-constrained criteria a model meeting the
target always beats one that does not (feasible ones score 1 + value, others value - 1).
"""

from __future__ import annotations

import numpy as np


def candidate_counts(scores: np.ndarray, y: np.ndarray):
    """(thresholds, tp, fp) for "predict 1 when score >= threshold", best scores first,
    with the "predict nothing" case first."""
    order = np.argsort(-scores, kind="stable")
    s, yy = scores[order], y[order]
    tp, fp = np.cumsum(yy), np.cumsum(1.0 - yy)
    last = np.r_[s[1:] != s[:-1], True]  # the end of each group of equal scores
    s, tp, fp = s[last], tp[last], fp[last]
    top = np.nextafter(s[0], np.inf) if len(s) else 0.0
    return np.r_[top, s], np.r_[0.0, tp], np.r_[0.0, fp]


def _quality(criterion: str, tp, fp, positives, total, hp) -> np.ndarray:
    negatives = total - positives
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = tp / positives if positives else np.zeros_like(tp)
        if criterion == "accuracy":
            return (tp + negatives - fp) / total
        if criterion == "f_beta":
            b2 = hp["f_beta"] ** 2
            denom = b2 * precision + recall
            return np.where(denom > 0, (1 + b2) * precision * recall / denom, 0.0)
    eps = 1e-12
    if criterion == "precision_at_target_recall":
        return np.where(recall >= hp["target_recall"] - eps, 1.0 + precision, recall - 1.0)
    if criterion == "recall_at_target_precision":
        return np.where(precision >= hp["target_precision"] - eps, 1.0 + recall, precision - 1.0)
    raise ValueError(f"criterion {criterion} does not calibrate a threshold")


def calibrate(scores: np.ndarray, y: np.ndarray, criterion: str, hp: dict,
              default: float) -> tuple[float, float]:
    """(threshold, quality) serving ``criterion`` best on (scores, y). Among equally good
    thresholds the one nearest the default (0.5 for probabilities, 0 for margins) wins."""
    scores = np.asarray(scores, float)
    y = np.asarray(y, float)
    thresholds, tp, fp = candidate_counts(scores, y)
    quality = _quality(criterion, tp, fp, float(y.sum()), float(len(y)), hp)
    lower = np.r_[thresholds[1:], thresholds[-1]]
    midpoints = np.where(np.arange(len(thresholds)) == 0, thresholds,
                         0.5 * (thresholds + lower))
    midpoints[-1] = thresholds[-1]  # everything positive: the lowest score itself
    best = np.nanmax(quality)
    ties = np.flatnonzero(quality >= best - 1e-12)
    pick = ties[np.argmin(np.abs(midpoints[ties] - default))]
    return float(midpoints[pick]), float(quality[pick])
