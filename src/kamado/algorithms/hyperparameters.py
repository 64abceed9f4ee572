"""Hyperparameters of the built-in algorithms: one vocabulary for AWS's names, types, ranges,
defaults and messages.

Values arrive as strings (``str(v)`` from the SDK's built-in estimators, so booleans are
``True``/``False``; ``json.dumps(v)`` from framework-style clients). Each algorithm declares a
``SPECS`` table (name → parser) and ``DEFAULTS``, and :func:`parse` turns the job's values into
typed ones. Every problem is a ClientError naming the hyperparameter and what it may be,
because that is what the user has to fix.

    SPECS = {"k": Number(integer=True, lo=1), "init_method": choice("random", "kmeans++")}
    hp = parse(env.hyperparameters, SPECS, {"init_method": "random"}, "K-Means",
               required=("k", "feature_dim"))
"""

from __future__ import annotations

import json
import math
from typing import Callable, Iterable

from kamado.images.program import ClientError

Parser = Callable[[str, str], object]


def text(value) -> str:
    """The SDK's str(v) for built-ins, or json.dumps(v) when a framework-style client sent it."""
    if not isinstance(value, str):
        return json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    try:
        decoded = json.loads(value)
    except ValueError:
        return value.strip()
    return decoded if isinstance(decoded, str) else value.strip()


class Number:
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

    def __call__(self, name: str, value: str):
        if value in self.words:
            return value
        try:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError
            if self.integer:
                if not number.is_integer():
                    raise ValueError
                number = int(number)
        except ValueError:
            raise ClientError(f"Hyperparameter {name}: value {value!r} is not valid; allowed "
                              f"values: {self.allowed}.") from None
        below = self.lo is not None and (number <= self.lo if self.lo_open else number < self.lo)
        above = self.hi is not None and (number >= self.hi if self.hi_open else number > self.hi)
        if below or above:
            raise ClientError(f"Hyperparameter {name}: value {value} is not in {self.bounds}; "
                              f"allowed values: {self.allowed}.")
        return number


POSITIVE = dict(lo=0, lo_open=True)
UNIT_OPEN = dict(lo=0, hi=1, lo_open=True, hi_open=True)


def choice(*options: str, case_sensitive: bool = True) -> Parser:
    def parse_choice(name: str, value: str) -> str:
        found = value if case_sensitive else next(
            (o for o in options if o.lower() == value.lower()), value)
        if found not in options:
            raise ClientError(f"Hyperparameter {name}: value {value!r} is not valid; allowed "
                              f"values: {', '.join(options)}.")
        return found
    return parse_choice


def boolean(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ClientError(f"Hyperparameter {name}: value {value!r} is not valid; allowed values: "
                      "true, false.")


def tristate(name: str, value: str):
    if value.lower() == "auto":
        return "auto"
    try:
        return boolean(name, value)
    except ClientError:
        raise ClientError(f"Hyperparameter {name}: value {value!r} is not valid; allowed values: "
                          "auto, true, false.") from None


def string(name: str, value: str) -> str:
    return value


def is_reserved(name: str) -> bool:
    """Names the platform or the tuner add (``_tuning_objective_metric``, ``sagemaker_*``),
    which are not the algorithm's."""
    return name.startswith(("_", "sagemaker_"))


def parse(raw: dict, specs: dict[str, Parser], defaults: dict, algorithm: str, *,
          required: Iterable[str] = ()) -> dict:
    """Typed values for every hyperparameter, AWS's defaults filled in, ranges checked,
    unknown names and missing required ones refused."""
    hp = dict(defaults)
    for key, value in raw.items():
        if is_reserved(key):
            continue
        if key not in specs:
            raise ClientError(f"Hyperparameter {key} is not a hyperparameter of {algorithm}; "
                              f"it takes {', '.join(sorted(specs))}.")
        hp[key] = specs[key](key, text(value))
    for key in required:
        if key not in hp:
            described = getattr(specs[key], "allowed", None)
            raise ClientError(f"Hyperparameter {key} is required by {algorithm}"
                              + (f"; allowed values: {described}." if described else "."))
    return hp
