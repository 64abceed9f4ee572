"""Linear Learner's hyperparameters: AWS's names, defaults, ranges and ``auto`` rules
(builtin-algorithms.md §3.2).

Values arrive as strings (``str(v)`` from the SDK's built-in estimators, so booleans are
``True``/``False``); :func:`validate` turns them into typed values, checks every range, and
resolves the ``auto`` values that do not depend on the data. Every problem is a ClientError
naming the hyperparameter and what it may be, because that is what the user has to fix.
"""

from __future__ import annotations

import json
import math
from typing import Callable

from kamado.images.program import ClientError

PREDICTOR_TYPES = ("binary_classifier", "multiclass_classifier", "regressor")
LOSSES = ("auto", "logistic", "squared_loss", "absolute_loss", "hinge_loss",
          "eps_insensitive_squared_loss", "eps_insensitive_absolute_loss", "quantile_loss",
          "huber_loss", "softmax_loss")
# The SDK also accepts f1 and cross_entropy_loss (aliases of f_beta with beta 1 and of
# loss_function), so jobs written against it must not fail here.
CRITERIA = ("accuracy", "f_beta", "precision_at_target_recall", "recall_at_target_precision",
            "loss_function", "f1", "cross_entropy_loss")
LOSSES_FOR = {"binary_classifier": ("logistic", "hinge_loss"),
              "multiclass_classifier": ("softmax_loss",),
              "regressor": ("squared_loss", "absolute_loss", "eps_insensitive_squared_loss",
                            "eps_insensitive_absolute_loss", "quantile_loss", "huber_loss")}
# AWS's learning rate for ``auto`` "depends on the optimizer chosen".
AUTO_LEARNING_RATE = {"adam": 0.1, "rmsprop": 0.01, "sgd": 0.1}
AUTO_NUM_MODELS = 32  # real jobs log metrics for models 0..31


# --- value parsers ---------------------------------------------------------------------------
def _text(value) -> str:
    """The SDK's str(v) for built-ins, or json.dumps(v) when a framework-style client sent it."""
    if not isinstance(value, str):
        return json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    try:
        decoded = json.loads(value)
    except ValueError:
        return value.strip()
    return decoded if isinstance(decoded, str) else value.strip()


class _Number:
    """A number in a range; ``auto`` (and other words) allowed where AWS allows them."""

    def __init__(self, *, integer=False, lo=None, hi=None, lo_open=False, hi_open=False,
                 words=()):
        self.integer, self.lo, self.hi = integer, lo, hi
        self.lo_open, self.hi_open, self.words = lo_open, hi_open, tuple(words)

    @property
    def bounds(self) -> str:
        lo = "-inf" if self.lo is None else f"{self.lo:g}"
        hi = "inf" if self.hi is None else f"{self.hi:g}"
        return f"{'(' if self.lo_open else '['}{lo}, {hi}{')' if self.hi_open else ']'}"

    @property
    def allowed(self) -> str:
        kind = f"{'an integer' if self.integer else 'a number'} in {self.bounds}"
        return f"{', '.join(self.words)} or {kind}" if self.words else kind

    def __call__(self, name: str, text: str):
        if text in self.words:
            return text
        try:
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
            if self.integer:
                if not value.is_integer():
                    raise ValueError
                value = int(value)
        except ValueError:
            raise ClientError(f"Hyperparameter {name}: value {text!r} is not valid; allowed "
                              f"values: {self.allowed}.") from None
        below = self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo)
        above = self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi)
        if below or above:
            raise ClientError(f"Hyperparameter {name}: value {text} is not in {self.bounds}; "
                              f"allowed values: {self.allowed}.")
        return value


def _choice(*options: str) -> Callable[[str, str], str]:
    def parse(name: str, text: str) -> str:
        if text not in options:
            raise ClientError(f"Hyperparameter {name}: value {text!r} is not valid; allowed "
                              f"values: {', '.join(options)}.")
        return text
    return parse


