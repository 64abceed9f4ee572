"""Linear Learner's hyperparameters: AWS's names, defaults and ranges (builtin-algorithms.md §3.2)."""

from __future__ import annotations

import json

from kamado.images.program import ClientError

PREDICTOR_TYPES = ("binary_classifier", "multiclass_classifier", "regressor")
LOSSES = ("auto", "logistic", "squared_loss", "absolute_loss", "hinge_loss",
          "eps_insensitive_squared_loss", "eps_insensitive_absolute_loss", "quantile_loss",
          "huber_loss", "softmax_loss")
CRITERIA = ("accuracy", "f_beta", "f1", "precision_at_target_recall",
            "recall_at_target_precision", "loss_function", "cross_entropy_loss")


def _text(value) -> str:
    try:
        decoded = json.loads(value)
    except (TypeError, ValueError):
        return str(value).strip()
    return decoded if isinstance(decoded, str) else str(value).strip()


def _number(name, text, *, integer=False, lo=None, hi=None, lo_open=False, hi_open=False):
    try:
        value = float(text)
        if integer:
            if not value.is_integer():
                raise ValueError
            value = int(value)
    except ValueError:
        raise ClientError(f"Hyperparameter {name}: value {text!r} is not "
                          f"{'an integer' if integer else 'a number'}.") from None
    if lo is not None and (value <= lo if lo_open else value < lo) or \
            hi is not None and (value >= hi if hi_open else value > hi):
        bounds = f"{'(' if lo_open else '['}{lo if lo is not None else '-inf'}, " \
                 f"{hi if hi is not None else 'inf'}{')' if hi_open else ']'}"
        raise ClientError(f"Hyperparameter {name}: value {text} is not in {bounds}.")
    return value


def _bool(name, text) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ClientError(f"Hyperparameter {name}: value {text!r} is not true or false.")


def _choice(name, text, options):
    if text not in options:
        raise ClientError(f"Hyperparameter {name}: value {text!r} is not one of "
                          f"{', '.join(options)}.")
    return text


# name -> parser(name, text) -> value; "auto" is accepted where AWS accepts it.
def _auto(parser):
    return lambda n, t: "auto" if t == "auto" else parser(n, t)


def _tri(name, text):
    return "auto" if text == "auto" else _bool(name, text)


