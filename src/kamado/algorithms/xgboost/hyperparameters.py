"""The built-in XGBoost's hyperparameters: AWS's names, aliases and valid ranges
(builtin-algorithms.md §3.1). Values arrive as strings; a bad one is a ClientError naming it.

Like AWS's container, nothing is filled in for a hyperparameter the job leaves out: XGBoost's
own default applies, so a job trains the same model as ``xgboost.train`` given the same
parameters.
"""

from __future__ import annotations

import ast
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
# AWS's two lists (its xgb_constants), which also say which way early stopping goes.
MAXIMIZE_METRICS = ("accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary",
                    "f1_macro", "map", "ndcg", "precision", "r2", "recall", "precision_macro",
                    "precision_micro", "recall_macro", "recall_micro")
MINIMIZE_METRICS = ("aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik",
                    "interval-regression-accuracy", "logloss", "mae", "mape", "merror",
                    "mlogloss", "mphe", "mse", "poisson-nloglik", "rmse", "rmsle",
                    "tweedie-nloglik")
EVAL_METRICS = MAXIMIZE_METRICS + MINIMIZE_METRICS
# Metrics the container computes itself because XGBoost has no evaluator of that name.
CUSTOM_METRICS = ("accuracy", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "mse", "r2",
                  "precision", "precision_macro", "precision_micro", "recall", "recall_macro",
                  "recall_micro")
ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda",
           "reg_alpha": "alpha"}
# Keys the platform or the SDK adds that are not the algorithm's to validate.
IGNORED_PREFIXES = ("sagemaker_",)


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


def _choice(*options: str, lower: bool = False) -> Spec:
    parse = (lambda s: s.lower()) if lower else str
    return Spec(parse, lambda v: v in options, "one of " + ", ".join(options))


