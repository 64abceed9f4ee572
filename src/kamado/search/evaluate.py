"""A search expression applied to a rendered record, in Python: the meaning of every operator.

The SQL translation (:mod:`kamado.search.sql`) must agree with this module on every record;
tests/unit/search/test_parity.py checks that it does. The rules:

* a property's values are everything its steps reach: a list on the way contributes each
  element, a missing member contributes nothing, null is no value;
* ``Exists``: some value that is not an empty list or map; ``NotExists`` is its negation;
* ``Equals``, ``Contains``, ``In`` and the orderings: some value of the property's kind
  satisfies it (a text never equals a number); ``NotEquals`` is the negation of ``Equals``;
* a hyperparameter (text) compares as a number when the Value is one, cut to its integer part
  when the Value is an integer; one that does not read as a number then matches nothing;
* NestedFilters: some one value of the nested property satisfies all its filters.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from typing import Any, Iterable

from kamado.search.expression import (CONTAINS, EQUALS, EXISTS, GREATER, GREATER_EQUAL, IN,
                                      LESS, LESS_EQUAL, NOT_EQUALS, NOT_EXISTS, Condition,
                                      Nested, Node)
from kamado.search.properties import (BOOLEAN, HYPERPARAMETER, NUMBER, PARAMETER, TEXT,
                                      TIMESTAMP, Property, Step)
from kamado.store.types import parse_integer, parse_number, utc

_ORDER = {GREATER: operator.gt, GREATER_EQUAL: operator.ge, LESS: operator.lt,
          LESS_EQUAL: operator.le, EQUALS: operator.eq}


def values(record: Any, steps: Iterable[Step]) -> list:
    """Everything ``steps`` reach from ``record`` (lists on the way flattened; no None)."""
    current = [record]
    for step in steps:
        found = []
        for value in current:
            if step.op == "key":
                if isinstance(value, dict) and value.get(step.key) is not None:
                    found.append(value[step.key])
            elif step.op == "each":
                if isinstance(value, list):
                    found.extend(v for v in value if v is not None)
            elif isinstance(value, dict) and value.get(step.key) == step.value:  # where
                found.append(value)
        current = found
    return current


def present(value) -> bool:
    return value is not None and not (isinstance(value, (list, dict)) and len(value) == 0)


def matches(node: Node | None, record: dict) -> bool:
    if node is None:
        return True
    if isinstance(node, Condition):
        return holds(node, record)
    if isinstance(node, Nested):
        return any(all(holds(c, element) for c in node.conditions)
                   for element in values(record, node.prop.steps))
    if node.op == "Or":
        return any(matches(part, record) for part in node.parts)
    return all(matches(part, record) for part in node.parts)


def holds(c: Condition, record) -> bool:
    found = values(record, c.prop.steps)
    if c.op == EXISTS:
        return any(present(v) for v in found)
    if c.op == NOT_EXISTS:
        return not any(present(v) for v in found)
    if c.op == NOT_EQUALS:
        return not any(_test(c, EQUALS, v) for v in found)
    return any(_test(c, c.op, v) for v in found)


def _test(c: Condition, op: str, v) -> bool:
    kind = c.prop.kind
    if kind == PARAMETER:
        if not isinstance(v, dict):
            return False
        v = v.get("StringValue") if c.mode == "text" else v.get("NumberValue")
        kind = TEXT if c.mode == "text" else NUMBER
    elif kind == HYPERPARAMETER:
        if c.mode == "text":
            kind = TEXT
        else:
            v = parse_integer(v) if c.mode == "integer" else parse_number(v)
            kind = NUMBER
    if kind == TEXT:
        if not isinstance(v, str):
            return False
        if op == CONTAINS:
            return c.value in v
        if op == IN:
            return v in c.value
        return v == c.value
    if kind == NUMBER:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return False
        return _ORDER[op](float(v), c.value)
    if kind == TIMESTAMP:
        if not isinstance(v, dt.datetime):
            return False
        return _ORDER[op](utc(v), c.value)
    if kind == BOOLEAN:
        return isinstance(v, bool) and v == c.value
    return False


# --- sorting ----------------------------------------------------------------------------------
# A sort key is a tuple whose first element is a group (0: a value of the property's kind,
# 1 for a hyperparameter: a value that is not a number, 2: no value) that always ascends, so
# resources without the property come last whichever the order; the rest follow SortOrder.

def sort_key(prop: Property, record: dict, descending: bool) -> tuple:
    found = values(record, prop.steps)
    kind = prop.kind
    if kind == HYPERPARAMETER:
        texts = [v for v in found if isinstance(v, str)]
        numbers = [n for n in (parse_number(v) for v in texts) if n is not None]
        if numbers:
            return (0, _pick(numbers, descending), None)
        if texts:
            return (1, None, _pick(texts, descending))
        return (2, None, None)
    typed = [_sortable(kind, v) for v in found]
    typed = [v for v in typed if v is not None]
    if not typed:
        return (2, None)
    return (0, _pick(typed, descending))


def _sortable(kind: str, v):
    if kind == TEXT:
        return v if isinstance(v, str) else None
    if kind == NUMBER:
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    if kind == TIMESTAMP:
        return utc(v) if isinstance(v, dt.datetime) else None
    if kind == BOOLEAN:
        return int(v) if isinstance(v, bool) else None
    return None


def _pick(options: list, descending: bool):
    """A list property sorts by its largest value descending, its smallest ascending."""
    return max(options) if descending else min(options)


def compare_keys(a: tuple, b: tuple, descending: bool) -> int:
    """Order two (sort key..., id) tuples: group ascending, then values and id as asked."""
    if a[0] != b[0]:
        return -1 if a[0] < b[0] else 1
    for x, y in zip(a[1:], b[1:]):
        if x == y:
            continue
        if x is None or y is None:  # only where the group already differs; kept total
            result = -1 if y is None else 1
        else:
            result = -1 if x < y else 1
        return -result if descending else result
    return 0


def sort_records(items: list, key_of, descending: bool) -> list:
    return sorted(items, key=functools.cmp_to_key(
        lambda a, b: compare_keys(key_of(a), key_of(b), descending)))

