"""Factorization Machines' hyperparameters as AWS documents them (builtin-algorithms.md §3.7).

AWS documents no default for ``*_init_scale`` (used by ``uniform``) and ``*_init_value`` (used
by ``constant``); kamado's choice, so that a job AWS would run also runs here, is the part's
``*_init_sigma`` default as the scale and 0 as the value. ``clip_gradient``, ``eps`` and
``rescale_grad`` have no documented defaults either: no clipping, 1e-8 and 1.0 (MXNet's
optimizer defaults, which AWS's MXNet-based implementation passes them to).
"""

from __future__ import annotations

from kamado.algorithms.hyperparameters import Number, choice, parse

ALGORITHM = "Factorization Machines"
PARTS = ("bias", "linear", "factors")
_NON_NEGATIVE = dict(lo=0)

SPECS = {
    "feature_dim": Number(integer=True, lo=1),
    "num_factors": Number(integer=True, lo=1),
    "predictor_type": choice("binary_classifier", "regressor"),
    "epochs": Number(integer=True, lo=1),
    "mini_batch_size": Number(integer=True, lo=1),
    "clip_gradient": Number(),
    "eps": Number(lo=0, lo_open=True),
    "rescale_grad": Number(),
}
DEFAULTS = {
    "epochs": 1, "mini_batch_size": 1000, "clip_gradient": None, "eps": 1e-8,
    "rescale_grad": 1.0,
    "bias_init_method": "normal", "bias_init_sigma": 0.01,
    "bias_lr": 0.1, "bias_wd": 0.01,
    "linear_init_method": "normal", "linear_init_sigma": 0.01,
    "linear_lr": 0.001, "linear_wd": 0.001,
    "factors_init_method": "normal", "factors_init_sigma": 0.001,
    "factors_lr": 0.0001, "factors_wd": 0.00001,
}
for _part in PARTS:
    SPECS[f"{_part}_init_method"] = choice("normal", "uniform", "constant")
    for _suffix in ("init_scale", "init_sigma", "init_value", "lr", "wd"):
        SPECS[f"{_part}_{_suffix}"] = Number(**_NON_NEGATIVE) if _suffix != "init_value" \
            else Number()
    DEFAULTS[f"{_part}_init_scale"] = DEFAULTS[f"{_part}_init_sigma"]
    DEFAULTS[f"{_part}_init_value"] = 0.0
REQUIRED = ("feature_dim", "num_factors", "predictor_type")


def validate(raw: dict) -> dict:
    hp = parse(raw, SPECS, DEFAULTS, ALGORITHM, required=REQUIRED)
    if hp["clip_gradient"] is not None and hp["clip_gradient"] <= 0:
        hp["clip_gradient"] = None  # MXNet's convention: a clip of 0 or less is no clipping
    return hp
