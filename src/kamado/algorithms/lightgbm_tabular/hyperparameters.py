"""LightGBM's hyperparameters under AWS's names, defaults and ranges (builtin-algorithms.md
§3.19, AWS's "LightGBM hyperparameters" page). Ranges the page leaves open (signs of
max_delta_step, verbosity) follow LightGBM's own rules."""

from __future__ import annotations

from kamado.algorithms.hyperparameters import Number, boolean, choice, parse
from kamado.algorithms.tabular.task import BINARY, MULTICLASS, REGRESSION

ALGORITHM = "LightGBM"
REGRESSION_METRICS = ("rmse", "l1", "l2", "huber", "fair")
BINARY_METRICS = ("binary_logloss", "binary_error", "auc", "average_precision", "cross_entropy")
MULTICLASS_METRICS = ("multi_logloss", "multi_error", "auc_mu")
METRICS = ("rmse", "l1", "l2", "huber", "fair", "binary_logloss", "binary_error", "auc",
           "average_precision", "multi_logloss", "multi_error", "auc_mu", "cross_entropy")
# metric=auto: AWS's documented choice per task
AUTO_METRIC = {REGRESSION: "rmse", BINARY: "binary_logloss", MULTICLASS: "multi_logloss"}

SPECS = {
    "num_boost_round": Number(integer=True, lo=1),
    "early_stopping_rounds": Number(integer=True),   # <= 0: no early stopping
    "metric": choice("auto", *METRICS),
    "learning_rate": Number(lo=0, hi=1, lo_open=True, hi_open=True),
    "num_leaves": Number(integer=True, lo=1, hi=131072, lo_open=True),
    "feature_fraction": Number(lo=0, hi=1, lo_open=True),
    "bagging_fraction": Number(lo=0, hi=1, lo_open=True),
    "bagging_freq": Number(integer=True, lo=0),
    "max_depth": Number(integer=True),                # <= 0: no limit
    "min_data_in_leaf": Number(integer=True, lo=0),
    "max_delta_step": Number(),
    "lambda_l1": Number(lo=0),
    "lambda_l2": Number(lo=0),
    "boosting": choice("gbdt", "rf", "dart", "goss"),
    "min_gain_to_split": Number(lo=0),
    "scale_pos_weight": Number(lo=0, lo_open=True),
    "tree_learner": choice("serial", "feature", "data", "voting"),
    "feature_fraction_bynode": Number(lo=0, hi=1, lo_open=True),
    "is_unbalance": boolean,
    "max_bin": Number(integer=True, lo=1, lo_open=True),
    "tweedie_variance_power": Number(lo=1, hi=2, hi_open=True),
    "num_threads": Number(integer=True, lo=0),
    "verbosity": Number(integer=True),
}
DEFAULTS = {
    "num_boost_round": 100, "early_stopping_rounds": 10, "metric": "auto",
    "learning_rate": 0.1, "num_leaves": 64, "feature_fraction": 0.9, "bagging_fraction": 0.9,
    "bagging_freq": 1, "max_depth": 6, "min_data_in_leaf": 3, "max_delta_step": 0.0,
    "lambda_l1": 0.0, "lambda_l2": 0.0, "boosting": "gbdt", "min_gain_to_split": 0.0,
    "scale_pos_weight": 1.0, "tree_learner": "serial", "feature_fraction_bynode": 1.0,
    "is_unbalance": False, "max_bin": 255, "tweedie_variance_power": 1.5, "num_threads": 0,
    "verbosity": 1,
}


def validate(raw: dict) -> dict:
    return parse(raw, SPECS, DEFAULTS, ALGORITHM)


def metric_kind(metric: str) -> str | None:
    """The task a metric belongs to, for the task rule (kamado.algorithms.tabular.task)."""
    if metric in REGRESSION_METRICS:
        return REGRESSION
    if metric in MULTICLASS_METRICS:
        return MULTICLASS
    if metric in BINARY_METRICS:
        return BINARY
    return None


def library_params(hp: dict, task: str, classes: int, given=()) -> dict:
    """The parameters handed to ``lightgbm.train`` (num_boost_round and early stopping go
    to train itself); ``given``: the names the job set itself."""
    objective = {REGRESSION: "regression", BINARY: "binary", MULTICLASS: "multiclass"}[task]
    metric = AUTO_METRIC[task] if hp["metric"] == "auto" else hp["metric"]
    params = {k: v for k, v in hp.items()
              if k not in ("num_boost_round", "early_stopping_rounds", "metric")}
    params.update(objective=objective, metric=metric)
    if task == MULTICLASS:
        params["num_class"] = classes
    if task != BINARY:  # binary-only settings; LightGBM warns about them otherwise
        params.pop("scale_pos_weight")
        params.pop("is_unbalance")
    elif params["is_unbalance"]:
        # LightGBM refuses both at once; is_unbalance is the explicit request
        params.pop("scale_pos_weight")
    if params["boosting"] == "goss" and not {"bagging_fraction", "bagging_freq"} & set(given):
        # GOSS samples rows its own way and LightGBM refuses it with bagging, which AWS's
        # defaults (0.9 every round) turn on: only bagging the user asked for is kept
        params["bagging_freq"] = 0
    return params