def _bool(name: str, text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ClientError(f"Hyperparameter {name}: value {text!r} is not valid; allowed values: "
                      "true, false.")


def _tristate(name: str, text: str):
    if text.lower() == "auto":
        return "auto"
    try:
        return _bool(name, text)
    except ClientError:
        raise ClientError(f"Hyperparameter {name}: value {text!r} is not valid; allowed values: "
                          "auto, true, false.") from None


POSITIVE = dict(lo=0, lo_open=True)
UNIT_OPEN = dict(lo=0, hi=1, lo_open=True, hi_open=True)
SPECS: dict[str, Callable[[str, str], object]] = {
    "predictor_type": _choice(*PREDICTOR_TYPES),
    # AWS's own default configuration carries num_classes=1 and ignores it unless the
    # predictor is multiclass, so the 3..1,000,000 range is checked only then (resolve).
    "num_classes": _Number(integer=True, lo=1, hi=1_000_000),
    "feature_dim": _Number(integer=True, words=("auto",), **POSITIVE),
    "mini_batch_size": _Number(integer=True, **POSITIVE),
    "epochs": _Number(integer=True, **POSITIVE),
    "loss": _choice(*LOSSES),
    "optimizer": _choice("auto", "sgd", "adam", "rmsprop"),
    "learning_rate": _Number(words=("auto",), **POSITIVE),
    "wd": _Number(words=("auto",), lo=0),
    "l1": _Number(words=("auto",), lo=0),
    "use_bias": _bool,
    "normalize_data": _tristate,
    "normalize_label": _tristate,
    "unbias_data": _tristate,
    "unbias_label": _tristate,
    "num_models": _Number(integer=True, words=("auto",), **POSITIVE),
    "num_calibration_samples": _Number(integer=True, words=("auto",), **POSITIVE),
    "num_point_for_scaler": _Number(integer=True, **POSITIVE),
    "binary_classifier_model_selection_criteria": _choice(*CRITERIA),
    "target_recall": _Number(**UNIT_OPEN),
    "target_precision": _Number(**UNIT_OPEN),
    "positive_example_weight_mult": _Number(words=("auto", "balanced"), **POSITIVE),
    "balance_multiclass_weights": _bool,
    "accuracy_top_k": _Number(integer=True, lo=1, hi=1_000_000),
    "f_beta": _Number(**POSITIVE),
    "early_stopping_patience": _Number(integer=True, **POSITIVE),
    "early_stopping_tolerance": _Number(**POSITIVE),
    "init_method": _choice("uniform", "normal"),
    "init_scale": _Number(**POSITIVE),
    "init_sigma": _Number(**POSITIVE),
    "init_bias": _Number(),
    "beta_1": _Number(words=("auto",), lo=0, hi=1, hi_open=True),
    "beta_2": _Number(words=("auto",), lo=0, hi=1, hi_open=True),
    "momentum": _Number(words=("auto",), lo=0, hi=1, hi_open=True),
    "bias_lr_mult": _Number(words=("auto",), **POSITIVE),
    "bias_wd_mult": _Number(words=("auto",), lo=0),
    "use_lr_scheduler": _bool,
    "lr_scheduler_step": _Number(integer=True, words=("auto",), **POSITIVE),
    "lr_scheduler_factor": _Number(words=("auto",), **UNIT_OPEN),
    "lr_scheduler_minimum_lr": _Number(words=("auto",), **POSITIVE),
    "margin": _Number(lo=0),
    "quantile": _Number(**UNIT_OPEN),
    "loss_insensitivity": _Number(**POSITIVE),
    "huber_delta": _Number(lo=0),
}
DEFAULTS = {
    "feature_dim": "auto", "mini_batch_size": 1000, "epochs": 15, "loss": "auto",
    "optimizer": "auto", "learning_rate": "auto", "wd": "auto", "l1": "auto", "use_bias": True,
    "normalize_data": True, "normalize_label": "auto", "unbias_data": "auto",
    "unbias_label": "auto", "num_models": "auto", "num_calibration_samples": "auto",
    "num_point_for_scaler": 10000, "binary_classifier_model_selection_criteria": "accuracy",
    "target_recall": 0.8, "target_precision": 0.8, "positive_example_weight_mult": 1.0,
    "balance_multiclass_weights": False, "accuracy_top_k": 3, "f_beta": 1.0,
    "early_stopping_patience": 3, "early_stopping_tolerance": 0.001, "init_method": "uniform",
    "init_scale": 0.07, "init_sigma": 0.01, "init_bias": 0.0, "beta_1": "auto",
    "beta_2": "auto", "momentum": "auto", "bias_lr_mult": "auto", "bias_wd_mult": "auto",
    "use_lr_scheduler": True, "lr_scheduler_step": "auto", "lr_scheduler_factor": "auto",
    "lr_scheduler_minimum_lr": "auto", "margin": 1.0, "quantile": 0.5,
    "loss_insensitivity": 0.01, "huber_delta": 1.0,
}


def parse(raw: dict) -> dict:
    """Typed values for every hyperparameter, AWS's defaults filled in; ranges checked."""
    hp = dict(DEFAULTS)
    for key, value in raw.items():
        # Reserved names the platform or the tuner add (``_tuning_objective_metric``,
        # ``sagemaker_*``) are not the algorithm's.
        if key.startswith(("_", "sagemaker_")):
            continue
        if key not in SPECS:
            raise ClientError(f"Hyperparameter {key} is not a hyperparameter of Linear Learner; "
                              f"it takes {', '.join(sorted(SPECS))}.")
        hp[key] = SPECS[key](key, _text(value))
    return hp


def resolve(hp: dict, raw: dict | None = None) -> dict:
    """Cross-checks, and the ``auto`` values AWS documents that need no data."""
    kind = hp.get("predictor_type")
    if kind is None:
        raise ClientError("Hyperparameter predictor_type is required; allowed values: "
                          f"{', '.join(PREDICTOR_TYPES)}.")
    if kind == "multiclass_classifier" and "num_classes" not in hp:
        raise ClientError("Hyperparameter num_classes is required when predictor_type is "
                          "multiclass_classifier; allowed values: an integer in [3, 1000000].")
    if kind == "multiclass_classifier" and hp["num_classes"] < 3:
        raise ClientError(f"Hyperparameter num_classes: value {hp['num_classes']} is not in "
                          "[3, 1000000]; allowed values: an integer in [3, 1000000] (use "
                          "predictor_type binary_classifier for two classes).")
    allowed = LOSSES_FOR[kind]
    if hp["loss"] == "auto":
        hp["loss"] = allowed[0]
    elif hp["loss"] not in allowed:
        raise ClientError(f"Hyperparameter loss: {hp['loss']} cannot be used with predictor_type "
                          f"{kind}; allowed values: auto, {', '.join(allowed)}.")
    if hp["optimizer"] == "auto":
        hp["optimizer"] = "adam"
    hp["num_classes"] = hp["num_classes"] if kind == "multiclass_classifier" else (
        2 if kind == "binary_classifier" else 1)
    # Automatic model tuning turns the internal parallel search off (AWS: num_models is set
    # to 1 and any value given is ignored), so each tuning trial is one model.
    if raw and "_tuning_objective_metric" in raw:
        hp["num_models"] = 1
    elif hp["num_models"] == "auto":
        hp["num_models"] = AUTO_NUM_MODELS
    for name, value in (("beta_1", 0.9), ("beta_2", 0.999), ("momentum", 0.0),
                        ("bias_lr_mult", 1.0), ("bias_wd_mult", 0.0),
                        ("lr_scheduler_step", 100), ("lr_scheduler_factor", 0.99),
                        ("lr_scheduler_minimum_lr", 1e-5)):
        if hp[name] == "auto":
            hp[name] = value
    criterion = hp["binary_classifier_model_selection_criteria"]
    if criterion == "f1":
        hp["binary_classifier_model_selection_criteria"], hp["f_beta"] = "f_beta", 1.0
    elif criterion == "cross_entropy_loss":
        hp["binary_classifier_model_selection_criteria"] = "loss_function"
    return hp


def validate(raw: dict) -> dict:
    """The job's hyperparameters, typed, checked and with data-independent autos resolved."""
    return resolve(parse(raw), raw)
