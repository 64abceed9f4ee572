"""Linear Learner's evaluation metrics (the names AWS logs and tunes on) and the binary
threshold calibration behind ``binary_classifier_model_selection_criteria``."""

from __future__ import annotations

import numpy as np


def _prf(y, pred, beta):
    tp = float(((pred == 1) & (y == 1)).sum())
    fp = float(((pred == 1) & (y == 0)).sum())
    fn = float(((pred == 0) & (y == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f = (1 + beta ** 2) * precision * recall / (beta ** 2 * precision + recall) \
        if precision + recall else 0.0
    return precision, recall, f


def threshold_for(probs: np.ndarray, y: np.ndarray, criterion: str, hp: dict) -> tuple[float, float]:
    """The threshold that serves the criterion best on (probs, y), and its score."""
    candidates = np.unique(np.quantile(probs, np.linspace(0, 1, 201)))
    best_t, best = 0.5, -np.inf
    for t in candidates:
        pred = (probs >= t).astype(int)
        precision, recall, f = _prf(y, pred, hp["f_beta"] if criterion == "f_beta" else 1.0)
        if criterion == "accuracy":
            score = float((pred == y).mean())
        elif criterion in ("f_beta", "f1"):
            score = f
        elif criterion == "precision_at_target_recall":
            score = precision if recall >= hp["target_recall"] else -1 + recall
        else:  # recall_at_target_precision
            score = recall if precision >= hp["target_precision"] else -1 + precision
        if score > best:
            best_t, best = float(t), score
    return best_t, best


def _auc(y, scores) -> float:
    pos, neg = scores[y == 1], scores[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    ranks = np.argsort(np.argsort(np.concatenate([pos, neg]))) + 1.0
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def evaluate(model, X, y, hp: dict) -> list[tuple[str, str, float]]:
    """(metric, "loss"|"score", value) for a channel, as Linear Learner reports them."""
    kind = hp["predictor_type"]
    y = np.asarray(y, np.float64)
    preds = model.predict(X)
    if kind == "regressor":
        s = np.array([p["score"] for p in preds])
        r = s - y
        out = [("mse", "loss", float((r ** 2).mean())), ("rmse", "loss", float(np.sqrt((r ** 2).mean()))),
               ("absolute_loss", "loss", float(np.abs(r).mean()))]
        var = float(((y - y.mean()) ** 2).mean())
        out.append(("r2", "score", 1 - float((r ** 2).mean()) / var if var else 0.0))
        return out
    if kind == "binary_classifier":
        p = np.array([q["score"] for q in preds])
        label = np.array([q["predicted_label"] for q in preds])
        precision, recall, f = _prf(y, label, hp["f_beta"])
        return [("binary_classification_accuracy", "score", float((label == y).mean())),
                (f"binary_f_{hp['f_beta']:g}", "score", f), ("precision", "score", precision),
                ("recall", "score", recall), ("roc_auc_score", "score", _auc(y, p))]
    P = np.array([q["score"] for q in preds])
    label = P.argmax(axis=1)
    k = min(hp["accuracy_top_k"], P.shape[1])
    top = np.argsort(-P, axis=1)[:, :k]
    classes = range(P.shape[1])
    precisions, recalls, fs = zip(*[_prf((y == c).astype(int), (label == c).astype(int), hp["f_beta"])
                                    for c in classes])
    rank = (P > P[np.arange(len(y)), y.astype(int)][:, None]).sum(axis=1) + 1
    return [("multiclass_accuracy", "score", float((label == y).mean())),
            (f"multiclass_top_k_accuracy_{k}", "score", float((top == y[:, None]).any(axis=1).mean())),
            (f"macro_f_{hp['f_beta']:g}", "score", float(np.mean(fs))),
            ("macro_precision", "score", float(np.mean(precisions))),
            ("macro_recall", "score", float(np.mean(recalls))),
            ("dcg", "score", float((1 / np.log2(rank + 1)).mean()))]