def _between(lo, hi, *, lo_open=False, hi_open=False, parse=_float) -> Spec:
    def check(v):
        return (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    return Spec(parse, check, f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}")


def _at_least(lo, *, parse=_float, open_=False) -> Spec:
    return Spec(parse, (lambda v: v > lo) if open_ else (lambda v: v >= lo),
                f"{'>' if open_ else '>='} {lo}")


def _literal(text: str):
    """``(1,-1,0)`` / ``[[0,1],[2,3]]`` as AWS reads them (Python literals)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ValueError from None


def _monotone(value) -> bool:
    items = value if isinstance(value, (tuple, list)) else (value,)
    return all(v in (-1, 0, 1) for v in items)


def _interactions(value) -> bool:
    return isinstance(value, (list, tuple)) and all(
        isinstance(group, (list, tuple)) and all(isinstance(i, int) and i >= 0 for i in group)
        for group in value)


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
    "eval_metric": Spec(str),  # a comma list, checked in validate()
    "early_stopping_rounds": _at_least(1, parse=_int),
    "csv_weights": _between(0, 1, parse=_int),
    "base_score": _at_least(0),
    "scale_pos_weight": _at_least(0, open_=True),
    "seed": _between(-2**31, 2**31 - 1, lo_open=True, hi_open=True, parse=_int),
    "nthread": _at_least(1, parse=_int),
    "verbosity": _between(0, 3, parse=_int),
    "sketch_eps": _between(0, 1, lo_open=True, hi_open=True),
    "grow_policy": _choice("depthwise", "lossguide"),
    "max_leaves": _at_least(0, parse=_int),
    "max_bin": _at_least(0, parse=_int),
    "process_type": _choice("default", "update"),
    "refresh_leaf": _between(0, 1, parse=_int),
    "updater": Spec(str),
    "dsplit": _choice("row", "col"),
    "predictor": _choice("auto", "cpu_predictor", "gpu_predictor"),
    "sample_type": _choice("uniform", "weighted"),
    "normalize_type": _choice("tree", "forest"),
    "rate_drop": _between(0, 1),
    "one_drop": _between(0, 1, parse=_int),
    "skip_drop": _between(0, 1),
    "lambda_bias": _between(0, 1),
    "tweedie_variance_power": _between(1, 2, lo_open=True, hi_open=True),
    "monotone_constraints": Spec(_literal, _monotone, "a tuple of -1, 0 and 1"),
    "interaction_constraints": Spec(_literal, _interactions,
                                    "a list of lists of feature indexes"),
    "num_parallel_tree": _at_least(1, parse=_int),
    "aft_loss_distribution": _choice("normal", "logistic", "extreme"),
    "aft_loss_distribution_scale": _at_least(0),
    "deterministic_histogram": _choice("true", "false", lower=True),
    "single_precision_histogram": _choice("true", "false", lower=True),
    "sampling_method": _choice("uniform", "gradient_based"),
    "save_model_on_termination": _choice("true", "false", lower=True),
    "_kfold": _at_least(2, parse=_int),
    "_num_cv_round": _at_least(1, parse=_int),
    "_tuning_objective_metric": Spec(str),  # "validation:auc", checked in validate()
    "use_dask_gpu_training": _choice("true", "false", lower=True),
}


def unquote(value) -> str:
    """SDK framework estimators JSON-encode every value (``"\\"hist\\""``); AWS's container
    reads both forms, so does kamado."""
    text = str(value)
    try:
        decoded = json.loads(text)
    except (ValueError, TypeError):
        return text
    return decoded if isinstance(decoded, str) else text


def _metric_base(metric: str) -> str:
    return metric.split("@", 1)[0]


def _check_metric(metric: str, objective: str) -> None:
    if "@" in metric:
        base, _, threshold = metric.partition("@")
        if base not in ("error", "ndcg", "map"):
            raise ClientError(f"Hyperparameter eval_metric: metric '{metric}' is not supported; "
                              "a threshold (@t) applies to error, ndcg and map only.")
        try:
            float(threshold.rstrip("-"))
        except ValueError:
            raise ClientError(f"Hyperparameter eval_metric: the threshold in '{metric}' is not "
                              "a number.") from None
    elif metric not in EVAL_METRICS:
        raise ClientError(f"Hyperparameter eval_metric: {metric} is not a supported metric; "
                          f"use {', '.join(EVAL_METRICS)}.")
    if metric == "auc" and not objective.startswith(("binary:", "rank:")):
        raise ClientError("Hyperparameter eval_metric: metric 'auc' can only be applied to "
                          f"classification (binary:) and ranking objectives, not {objective}.")
    if metric == "aft-nloglik" and objective != "survival:aft":
        raise ClientError("Hyperparameter eval_metric: metric 'aft-nloglik' can only be applied "
                          "to the survival:aft objective.")


def validate(raw: dict[str, str]) -> dict[str, object]:
    """Parsed hyperparameters with aliases resolved; ClientError for the first bad one.
    ``eval_metric`` comes back as a list, ``_tuning_objective_metric`` as its metric name."""
    out: dict[str, object] = {}
    for key, text in raw.items():
        if key.startswith(IGNORED_PREFIXES):
            continue
        name = ALIASES.get(key, key)
        spec = SPECS.get(name)
        if spec is None:
            raise ClientError(f"Extraneous hyperparameter found: {key}. It is not a "
                              "hyperparameter of the XGBoost algorithm.")
        text = unquote(text).strip()
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
    objective = out.get("objective", "reg:squarederror")
    if objective.startswith("multi:") and "num_class" not in out:
        raise ClientError(f"Hyperparameter num_class is required for objective {objective}.")
    if "num_class" in out and not objective.startswith("multi:"):
        raise ClientError(f"Hyperparameter num_class must not be set for objective {objective}; "
                          "it applies to multi:softmax and multi:softprob.")
    if "eval_metric" in out:
        text = str(out["eval_metric"])
        if text.startswith("["):  # a list the SDK or a user wrote as JSON or Python
            try:
                text = ",".join(str(m) for m in _literal(text))
            except (ValueError, TypeError):
                pass
        metrics = [m.strip() for m in text.split(",") if m.strip()]
        if not metrics:
            raise ClientError("Hyperparameter eval_metric is empty.")
        for m in metrics:
            _check_metric(m, objective)
        out["eval_metric"] = metrics
    if "_tuning_objective_metric" in out:
        channel, _, metric = str(out["_tuning_objective_metric"]).partition(":")
        if channel not in ("train", "validation") or not metric:
            raise ClientError(f"Hyperparameter _tuning_objective_metric: "
                              f"{out['_tuning_objective_metric']} is not <channel>:<metric>.")
        _check_metric(metric, objective)
        out["_tuning_objective_metric"] = metric
    tree_method = out.get("tree_method")
    if "monotone_constraints" in out and tree_method not in ("exact", "hist"):
        raise ClientError("Hyperparameter monotone_constraints can be used only when "
                          "tree_method is exact or hist.")
    if "interaction_constraints" in out and tree_method not in ("exact", "hist", "approx"):
        raise ClientError("Hyperparameter interaction_constraints can be used only when "
                          "tree_method is exact, hist or approx.")
    if "updater" in out:
        updaters = [u.strip() for u in str(out["updater"]).split(",") if u.strip()]
        linear = out.get("booster") == "gblinear"
        valid = ({"shotgun", "coord_descent"} if linear else
                 {"refresh", "prune"} if out.get("process_type") == "update" else
                 {"grow_colmaker", "distcol", "grow_histmaker", "grow_local_histmaker",
                  "grow_skmaker", "sync", "refresh", "prune", "grow_quantile_histmaker"})
        if not updaters or any(u not in valid for u in updaters) or (linear and len(updaters) > 1):
            raise ClientError(f"Hyperparameter updater: {out['updater']} is not valid here; use "
                              f"{'one of ' if linear else ''}{', '.join(sorted(valid))}.")
        out["updater"] = ",".join(updaters)
    return out


def default_metric(objective: str, tweedie_variance_power: float = 1.5) -> str:
    """The name XGBoost (3.x) prints for an objective's default evaluation metric."""
    if objective in ("binary:logistic", "binary:logitraw"):
        return "logloss"
    if objective.startswith("multi:"):
        return "mlogloss"
    if objective.startswith("rank:"):
        return "map@32" if objective == "rank:map" else "ndcg@32"
    if objective == "reg:tweedie":
        return f"tweedie-nloglik@{tweedie_variance_power:g}"
    return {"binary:hinge": "error", "count:poisson": "poisson-nloglik",
            "reg:gamma": "gamma-deviance", "reg:absoluteerror": "mae",
            "reg:pseudohubererror": "mphe", "reg:squaredlogerror": "rmsle",
            "survival:aft": "aft-nloglik", "survival:cox": "cox-nloglik"}.get(objective, "rmse")


def is_maximized(metric: str) -> bool:
    return _metric_base(re.sub(r"-$", "", metric)) in MAXIMIZE_METRICS
