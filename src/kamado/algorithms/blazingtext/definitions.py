"""The MetricDefinitions of a BlazingText job: AWS's metric names (builtin-algorithms.md §3.11)
over the lines AWS's job prints, ``#train_accuracy: 0.9888`` and ``#validation_accuracy: 0.9228``
(seen in real logs) and ``#mean_rho: <rho>`` (Word2Vec; the line's shape is UNCONFIRMED)."""

from __future__ import annotations

from kamado.algorithms.hyperparameters import text

_ALL = {"train:accuracy": (r"#train_accuracy: (\S+)", "supervised"),
        "validation:accuracy": (r"#validation_accuracy: (\S+)", "supervised"),
        "train:mean_rho": (r"#mean_rho: (\S+)", "word2vec")}


def _kind(hyperparameters: dict | None) -> str | None:
    raw = (hyperparameters or {}).get("mode")
    if raw is None:
        return None
    mode = text(raw)
    if mode == "supervised":
        return "supervised"
    return "word2vec" if mode in ("cbow", "skipgram", "batch_skipgram") else None


def metric_definitions(hyperparameters: dict | None = None) -> list[dict]:
    kind = _kind(hyperparameters)
    return [{"Name": name, "Regex": regex} for name, (regex, kinds) in _ALL.items()
            if kind is None or kind == kinds]
