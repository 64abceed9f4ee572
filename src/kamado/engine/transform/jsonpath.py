"""The JSONPath subset batch transform's InputFilter and OutputFilter accept
(inference-contract.md §12.5): ``$``, ``.name``, ``.*``/``[*]``, ``['a','b']``, ``[i]``,
``[i,j,k]`` (negative counts from the end) and ``[start:end]`` (either side may be left out;
the end is exclusive, as in Jayway JsonPath, which SageMaker's filters are written against).

A path is compiled once per job, so a bad one is a ValidationException at CreateTransformJob.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_NAME = re.compile(r"\.([A-Za-z_$][\w$-]*|\*)")
_BRACKET = re.compile(r"\[([^\]]*)\]")
_INT = re.compile(r"\s*-?\d+\s*")
_QUOTED = re.compile(r"\s*'((?:[^'\\]|\\.)*)'\s*|\s*\"((?:[^\"\\]|\\.)*)\"\s*")


class PathError(ValueError):
    """A path that does not parse, or a record it cannot be applied to."""


@dataclass(frozen=True)
class _Step:
    kind: str  # "name", "names", "index", "indexes", "slice", "all"
    args: tuple

    @property
    def many(self) -> bool:
        return self.kind in ("names", "indexes", "slice", "all")


def _bracket(inner: str, path: str) -> _Step:
    text = inner.strip()
    if text == "*":
        return _Step("all", ())
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 2 or any(p.strip() and not _INT.fullmatch(p) for p in parts):
            raise PathError(f"{path}: [{inner}] is not a slice [start:end]")
        start, end = (int(p) if p.strip() else None for p in parts)
        return _Step("slice", (start, end))
    items = [p for p in _split_commas(text)]
    if all(_INT.fullmatch(p) for p in items):
        values = tuple(int(p) for p in items)
        return _Step("index", values) if len(values) == 1 else _Step("indexes", values)
    names = []
    for item in items:
        m = _QUOTED.fullmatch(item)
        if not m:
            raise PathError(f"{path}: [{inner}] must hold indexes, a slice, * or quoted names")
        names.append(m.group(1) if m.group(1) is not None else m.group(2))
    return _Step("name", (names[0],)) if len(names) == 1 else _Step("names", tuple(names))


def _split_commas(text: str) -> list[str]:
    items, current, quote = [], "", None
    for ch in text:
        if quote:
            current += ch
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            current += ch
        elif ch == ",":
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    return items


class JsonPath:
    def __init__(self, path: str | None) -> None:
        self.text = (path or "$").strip()
        if not self.text.startswith("$"):
            raise PathError(f"{self.text}: a JSONPath starts with $")
        rest, steps = self.text[1:], []
        while rest:
            if rest.startswith(".."):
                raise PathError(f"{self.text}: deep scan (..) is not supported")
            m = _NAME.match(rest)
            if m:
                name = m.group(1)
                steps.append(_Step("all", ()) if name == "*" else _Step("name", (name,)))
                rest = rest[m.end():]
                continue
            m = _BRACKET.match(rest)
            if m:
                steps.append(_bracket(m.group(1), self.text))
                rest = rest[m.end():]
                continue
            raise PathError(f"{self.text}: cannot read {rest!r}")
        self.steps = steps

    @property
    def identity(self) -> bool:
        return not self.steps

    def apply(self, value: Any) -> Any:
        """The selected part of ``value``: a single value, or a list once a step selects
        several (later steps then apply to each of them)."""
        many = False
        for step in self.steps:
            if many:
                value = [self._one(step, v) for v in value]
                if step.many:
                    value = [x for v in value for x in v]
            else:
                value = self._one(step, value)
                many = step.many
        return value

    def _one(self, step: _Step, value: Any) -> Any:
        kind, args = step.kind, step.args
        if kind in ("name", "names"):
            if not isinstance(value, dict):
                raise PathError(f"{self.text}: {_short(value)} is not a JSON object, so it has "
                                f"no member {args[0]!r}")
            if kind == "name":
                if args[0] not in value:
                    raise PathError(f"{self.text}: the record has no member {args[0]!r}")
                return value[args[0]]
            return {k: value[k] for k in args if k in value}
        if kind == "all":
            if isinstance(value, dict):
                return list(value.values())
            if isinstance(value, list):
                return list(value)
            raise PathError(f"{self.text}: {_short(value)} has no members")
        if not isinstance(value, list):
            raise PathError(f"{self.text}: {_short(value)} is not an array")
        if kind == "slice":
            start, end = args
            return value[start:end]
        picked = []
        for i in args:
            if not -len(value) <= i < len(value):
                raise PathError(f"{self.text}: index {i} is outside the record's "
                                f"{len(value)} values")
            picked.append(value[i])
        return picked[0] if kind == "index" else picked


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
