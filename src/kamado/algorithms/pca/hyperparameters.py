"""PCA's hyperparameters as AWS documents them (builtin-algorithms.md §3.4)."""

from __future__ import annotations

from kamado.algorithms.hyperparameters import Number, boolean, choice, parse
from kamado.images.program import ClientError

ALGORITHM = "PCA"
_POSITIVE_INT = dict(integer=True, lo=1)


def _extra_components(name: str, value: str) -> int:
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is None or not number.is_integer() or (number < 0 and number != -1):
        raise ClientError(f"Hyperparameter {name}: value {value!r} is not valid; allowed "
                          "values: -1 (the larger of 10 and num_components) or an integer >= 0.")
    return int(number)


SPECS = {
    "feature_dim": Number(**_POSITIVE_INT),
    "mini_batch_size": Number(**_POSITIVE_INT),
    "num_components": Number(**_POSITIVE_INT),
    "algorithm_mode": choice("regular", "randomized"),
    "subtract_mean": boolean,
    "extra_components": _extra_components,
}
DEFAULTS = {"algorithm_mode": "regular", "subtract_mean": True, "extra_components": -1}
REQUIRED = ("feature_dim", "mini_batch_size", "num_components")


def validate(raw: dict) -> dict:
    """Typed values, AWS's defaults filled in; a ClientError for anything else."""
    hp = parse(raw, SPECS, DEFAULTS, ALGORITHM, required=REQUIRED)
    if hp["num_components"] > hp["feature_dim"]:
        raise ClientError(f"Hyperparameter num_components: value {hp['num_components']} is "
                          f"larger than feature_dim {hp['feature_dim']}; allowed values: an "
                          f"integer in [1, {hp['feature_dim']}].")
    return hp


def oversampling(hp: dict) -> int:
    """The extra components of randomized mode: -1 means max(10, num_components)."""
    extra = hp["extra_components"]
    return max(10, hp["num_components"]) if extra == -1 else extra
