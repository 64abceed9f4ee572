"""A Search request's SearchExpression, checked and read once into a tree of conditions.

The tree is what both evaluators take: :mod:`kamado.search.sql` translates it into a WHERE
clause, :mod:`kamado.search.evaluate` applies it to a rendered record. Checking happens here,
before either runs, with the errors AWS answers: at most 50 Filters, NestedFilters and
SubExpressions in all, at least one in each expression, one ``Contains`` (except on the
properties AWS lets repeat it), operators that suit the property's kind, Values that read as
the property's kind.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Union

from kamado.errors import ValidationError
from kamado.search.properties import (BOOLEAN, HYPERPARAMETER, NUMBER, OBJECT, PARAMETER, TEXT,
                                      TIMESTAMP, Property, Schema)
from kamado.store.types import parse_number, utc

EQUALS, NOT_EQUALS = "Equals", "NotEquals"
GREATER, GREATER_EQUAL, LESS, LESS_EQUAL = ("GreaterThan", "GreaterThanOrEqualTo", "LessThan",
                                            "LessThanOrEqualTo")
CONTAINS, EXISTS, NOT_EXISTS, IN = "Contains", "Exists", "NotExists", "In"
ORDERING = (GREATER, GREATER_EQUAL, LESS, LESS_EQUAL)
OPERATORS = (EQUALS, NOT_EQUALS, *ORDERING, CONTAINS, EXISTS, NOT_EXISTS, IN)
MAX_ELEMENTS = 50

# Properties on which AWS lets a SearchExpression use Contains more than once.
_CONTAINS_ANY_TIMES = {
    "Experiment": ("DisplayName", "ExperimentName", "Tags"),
    "ExperimentTrial": ("DisplayName", "TrialName", "Tags"),
    "ExperimentTrialComponent": ("DisplayName", "TrialComponentName", "Tags", "InputArtifacts",
                                 "OutputArtifacts"),
}
_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class Condition:
    """One Filter. ``value`` is the Value read as the property's kind: str, float, aware
    datetime, bool, or a tuple of str for In; ``mode`` says how a hyperparameter or a trial
    component parameter compares: "text", "number" or "integer" (the Value is an integer, so
    the property's number is cut to its integer part first, as SageMaker documents)."""

    prop: Property
    op: str
    value: Any = None
    mode: str = ""


@dataclass(frozen=True)
class Nested:
    """NestedFilters: one value of ``prop`` (an element of a list) satisfies every condition;
    the conditions' properties are relative to that value."""

    prop: Property
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Junction:
    op: str  # "And" or "Or"
    parts: tuple["Node", ...]


Node = Union[Condition, Nested, Junction]


def parse(expression: dict | None, schema: Schema) -> Node | None:
    """The request's SearchExpression as a tree, or None when there is none (match all)."""
    if expression is None:
        return None
    counter = {"elements": 0, "contains": 0}
    node = _expression(expression, schema, counter)
    if counter["elements"] > MAX_ELEMENTS:
        raise ValidationError(
            f"A SearchExpression can contain at most {MAX_ELEMENTS} Filters, NestedFilters and "
            f"SubExpressions in all; this one contains {counter['elements']}.")
    if counter["contains"] > 1:
        raise ValidationError("'CONTAINS' operator usage limit of 1 exceeded.")
    return node


def _expression(expression: dict, schema: Schema, counter: dict) -> Node:
    filters = expression.get("Filters") or []
    nested = expression.get("NestedFilters") or []
    subs = expression.get("SubExpressions") or []
    if not (filters or nested or subs):
        raise ValidationError("A SearchExpression must contain at least one of Filters, "
                              "NestedFilters and SubExpressions.")
    counter["elements"] += len(filters) + len(nested) + len(subs)
    parts: list[Node] = [condition(f, schema, counter) for f in filters]
    for n in nested:
        outer = schema.resolve(n["NestedPropertyName"])
        if not outer.in_list:
            raise ValidationError(f"NestedPropertyName {outer.name} is not a list property; "
                                  "NestedFilters apply to the elements of a list such as "
                                  "InputDataConfig.")
        counter["elements"] += len(n["Filters"])
        inner = []
        for f in n["Filters"]:
            c = condition(f, schema, counter)
            relative = c.prop.relative_to(outer)
            if relative is None:
                raise ValidationError(
                    f"The property {c.prop.name} of a nested filter must be inside its "
                    f"NestedPropertyName {outer.name} (start with '{outer.name}.').")
            inner.append(Condition(relative, c.op, c.value, c.mode))
        parts.append(Nested(outer, tuple(inner)))
    parts += [_expression(s, schema, counter) for s in subs]
    op = expression.get("Operator") or "And"
    return parts[0] if len(parts) == 1 else Junction(op, tuple(parts))


def condition(spec: dict, schema: Schema, counter: dict | None = None) -> Condition:
    """One Filter, checked: its property, its operator against the property's kind, its Value
    read as that kind. A Value without an Operator means Equals; neither means Exists."""
    prop = schema.resolve(spec["Name"])
    raw = spec.get("Value")
    op = spec.get("Operator") or (EQUALS if raw is not None else EXISTS)
    if op not in OPERATORS:  # the gateway checks the enum; a library caller may not
        raise ValidationError(f"Unknown operator {op}; use one of {', '.join(OPERATORS)}.")
    if op in (EXISTS, NOT_EXISTS):
        return Condition(prop, op)
    if raw is None:
        raise ValidationError(f"The filter on {prop.name} needs a Value for operator {op}.")
    if op == CONTAINS and counter is not None and not _contains_any_times(schema, prop):
        counter["contains"] += 1
    kind = prop.kind
    if kind == OBJECT:
        raise ValidationError(f"{prop.name} is not a single value (a structure, map or list); "
                              f"filter on one of its members, or use Exists or NotExists.")
    if op in (CONTAINS, IN) and kind not in (TEXT, HYPERPARAMETER, PARAMETER):
        raise ValidationError(f"The operator {op} is only supported for text properties; "
                              f"{prop.name} is a {kind} property.")
    if kind == TEXT:
        if op in ORDERING:
            raise ValidationError(f"The operator {op} is not supported for text properties; "
                                  f"{prop.name} is a text property.")
        return Condition(prop, op, _text(op, raw), "text")
    if kind in (HYPERPARAMETER, PARAMETER):
        number = parse_number(raw.strip()) if op not in (CONTAINS, IN) else None
        if number is None:
            if op in ORDERING:
                raise ValidationError(f"The operator {op} needs a number; {raw!r} is not one "
                                      f"({prop.name} compares as a number only with a numeric "
                                      "Value).")
            return Condition(prop, op, _text(op, raw), "text")
        integer = kind == HYPERPARAMETER and _INTEGER.fullmatch(raw.strip()) is not None
        return Condition(prop, op, number, "integer" if integer else "number")
    if kind == NUMBER:
        return Condition(prop, op, _number(prop, raw), "number")
    if kind == TIMESTAMP:
        return Condition(prop, op, _timestamp(prop, raw), "timestamp")
    if kind == BOOLEAN:
        if op not in (EQUALS, NOT_EQUALS):
            raise ValidationError(f"The operator {op} is not supported for Boolean properties; "
                                  f"{prop.name} is Boolean: use Equals or NotEquals.")
        lowered = raw.strip().lower()
        if lowered not in ("true", "false"):
            raise ValidationError(f"The value {raw!r} of {prop.name} must be true or false.")
        return Condition(prop, op, lowered == "true", "boolean")
    raise ValidationError(f"{prop.name} cannot be filtered on.")  # pragma: no cover


def _text(op: str, raw: str):
    if op == IN:
        return tuple(v.strip() for v in raw.split(","))
    return raw


def _number(prop: Property, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        raise ValidationError(f"The value {raw!r} of {prop.name} must be an integer or "
                              "floating-point decimal.")
    return value


def parse_timestamp(raw: str) -> dt.datetime | None:
    """An ISO 8601 date-time (``YYYY-mm-ddTHH:MM:SS``, optionally with fractions and a zone;
    UTC when none) or epoch seconds."""
    text = raw.strip()
    try:
        return dt.datetime.fromtimestamp(float(text), dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        pass
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return utc(dt.datetime.fromisoformat(text))
    except ValueError:
        return None


def _timestamp(prop: Property, raw: str) -> dt.datetime:
    value = parse_timestamp(raw)
    if value is None:
        raise ValidationError(f"The value {raw!r} of {prop.name} must be an ISO 8601 date-time "
                              "of the form YYYY-mm-ddTHH:MM:SS.")
    return value


def _contains_any_times(schema: Schema, prop: Property) -> bool:
    allowed = _CONTAINS_ANY_TIMES.get(schema.resource, ())
    first = prop.name.split(".", 1)[0]
    return first in allowed


def conditions(node: Node | None):
    """Every Condition of a tree, nested ones included (relative properties)."""
    if node is None:
        return
    if isinstance(node, Condition):
        yield node
    elif isinstance(node, Nested):
        yield from node.conditions
    else:
        for part in node.parts:
            yield from conditions(part)
