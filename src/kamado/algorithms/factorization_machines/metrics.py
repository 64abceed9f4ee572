"""The metrics Factorization Machines reports, under AWS's names (builtin-algorithms.md §3.7):
a regressor's ``rmse``; a binary classifier's ``binary_classification_accuracy``,
``binary_classification_cross_entropy`` (mean log loss) and ``binary_f_1.000`` (F1, logged with
its beta as AWS's ``binary_f_beta`` regex expects)."""

from __future__ import annotations

import numpy as np

_EPS = 1e-12


def evaluate(scores: np.ndarray, y: np.ndarray, binary: bool) -> list[tuple[str, str, float]]:
    """[(name, "loss"|"score", value)] of scores (probabilities or values) against labels."""
    scores, y = np.asarray(scores, np.float64), np.asarray(y, np.float64)
    if not binary:
        return [("rmse", "loss", float(np.sqrt(np.mean((scores - y) ** 2))))]
    predicted = scores >= 0.5
    positive = y == 1
    p = np.clip(scores, _EPS, 1 - _EPS)
    cross_entropy = -np.mean(np.where(positive, np.log(p), np.log(1 - p)))
    tp = np.sum(predicted & positive)
    denominator = predicted.sum() + positive.sum()
    f1 = 2.0 * tp / denominator if denominator else 0.0
    return [("binary_classification_accuracy", "score", float(np.mean(predicted == positive))),
            ("binary_classification_cross_entropy", "loss", float(cross_entropy)),
            ("binary_f_1.000", "score", float(f1))]


class Running:
    """Training metrics over an epoch, from each mini-batch's outputs before its update."""

    def __init__(self, binary: bool):
        self.binary = binary
        self.n = 0
        self.sums = np.zeros(3)

    def add(self, out: np.ndarray, y: np.ndarray) -> None:
        out, y = np.asarray(out, np.float64), np.asarray(y, np.float64)
        self.n += len(y)
        if not self.binary:
            self.sums[0] += np.sum((out - y) ** 2)
            return
        p = np.clip(out, _EPS, 1 - _EPS)
        self.sums[0] += np.sum((out >= 0.5) == (y == 1))
        self.sums[1] -= np.sum(np.where(y == 1, np.log(p), np.log(1 - p)))

    def results(self) -> list[tuple[str, str, float]]:
        if not self.n:
            return []
        if not self.binary:
            return [("rmse", "loss", float(np.sqrt(self.sums[0] / self.n)))]
        return [("binary_classification_accuracy", "score", float(self.sums[0] / self.n)),
                ("binary_classification_cross_entropy", "loss", float(self.sums[1] / self.n))]
