"""Linear Learner's hyperparameters: AWS's names, defaults, ranges and ``auto`` rules
(builtin-algorithms.md §3.2).

Values arrive as strings (``str(v)`` from the SDK's built-in estimators, so booleans are
``True``/``False``); :func:`validate` turns them into typed values, checks every range, and
resolves the ``auto`` values that do not depend on the data. Every problem is a ClientError
naming the hyperparameter and what it may be, because that is what the user has to fix.
"""

from __future__ import annotations

from typing import Callable

from kamado.algorithms.hyperparameters import (POSITIVE, UNIT_OPEN, Number, boolean, choice,
                                              parse as parse_values, tristate)
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


SPECS: dict[str, Callable[[str, str], object]] = {
    "predictor_type": choice(*PREDICTOR_TYPES),
    # AWS's own default configuration carries num_classes=1 and ignores it unless the
    # predictor is multiclass, so the 3..1,000,000 range is checked only then (resolve).
    "num_classes": Number(integer=True, lo=1, hi=1_000_000),
    "feature_dim": Number(integer=True, words=("auto",), **POSITIVE),
    "mini_batch_size": Number(integer=True, **POSITIVE),
    "epochs": Number(integer=True, **POSITIVE),
    "loss": choice(*LOSSES),
    "optimizer": choice("auto", "sgd", "adam", "rmsprop"),
    "learning_rate": Number(words=("auto",), **POSITIVE),
    "wd": Number(words=("auto",), lo=0),
    "l1": Number(words=("auto",), lo=0),
    "use_bias": boolean,
    "normalize_data": tristate,
    "normalize_label": tristate,
    "unbias_data": tristate,
    "unbias_label": tristate,
    "num_models": Number(integer=True, words=("auto",), **POSITIVE),
    "num_calibration_samples": Number(integer=True, words=("auto",), **POSITIVE),
    "num_point_for_scaler": Number(integer=True, **POSITIVE),
    "binary_classifier_model_selection_criteria": choice(*CRITERIA),
    "target_recall": Number(**UNIT_OPEN),
    "target_precision": Number(**UNIT_OPEN),
    "positive_example_weight_mult": Number(words=("auto", "balanced"), **POSITIVE),
    "balance_multiclass_weights": boolean,
    "accuracy_top_k": Number(integer=True, lo=1, hi=1_000_000),
    "f_beta": Number(**POSITIVE),
    "early_stopping_patience": Number(integer=True, **POSITIVE),
    "early_stopping_tolerance": Number(**POSITIVE),
    "init_method": choice("uniform", "normal"),
    "init_scale": Number(**POSITIVE),
    "init_sigma": Number(**POSITIVE),
    "init_bias": Number(),
    "beta_1": Number(words=("auto",), lo=0, hi=1, hi_open=True),
    "beta_2": Number(words=("auto",), lo=0, hi=1, hi_open=True),
    "momentum": Number(words=("auto",), lo=0, hi=1, hi_open=True),
    "bias_lr_mult": Number(words=("auto",), **POSITIVE),
    "bias_wd_mult": Number(words=("auto",), lo=0),
    "use_lr_scheduler": boolean,
    "lr_scheduler_step": Number(integer=True, words=("auto",), **POSITIVE),
    "lr_scheduler_factor": Number(words=("auto",), **UNIT_OPEN),
    "lr_scheduler_minimum_lr": Number(words=("auto",), **POSITIVE),
    "margin": Number(lo=0),
    "quantile": Number(**UNIT_OPEN),
    "loss_insensitivity": Number(**POSITIVE),
    "huber_delta": Number(lo=0),
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
    return parse_values(raw, SPECS, DEFAULTS, "Linear Learner")


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