SPECS = {
    "predictor_type": lambda n, t: _choice(n, t, PREDICTOR_TYPES),
    "num_classes": lambda n, t: _number(n, t, integer=True, lo=3, hi=1_000_000),
    "feature_dim": _auto(lambda n, t: _number(n, t, integer=True, lo=0, lo_open=True)),
    "mini_batch_size": lambda n, t: _number(n, t, integer=True, lo=0, lo_open=True),
    "epochs": lambda n, t: _number(n, t, integer=True, lo=0, lo_open=True),
    "loss": lambda n, t: _choice(n, t, LOSSES),
    "optimizer": lambda n, t: _choice(n, t, ("auto", "sgd", "adam", "rmsprop")),
    "learning_rate": _auto(lambda n, t: _number(n, t, lo=0, lo_open=True)),
    "wd": _auto(lambda n, t: _number(n, t, lo=0)),
    "l1": _auto(lambda n, t: _number(n, t, lo=0)),
    "use_bias": _bool,
    "normalize_data": _tri,
    "normalize_label": _tri,
    "unbias_data": _tri,
    "unbias_label": _tri,
    "num_models": _auto(lambda n, t: _number(n, t, integer=True, lo=0, lo_open=True)),
    "num_calibration_samples": _auto(lambda n, t: _number(n, t, integer=True, lo=0, lo_open=True)),
    "num_point_for_scaler": lambda n, t: _number(n, t, integer=True, lo=0, lo_open=True),
    "binary_classifier_model_selection_criteria": lambda n, t: _choice(n, t, CRITERIA),
    "target_recall": lambda n, t: _number(n, t, lo=0, hi=1, lo_open=True, hi_open=True),
    "target_precision": lambda n, t: _number(n, t, lo=0, hi=1, lo_open=True, hi_open=True),
    "positive_example_weight_mult": lambda n, t: t if t in ("auto", "balanced") else _number(
        n, t, lo=0, lo_open=True),
    "balance_multiclass_weights": _bool,
    "accuracy_top_k": lambda n, t: _number(n, t, integer=True, lo=1, hi=1_000_000),
    "f_beta": lambda n, t: _number(n, t, lo=0, lo_open=True),
    "early_stopping_patience": lambda n, t: _number(n, t, integer=True, lo=0, lo_open=True),
    "early_stopping_tolerance": lambda n, t: _number(n, t, lo=0, lo_open=True),
    "init_method": lambda n, t: _choice(n, t, ("uniform", "normal")),
    "init_scale": lambda n, t: _number(n, t, lo=0, lo_open=True),
    "init_sigma": lambda n, t: _number(n, t, lo=0, lo_open=True),
    "init_bias": lambda n, t: _number(n, t),
    "beta_1": _auto(lambda n, t: _number(n, t, lo=0, hi=1, hi_open=True)),
    "beta_2": _auto(lambda n, t: _number(n, t, lo=0, hi=1, hi_open=True)),
    "momentum": _auto(lambda n, t: _number(n, t, lo=0, hi=1, hi_open=True)),
    "bias_lr_mult": _auto(lambda n, t: _number(n, t, lo=0, lo_open=True)),
    "bias_wd_mult": _auto(lambda n, t: _number(n, t, lo=0)),
    "use_lr_scheduler": _bool,
    "lr_scheduler_step": _auto(lambda n, t: _number(n, t, integer=True, lo=0, lo_open=True)),
    "lr_scheduler_factor": _auto(lambda n, t: _number(n, t, lo=0, hi=1, lo_open=True, hi_open=True)),
    "lr_scheduler_minimum_lr": _auto(lambda n, t: _number(n, t, lo=0, lo_open=True)),
    "margin": lambda n, t: _number(n, t, lo=0),
    "quantile": lambda n, t: _number(n, t, lo=0, hi=1, lo_open=True, hi_open=True),
    "loss_insensitivity": lambda n, t: _number(n, t, lo=0, lo_open=True),
    "huber_delta": lambda n, t: _number(n, t, lo=0),
}
DEFAULTS = {"feature_dim": "auto", "mini_batch_size": 1000, "epochs": 15, "loss": "auto",
            "optimizer": "auto", "learning_rate": "auto", "wd": "auto", "l1": "auto",
            "use_bias": True, "normalize_data": True, "normalize_label": "auto",
            "num_models": "auto", "num_point_for_scaler": 10000,
            "binary_classifier_model_selection_criteria": "accuracy", "target_recall": 0.8,
            "target_precision": 0.8, "positive_example_weight_mult": 1.0,
            "balance_multiclass_weights": False, "accuracy_top_k": 3, "f_beta": 1.0,
            "early_stopping_patience": 3, "early_stopping_tolerance": 0.001,
            "init_method": "uniform", "init_scale": 0.07, "init_sigma": 0.01, "init_bias": 0.0,
            "margin": 1.0, "quantile": 0.5, "loss_insensitivity": 0.01, "huber_delta": 1.0,
            "use_lr_scheduler": True}
_LOSS_FOR = {"binary_classifier": ("logistic", "hinge_loss"),
             "multiclass_classifier": ("softmax_loss",),
             "regressor": ("squared_loss", "absolute_loss", "eps_insensitive_squared_loss",
                           "eps_insensitive_absolute_loss", "quantile_loss", "huber_loss")}


def validate(raw: dict[str, str]) -> dict:
    hp = dict(DEFAULTS)
    for key, value in raw.items():
        if key.startswith(("sagemaker_", "_tuning")):
            continue
        if key not in SPECS:
            raise ClientError(f"Hyperparameter {key} is not a hyperparameter of Linear Learner.")
        hp[key] = SPECS[key](key, _text(value))
    if "predictor_type" not in hp:
        raise ClientError("Hyperparameter predictor_type is required; use binary_classifier, "
                          "multiclass_classifier or regressor.")
    kind = hp["predictor_type"]
    if kind == "multiclass_classifier" and "num_classes" not in hp:
        raise ClientError("Hyperparameter num_classes is required when predictor_type is "
                          "multiclass_classifier.")
    if hp["loss"] == "auto":
        hp["loss"] = _LOSS_FOR[kind][0]
    elif hp["loss"] not in _LOSS_FOR[kind]:
        raise ClientError(f"Hyperparameter loss: {hp['loss']} cannot be used with predictor_type "
                          f"{kind}; use {', '.join(_LOSS_FOR[kind])}.")
    return hp
