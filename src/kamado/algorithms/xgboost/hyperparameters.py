"""The built-in XGBoost's hyperparameters: AWS's names, aliases, defaults and valid ranges
(builtin-algorithms.md §3.1). Values arrive as strings; a bad one is a ClientError naming it."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Callable

from kamado.images.program import ClientError

OBJECTIVES = ("binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson",
              "multi:softmax", "multi:softprob", "rank:pairwise", "rank:ndcg", "rank:map",
              "reg:linear", "reg:squarederror", "reg:logistic", "reg:gamma",
              "reg:pseudohubererror", "reg:squaredlogerror", "reg:absoluteerror", "reg:tweedie",
              "survival:aft", "survival:cox")
EVAL_METRICS = ("accuracy", "auc", "aucpr", "balanced_accuracy", "error", "f1", "f1_binary",
                "f1_macro", "gamma-deviance", "gamma-nloglik", "interval-regression-accuracy",
                "logloss", "mae", "mape", "map", "merror", "mlogloss", "mphe", "mse", "ndcg",
                "poisson-nloglik", "precision", "precision_macro", "precision_micro", "r2",
                "recall", "recall_macro", "recall_micro", "rmse", "rmsle", "tweedie-nloglik",
                "aft-nloglik", "cox-nloglik")
# Metrics kamado computes itself because XGBoost has no evaluator of that name.
CUSTOM_METRICS = ("accuracy", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "mse", "r2",
                  "precision", "precision_macro", "precision_micro", "recall", "recall_macro",
                  "recall_micro")
ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda",
           "reg_alpha": "alpha"}


@dataclass(frozen=True)
class Spec:
    parse: Callable[[str], object]
    check: Callable[[object], bool] = lambda v: True
    allowed: str = ""


def _int(text: str) -> int:
    value = float(text)
    if not value.is_integer():
        raise ValueError
    return int(value)


def _float(text: str) -> float:
    value = float(text)
    if math.isnan(value):
        raise ValueError
    return value


def _choice(*options: str) -> Spec:
    return Spec(str, lambda v: v in options, "one of " + ", ".join(options))


def _between(lo, hi, *, lo_open=False, hi_open=False, parse=_float) -> Spec:
    def check(v):
        return (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    return Spec(parse, check, f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}")


def _at_least(lo, *, parse=_float, open_=False) -> Spec:
    return Spec(parse, (lambda v: v > lo) if open_ else (lambda v: v >= lo),
                f"{'>' if open_ else '>='} {lo}")


def _bool01(text: str) -> int:
    lowered = text.strip().lower()
    if lowered in ("1", "true"):
        return 1
    if lowered in ("0", "false"):
        return 0
    raise ValueError


SPECS: dict[str, Spec] = {
    "num_round": _at_least(1, parse=_int),
    "num_class": _at_least(2, parse=_int),
    "objective": _choice(*OBJECTIVES),
    "eta": _between(0, 1),
    "gamma": _at_least(0),
    "max_depth": _at_least(0, parse=_int),
    "min_child_weight": _at_least(0),
    "max_delta_step": _at_least(0),
    "subsample": _between(0, 1, lo_open=True),
    "colsample_bytree": _between(0, 1, lo_open=True),
    "colsample_bylevel": _between(0, 1, lo_open=True),
    "colsample_bynode": _between(0, 1, lo_open=True),
    "lambda": _at_least(0),
    "alpha": _at_least(0),
    "booster": _choice("gbtree", "gblinear", "dart"),
    "tree_method": _choice("auto", "exact", "approx", "hist", "gpu_hist"),
    "eval_metric": Spec(str),  # checked below: a comma list
    "early_stopping_rounds": _at_least(1, parse=_int),
    "csv_weights": Spec(_bool01, allowed="0 or 1"),
    "base_score": _at_least(0),
    "scale_pos_weight": _at_least(0, open_=True),
    "seed": Spec(_int, allowed="an integer"),
    "nthread": _at_least(1, parse=_int),
    "verbosity": _between(0, 3, parse=_int),
    "sketch_eps": _between(0, 1, lo_open=True, hi_open=True),
    "grow_policy": _choice("depthwise", "lossguide"),
    "max_leaves": _at_least(0, parse=_int),
    "max_bin": _at_least(0, parse=_int),
    "process_type": _choice("default", "update"),
    "refresh_leaf": Spec(_bool01, allowed="0 or 1"),
    "updater": Spec(str),
    "dsplit": _choice("row", "col"),
    "predictor": _choice("auto", "cpu_predictor", "gpu_predictor"),
    "sample_type": _choice("uniform", "weighted"),
    "normalize_type": _choice("tree", "forest"),
    "rate_drop": _between(0, 1),
    "one_drop": Spec(_bool01, allowed="0 or 1"),
    "skip_drop": _between(0, 1),
    "lambda_bias": _between(0, 1),
    "tweedie_variance_power": _between(1, 2, lo_open=True, hi_open=True),
    "monotone_constraints": Spec(str),
    "interaction_constraints": Spec(str),
    "num_parallel_tree": _at_least(1, parse=_int),
    "aft_loss_distribution": _choice("normal", "logistic", "extreme"),
    "aft_loss_distribution_scale": _at_least(0),
    "deterministic_histogram": Spec(str),
    "single_precision_histogram": Spec(str),
    "sampling_method": _choice("uniform", "gradient_based"),
    "save_model_on_termination": _choice("true", "false"),
    "_kfold": _at_least(2, parse=_int),
    "_num_cv_round": _at_least(1, parse=_int),
    "use_dask_gpu_training": _choice("true", "false"),
}
# Keys the platform or the SDK adds that are not the algorithm's to validate.
IGNORED_PREFIXES = ("sagemaker_", "_tuning_objective_metric")


def _unquote(value: str) -> str:
    """SDK framework estimators JSON-encode every value; the container reads both forms."""
    try:
        decoded = json.loads(value)
    except (ValueError, TypeError):
        return value
    return decoded if isinstance(decoded, str) else value


def validate(raw: dict[str, str]) -> dict[str, object]:
    """Parsed hyperparameters with aliases resolved; ClientError for the first bad one."""
    out: dict[str, object] = {}
    for key, text in raw.items():
        if key.startswith(IGNORED_PREFIXES):
            continue
        name = ALIASES.get(key, key)
        spec = SPECS.get(name)
        if spec is None:
            raise ClientError(f"Hyperparameter {key} is not a hyperparameter of the XGBoost "
                              "algorithm.")
        text = _unquote(str(text)).strip()
        try:
            value = spec.parse(text)
        except ValueError:
            raise ClientError(f"Hyperparameter {key}: value {text!r} is not "
                              f"{spec.allowed or 'valid'}.") from None
        if not spec.check(value):
            raise ClientError(f"Hyperparameter {key}: value {text} is not {spec.allowed}.")
        out[name] = value
    if "num_round" not in out:
        raise ClientError("Hyperparameter num_round is required.")
    objective = out.setdefault("objective", "reg:squarederror")
    if objective == "reg:linear":
        out["objective"] = objective = "reg:squarederror"  # XGBoost's old name for it
    if objective.startswith("multi:") and "num_class" not in out:
        raise ClientError(f"Hyperparameter num_class is required for objective {objective}.")
    if "num_class" in out and not objective.startswith("multi:"):
        raise ClientError(f"Hyperparameter num_class must not be set for objective {objective}; "
                          "it applies to multi:softmax and multi:softprob.")
    if "eval_metric" in out:
        metrics = [m.strip() for m in str(out["eval_metric"]).split(",") if m.strip()]
        for m in metrics:
            base = re.sub(r"@.*$", "", m)
            if base not in EVAL_METRICS:
                raise ClientError(f"Hyperparameter eval_metric: {m} is not a supported metric; "
                                  f"use {', '.join(EVAL_METRICS)}.")
            if base in ("auc", "aucpr") and not objective.startswith(("binary:", "rank:")):
                raise ClientError(f"Hyperparameter eval_metric: {m} needs a binary: or rank: "
                                  f"objective, not {objective}.")
        out["eval_metric"] = metrics
    if out.get("monotone_constraints") and out.get("tree_method", "auto") not in ("exact", "hist"):
        raise ClientError("Hyperparameter monotone_constraints needs tree_method exact or hist.")
    return out


def default_metric(objective: str) -> str:
    """XGBoost's own default evaluation metric for an objective."""
    if objective.startswith("binary:"):
        return "error" if objective == "binary:hinge" else "logloss"
    if objective == "multi:softmax":
        return "merror"
    if objective == "multi:softprob":
        return "mlogloss"
    if objective.startswith("rank:"):
        return "map" if objective == "rank:map" else "ndcg"
    return {"count:poisson": "poisson-nloglik", "reg:gamma": "gamma-nloglik",
            "reg:tweedie": "tweedie-nloglik", "reg:absoluteerror": "mae",
            "reg:pseudohubererror": "mphe", "reg:squaredlogerror": "rmsle",
            "survival:aft": "aft-nloglik", "survival:cox": "cox-nloglik",
            "reg:logistic": "rmse"}.get(objective, "rmse")
