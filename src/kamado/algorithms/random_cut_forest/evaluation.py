"""The test channel's metrics (AWS: "RCF calculates anomaly scores for test data points and
then labels the data points as anomalous if their scores are beyond three standard deviations
from the mean score"; the labels: 1 anomaly, 0 normal).

The mean and standard deviation are those of the test channel's own scores, as that sentence
reads; beyond means above (a score below the mean is never an anomaly).
"""

from __future__ import annotations

import numpy as np

# eval_metrics value -> the metrics it logs, in AWS's names
METRICS = {"accuracy": ("accuracy",), "precision_recall_fscore": ("precision", "recall", "f1")}


def threshold(scores: np.ndarray) -> float:
    return float(np.mean(scores) + 3.0 * np.std(scores))


def evaluate(scores: np.ndarray, labels: np.ndarray, eval_metrics) -> list[tuple[str, float]]:
    """[(name, value)] for the requested ``eval_metrics``; a ratio with no denominator is 0."""
    truth = np.asarray(labels) == 1
    flagged = np.asarray(scores) > threshold(scores)
    tp = float(np.sum(flagged & truth))
    values = {
        "accuracy": float(np.mean(flagged == truth)),
        "precision": tp / flagged.sum() if flagged.any() else 0.0,
        "recall": tp / truth.sum() if truth.any() else 0.0,
    }
    p, r = values["precision"], values["recall"]
    values["f1"] = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return [(name, float(values[name])) for metric in eval_metrics for name in METRICS[metric]]
