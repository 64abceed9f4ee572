"""Random Cut Forest's hyperparameters as AWS documents them (builtin-algorithms.md §3.6):
``feature_dim`` (required, 1–10000), ``num_samples_per_tree`` (256, 1–2048), ``num_trees``
(100, 50–1000) and ``eval_metrics`` (a list of ``accuracy`` and ``precision_recall_fscore``,
both by default).

``mini_batch_size`` is accepted and has no effect: the SageMaker SDK's built-in estimators
send it with every job (``RandomCutForest`` sets 1000), and a job the SDK writes must not fail
over it. The forest is built from a sample, so there is nothing to batch.
"""

from __future__ import annotations

import ast
import json

from kamado.algorithms.hyperparameters import Number, parse
from kamado.images.program import ClientError

ALGORITHM = "Random Cut Forest"
EVAL_METRICS = ("accuracy", "precision_recall_fscore")


def eval_metrics(name: str, value: str) -> list[str]:
    """A JSON list (``["accuracy"]``, what ``json.dumps`` sends), a Python one
    (``['accuracy']``, what ``str(list)`` sends) or comma-separated names."""
    parsed = None
    for reader in (json.loads, ast.literal_eval):
        try:
            parsed = reader(value)
            break
        except (ValueError, SyntaxError):
            continue
    if isinstance(parsed, str):
        parsed = [parsed]
    if not isinstance(parsed, (list, tuple)):
        parsed = [part.strip().strip("'\"") for part in value.strip("[]").split(",")]
    names = [str(p).strip() for p in parsed if str(p).strip()]
    unknown = [n for n in names if n not in EVAL_METRICS]
    if not names or unknown:
        shown = repr(unknown[0]) if unknown else "an empty list"
        raise ClientError(f"Hyperparameter {name}: {shown} is not valid; allowed values: a list "
                          f"of {', '.join(EVAL_METRICS)}.")
    return list(dict.fromkeys(names))


SPECS = {
    "feature_dim": Number(integer=True, lo=1, hi=10000),
    "num_samples_per_tree": Number(integer=True, lo=1, hi=2048),
    "num_trees": Number(integer=True, lo=50, hi=1000),
    "eval_metrics": eval_metrics,
    "mini_batch_size": Number(integer=True, lo=1),
}
DEFAULTS = {"num_samples_per_tree": 256, "num_trees": 100, "eval_metrics": list(EVAL_METRICS)}


def validate(raw: dict) -> dict:
    """Typed values, AWS's defaults filled in; a ClientError names what is wrong."""
    return parse(raw, SPECS, DEFAULTS, ALGORITHM, required=("feature_dim",))
