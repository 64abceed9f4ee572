"""The evaluation metrics AWS's container adds to XGBoost's own (accuracy, f1, mse, …), in
numpy: the algorithm image imports neither scikit-learn nor anything else slow to load.

They receive XGBoost's transformed predictions (probabilities, or class indexes for
``multi:softmax``); class predictions are the argmax of a row or the rounded value, as in
AWS's ``custom_metrics.py``. AWS's ``f1`` is the macro average.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def _classes(pred: np.ndarray) -> np.ndarray:
    return pred.argmax(axis=1) if pred.ndim == 2 else np.rint(pred)


def _confusion(y: np.ndarray, pred: np.ndarray):
    """Per class (over the classes of y and pred): true positives, predicted, actual."""
    labels = np.union1d(y, pred)
    tp = np.array([np.sum((y == c) & (pred == c)) for c in labels], float)
    predicted = np.array([np.sum(pred == c) for c in labels], float)
    actual = np.array([np.sum(y == c) for c in labels], float)
    return labels, tp, predicted, actual


def _ratio(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def _scores(y, pred, kind: str, average: str) -> float:
    labels, tp, predicted, actual = _confusion(y, pred)
    if average == "binary":
        keep = labels == 1
        tp, predicted, actual = tp[keep], predicted[keep], actual[keep]
        if not keep.any():
            return 0.0
    elif average == "micro":
        tp, predicted, actual = tp.sum(keepdims=True), predicted.sum(keepdims=True), \
            actual.sum(keepdims=True)
    else:  # macro over the classes the labels hold, as scikit-learn does
        present = np.isin(labels, y)
        tp, predicted, actual = tp[present], predicted[present], actual[present]
    precision, recall = _ratio(tp, predicted), _ratio(tp, actual)
    if kind == "precision":
        return float(precision.mean())
    if kind == "recall":
        return float(recall.mean())
    return float(_ratio(2 * precision * recall, precision + recall).mean())


def _accuracy(y, pred):
    return float(np.mean(y == _classes(pred)))


def _balanced_accuracy(y, pred):
    got = _classes(pred)
    return float(np.mean([np.mean(got[y == c] == c) for c in np.unique(y)]))


def _mse(y, pred):
    return float(np.mean((y - pred) ** 2))


def _r2(y, pred):
    total = np.sum((y - y.mean()) ** 2)
    return float(1 - np.sum((y - pred) ** 2) / total) if total > 0 else 0.0


def _classification(kind: str, average: str):
    return lambda y, pred: _scores(y, _classes(pred), kind, average)


FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": _accuracy,
    "balanced_accuracy": _balanced_accuracy,
    "f1": _classification("f1", "macro"),
    "f1_binary": _classification("f1", "binary"),
    "f1_macro": _classification("f1", "macro"),
    "precision": _classification("precision", "binary"),
    "precision_macro": _classification("precision", "macro"),
    "precision_micro": _classification("precision", "micro"),
    "recall": _classification("recall", "binary"),
    "recall_macro": _classification("recall", "macro"),
    "recall_micro": _classification("recall", "micro"),
    "mse": _mse,
    "r2": _r2,
}


def custom_metric(names: list[str]):
    """An ``xgboost.train(custom_metric=…)`` function computing ``names``, or None."""
    if not names:
        return None

    def evaluate(pred: np.ndarray, dmatrix) -> list[tuple[str, float]]:
        y = dmatrix.get_label()
        pred = np.asarray(pred)
        if pred.ndim == 2 and pred.shape[1] == 1:
            pred = pred[:, 0]
        return [(name, FUNCTIONS[name](y, pred)) for name in names]
    return evaluate
