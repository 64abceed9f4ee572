"""K-Means' hyperparameters as AWS documents them (builtin-algorithms.md §3.3).

Clients send ``eval_metrics`` several ways: the Python SDK ``json.dumps`` of a list
(``["msd", "ssd"]``), the Spark SDK ``[ssd, msd]``, hand-written jobs ``msd``; all are read.
The SDK's KMeans estimator also always sends ``force_dense=True``, which AWS's image takes
and kamado accepts and ignores (its data is dense in memory anyway).
"""

from __future__ import annotations

import json
import math

from kamado.algorithms.hyperparameters import Number, boolean, choice, parse
from kamado.images.program import ClientError

ALGORITHM = "K-Means"
METRICS = ("msd", "ssd")
_POSITIVE_INT = dict(integer=True, lo=1)


def _eval_metrics(name: str, value: str) -> list[str]:
    try:
        decoded = json.loads(value)
    except ValueError:
        decoded = [part.strip().strip("'\"") for part in value.strip().strip("[]").split(",")]
    if isinstance(decoded, str):
        decoded = [decoded]
    if (not isinstance(decoded, list) or not decoded
            or any(not isinstance(m, str) or m not in METRICS for m in decoded)):
        raise ClientError(f"Hyperparameter {name}: value {value!r} is not valid; allowed "
                          'values: a JSON list of msd and ssd, e.g. ["msd"] or ["msd", "ssd"].')
    return list(dict.fromkeys(decoded))


SPECS = {
    "feature_dim": Number(**_POSITIVE_INT),
    "k": Number(**_POSITIVE_INT),
    "mini_batch_size": Number(**_POSITIVE_INT),
    "epochs": Number(**_POSITIVE_INT),
    "init_method": choice("random", "kmeans++"),
    "extra_center_factor": Number(words=("auto",), **_POSITIVE_INT),
    "local_lloyd_init_method": choice("random", "kmeans++"),
    "local_lloyd_max_iter": Number(**_POSITIVE_INT),
    "local_lloyd_num_trials": Number(words=("auto",), **_POSITIVE_INT),
    "local_lloyd_tol": Number(lo=0, hi=1),
    "half_life_time_size": Number(integer=True, lo=0),
    "eval_metrics": _eval_metrics,
    "force_dense": boolean,
}
DEFAULTS = {
    "mini_batch_size": 5000, "epochs": 1, "init_method": "random", "extra_center_factor": "auto",
    "local_lloyd_init_method": "kmeans++", "local_lloyd_max_iter": 300,
    "local_lloyd_num_trials": "auto", "local_lloyd_tol": 0.0001, "half_life_time_size": 0,
    "eval_metrics": ["msd"], "force_dense": True,
}
REQUIRED = ("feature_dim", "k")
# kamado's own values for the two ``auto`` settings (AWS does not publish its rules): at least
# ten extra centres per cluster (the top of AWS's tuning range, 4-10), more for large data as
# streaming k-means keeps about k·log(n); and as many restarts of the final Lloyd's run as a
# fixed amount of work allows, between 10 and 50 — that run is on the K weighted centres
# only, so restarts are cheap, and they are what saves it from a poor local minimum (on
# digits, 10 restarts land up to 2.2 % above scikit-learn's inertia, 50 within 0.6 %).
MIN_AUTO_EXTRA_CENTER_FACTOR = 10
AUTO_TRIALS = (10, 50)
AUTO_TRIALS_WORK = 1e8   # restarts × K × k × feature_dim


def validate(raw: dict) -> dict:
    """Typed values, AWS's defaults filled in; a ClientError for anything else."""
    return parse(raw, SPECS, DEFAULTS, ALGORITHM, required=REQUIRED)


def extra_center_factor(hp: dict, rows: int) -> int:
    value = hp["extra_center_factor"]
    if value != "auto":
        return value
    return max(MIN_AUTO_EXTRA_CENTER_FACTOR, math.ceil(math.log(max(rows, 2))))


def local_lloyd_num_trials(hp: dict, centres: int) -> int:
    """Restarts of the reduction of ``centres`` weighted centres to k."""
    value = hp["local_lloyd_num_trials"]
    if value != "auto":
        return value
    fits = int(AUTO_TRIALS_WORK // max(1, centres * hp["k"] * hp["feature_dim"]))
    return min(max(fits, AUTO_TRIALS[0]), AUTO_TRIALS[1])
