"""CatBoost's hyperparameters under AWS's names, defaults and ranges (builtin-algorithms.md
§3.20, AWS's "CatBoost hyperparameters" page). Ranges the page leaves open follow CatBoost's
own rules (l2_leaf_reg, random_strength, bagging_temperature >= 0; min_data_in_leaf >= 1)."""

from __future__ import annotations

from kamado.algorithms.hyperparameters import Number, choice, parse
from kamado.algorithms.tabular.task import BINARY, MULTICLASS, REGRESSION
from kamado.images.program import ClientError

ALGORITHM = "CatBoost"
REGRESSION_METRICS = ("RMSE", "MAE", "MedianAbsoluteError", "R2")
# CatBoost computes these as one value for two classes only
BINARY_METRICS = ("Logloss", "AUC", "Precision", "Recall", "F1", "BalancedAccuracy")
CLASSIFICATION_METRICS = ("Accuracy",)
METRICS = ("RMSE", "MAE", "MedianAbsoluteError", "R2", "Logloss", "Precision", "Recall", "F1",
           "AUC", "MultiClass", "Accuracy", "BalancedAccuracy")
LOSS = {REGRESSION: "RMSE", BINARY: "Logloss", MULTICLASS: "MultiClass"}


def _max_bin(name: str, value: str):
    if value.lower() == "auto":
        return "Auto"
    return Number(integer=True, lo=1, hi=65535, words=("Auto",))(name, value)


SPECS = {
    "iterations": Number(integer=True, lo=1),
    "early_stopping_rounds": Number(integer=True),   # <= 0: no early stopping
    "eval_metric": choice("auto", *METRICS),
    "learning_rate": Number(lo=0, hi=1, lo_open=True, hi_open=True),
    "depth": Number(integer=True, lo=1, hi=16),
    "l2_leaf_reg": Number(lo=0),
    "random_strength": Number(lo=0),
    "max_leaves": Number(integer=True, lo=2, hi=64),
    "rsm": Number(lo=0, hi=1, lo_open=True),
    "sampling_frequency": choice("PerTreeLevel", "PerTree"),
    "min_data_in_leaf": Number(integer=True, lo=1),
    "bagging_temperature": Number(lo=0),
    "boosting_type": choice("Auto", "Ordered", "Plain"),
    "scale_pos_weight": Number(lo=0, lo_open=True),
    "max_bin": _max_bin,
    "grow_policy": choice("SymmetricTree", "Depthwise", "Lossguide"),
    "random_seed": Number(integer=True, lo=0),
    "thread_count": Number(integer=True, lo=-1),
    "verbose": Number(integer=True, lo=0),
}
DEFAULTS = {
    "iterations": 500, "early_stopping_rounds": 5, "eval_metric": "auto", "learning_rate": 0.009,
    "depth": 6, "l2_leaf_reg": 3.0, "random_strength": 1.0, "max_leaves": 31, "rsm": 1.0,
    "sampling_frequency": "PerTreeLevel", "min_data_in_leaf": 1, "bagging_temperature": 1.0,
    "boosting_type": "Auto", "scale_pos_weight": 1.0, "max_bin": "Auto",
    "grow_policy": "SymmetricTree", "random_seed": 1, "thread_count": -1, "verbose": 1,
}


def validate(raw: dict) -> dict:
    hp = parse(raw, SPECS, DEFAULTS, ALGORITHM)
    if hp["thread_count"] == 0:
        raise ClientError("Hyperparameter thread_count: value 0 is not valid; allowed values: "
                          "-1 (all cores) or a positive integer.")
    return hp


def metric_kind(metric: str) -> str | None:
    if metric in REGRESSION_METRICS:
        return REGRESSION
    if metric == "MultiClass":
        return MULTICLASS
    if metric in BINARY_METRICS:
        return BINARY
    if metric in CLASSIFICATION_METRICS:
        return "classification"
    return None


def library_params(hp: dict, task: str) -> dict:
    """The keyword arguments of ``CatBoostClassifier`` / ``CatBoostRegressor``: the
    settings CatBoost accepts only with some grow policies or tasks are passed only there
    (CatBoost refuses them elsewhere)."""
    params = {k: hp[k] for k in ("iterations", "learning_rate", "depth", "l2_leaf_reg",
                                 "random_strength", "rsm", "sampling_frequency",
                                 "bagging_temperature", "grow_policy", "random_seed",
                                 "thread_count", "verbose")}
    params["loss_function"] = LOSS[task]
    params["eval_metric"] = LOSS[task] if hp["eval_metric"] == "auto" else hp["eval_metric"]
    if hp["early_stopping_rounds"] > 0:
        params["early_stopping_rounds"] = hp["early_stopping_rounds"]
    if hp["grow_policy"] == "Lossguide":
        params["max_leaves"] = hp["max_leaves"]
    if hp["grow_policy"] != "SymmetricTree":
        params["min_data_in_leaf"] = hp["min_data_in_leaf"]
    if hp["boosting_type"] != "Auto":
        params["boosting_type"] = hp["boosting_type"]
    if hp["max_bin"] != "Auto":
        params["border_count"] = hp["max_bin"]
    if task == BINARY:
        params["scale_pos_weight"] = hp["scale_pos_weight"]
    params["allow_writing_files"] = False  # catboost_info/ would land in the job's directory
    return params
