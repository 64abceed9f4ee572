"""A tuning job's search space: AWS's ParameterRanges checked as SageMaker checks them, and
turned into Optuna distributions.

A search space belongs to one training job definition. The values a tuning job passes to a
training job are strings, as every hyperparameter is; :meth:`Space.values` makes them from a
sampled point and :meth:`Space.point` reads a point back from them (for a resumed search and
for warm start).

``ScalingType`` ``Auto`` chooses ``Logarithmic`` for a range that is positive and spans two
orders of magnitude or more (``MaxValue / MinValue >= 100``), ``Linear`` otherwise.
``ReverseLogarithmic`` samples ``1 - x`` on a log scale, so values near 1 are dense; it needs
``0 <= MinValue <= MaxValue < 1``, as AWS documents.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from kamado.errors import ValidationError

# What SageMaker allows in one tuning job: 30 ranges of each kind (the model's list limits)
# and 30 tunable hyperparameters in all; a grid is at most as many jobs as a search may run.
MAX_TUNABLE = 30
MAX_TRAINING_JOBS = 750


@dataclass(frozen=True)
class Range:
    name: str
    kind: str  # "Integer", "Continuous" or "Categorical"
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Linear"  # after Auto is resolved
    values: tuple[str, ...] = ()

    def distribution(self):
        from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                          IntDistribution)
        if self.kind == "Categorical":
            return CategoricalDistribution(self.values)
        log = self.scaling == "Logarithmic"
        if self.kind == "Integer":
            return IntDistribution(int(self.low), int(self.high), log=log)
        if self.scaling == "ReverseLogarithmic":
            return FloatDistribution(1.0 - self.high, 1.0 - self.low, log=True)
        return FloatDistribution(self.low, self.high, log=log)

    def value(self, internal: Any) -> str:
        """The hyperparameter string for a sampled value."""
        if self.kind == "Categorical":
            return str(internal)
        if self.kind == "Integer":
            return str(int(internal))
        if self.scaling == "ReverseLogarithmic":
            internal = 1.0 - float(internal)
        return repr(float(internal))

    def internal(self, text: str) -> Any | None:
        """The sampled value a hyperparameter string came from; None if outside this range."""
        if self.kind == "Categorical":
            return text if text in self.values else None
        try:
            number = float(text)
        except (TypeError, ValueError):
            return None
        if not self.low <= number <= self.high:
            return None
        if self.kind == "Integer":
            return int(number) if number == int(number) else None
        return 1.0 - number if self.scaling == "ReverseLogarithmic" else number


@dataclass(frozen=True)
class Space:
    ranges: tuple[Range, ...]

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.ranges]

    def distributions(self) -> dict:
        return {r.name: r.distribution() for r in self.ranges}

    def values(self, point: dict[str, Any]) -> dict[str, str]:
        return {r.name: r.value(point[r.name]) for r in self.ranges if r.name in point}

    def point(self, hyperparameters: dict[str, str]) -> dict[str, Any]:
        """The part of a job's hyperparameters this space can express (warm start keeps what
        fits the new ranges and drops the rest)."""
        found = {}
        for r in self.ranges:
            if r.name in hyperparameters:
                value = r.internal(hyperparameters[r.name])
                if value is not None:
                    found[r.name] = value
        return found

    def grid(self) -> list[dict[str, str]]:
        """Every combination of the categorical values, in the order the ranges list them."""
        names = self.names
        return [dict(zip(names, combo))
                for combo in itertools.product(*(r.values for r in self.ranges))]

    def grid_size(self) -> int:
        return math.prod(len(r.values) for r in self.ranges) if self.ranges else 0


def _number(text: str, what: str, name: str, integer: bool) -> float:
    try:
        value = int(text) if integer else float(text)
    except (TypeError, ValueError):
        kind = "an integer" if integer else "a number"
        raise ValidationError(f"The {what} '{text}' of hyperparameter {name} is not {kind}.") \
            from None
    if not integer and not math.isfinite(value):
        raise ValidationError(f"The {what} '{text}' of hyperparameter {name} is not finite.")
    return float(value)


def _numeric(spec: dict, kind: str) -> Range:
    name = spec["Name"]
    integer = kind == "Integer"
    low = _number(spec["MinValue"], "MinValue", name, integer)
    high = _number(spec["MaxValue"], "MaxValue", name, integer)
    if low > high:
        raise ValidationError(f"The MinValue ({spec['MinValue']}) of hyperparameter {name} "
                              f"must be less than or equal to its MaxValue ({spec['MaxValue']}).")
    scaling = spec.get("ScalingType") or "Auto"
    if scaling == "Auto":
        scaling = "Logarithmic" if low > 0 and high / low >= 100 else "Linear"
    if scaling == "Logarithmic" and low <= 0:
        raise ValidationError(f"Hyperparameter {name} uses Logarithmic scaling, which needs a "
                              f"range above zero; its MinValue is {spec['MinValue']}.")
    if scaling == "ReverseLogarithmic":
        if integer:
            raise ValidationError(f"Hyperparameter {name}: ReverseLogarithmic scaling is for "
                                  "continuous ranges only.")
        if not (0 <= low and high < 1):
            raise ValidationError(f"Hyperparameter {name} uses ReverseLogarithmic scaling, "
                                  "which needs a range within 0 <= x < 1; it is "
                                  f"[{spec['MinValue']}, {spec['MaxValue']}].")
    return Range(name, kind, low, high, scaling)


def parse(ranges: dict | None, static: dict[str, str] | None = None) -> Space:
    """A definition's ParameterRanges as a Space, or the ValidationException AWS answers."""
    ranges = ranges or {}
    if ranges.get("AutoParameters"):
        raise ValidationError("Autotune's AutoParameters are not supported by kamado; give "
                              "the ranges explicitly.")
    parsed: list[Range] = []
    for spec in ranges.get("IntegerParameterRanges") or []:
        parsed.append(_numeric(spec, "Integer"))
    for spec in ranges.get("ContinuousParameterRanges") or []:
        parsed.append(_numeric(spec, "Continuous"))
    for spec in ranges.get("CategoricalParameterRanges") or []:
        values = tuple(spec["Values"])
        if len(set(values)) != len(values):
            raise ValidationError(f"The values of categorical hyperparameter {spec['Name']} "
                                  "must be unique.")
        parsed.append(Range(spec["Name"], "Categorical", values=values))
    seen: set[str] = set()
    for r in parsed:
        if r.name in seen:
            raise ValidationError(f"Hyperparameter {r.name} has more than one range.")
        seen.add(r.name)
        if static and r.name in static:
            raise ValidationError(f"Hyperparameter {r.name} is both static and tunable; "
                                  "remove it from StaticHyperParameters.")
    if len(parsed) > MAX_TUNABLE:
        raise ValidationError(f"A tuning job searches at most {MAX_TUNABLE} hyperparameters; "
                              f"this one names {len(parsed)}.")
    return Space(tuple(parsed))
