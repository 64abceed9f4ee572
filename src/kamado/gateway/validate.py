"""Input validation against a botocore input shape, in AWS's own wording.

botocore's client-side ParamValidator checks required members, types and minimums; AWS services
check the rest (maximums, ``pattern``, enums) on the server. Every violation is collected and
reported in one ValidationException, the way AWS does::

    2 validation errors detected: Value null at 'experimentName' failed to satisfy constraint:
    Member must not be null; Value 'x y' at 'displayName' failed to satisfy constraint: Member
    must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}

Member paths are camelCase (``trialComponentName``), nested ones dotted, list items
``tags.1.member.key``. Patterns use Java ``matches()`` semantics (``re.fullmatch``); a model
pattern Python cannot compile (``\\p{L}``…) is skipped rather than guessed at.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from kamado.errors import ValidationError

_MAX_RENDER = 1024
_STRUCTURED = ("structure", "list", "map")


def member_label(name: str) -> str:
    """AWS names members camelCase in messages: ``ExperimentName`` -> ``experimentName``."""
    return name[:1].lower() + name[1:]


def render(value) -> str:
    """A value as AWS's Java services print it: ``'text'``, ``5``, ``null``, ``[a, b]``, ``{k=v}``."""
    if value is None:
        return "null"
    text = _render(value)
    if isinstance(value, str):
        text = f"'{text}'"
    if len(text) > _MAX_RENDER:
        text = text[:_MAX_RENDER] + "…"
    return text


def _render(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return str(value)


def format_errors(problems: list[str]) -> str:
    n = len(problems)
    return f"{n} validation error{'s' if n != 1 else ''} detected: " + "; ".join(problems)


def problem(path: str, value, constraint: str, sensitive: bool = False) -> str:
    shown = "" if sensitive and value is not None else f" {render(value)}"
    return f"Value{shown} at '{path}' failed to satisfy constraint: {constraint}"


def type_error(path: list[str], value, expected: str) -> ValidationError:
    """A value of the wrong type met while parsing; ``path`` innermost first."""
    where = ".".join(reversed(path)) if path else "input"
    return ValidationError(format_errors([problem(where, value, f"Member must be of type {expected}")]))


# Java regex spellings AWS models use that Python's ``re`` lacks, as Python class contents.
_JAVA_CLASSES = {r"\p{ASCII}": r"\x00-\x7F", r"\p{Alnum}": "a-zA-Z0-9", r"\p{Print}": r"\x20-\x7E",
                 r"\p{Alpha}": "a-zA-Z", r"\p{Digit}": "0-9"}
# A surrogate pair range in Java is "every supplementary code point".
_JAVA_SURROGATES = (r"\uD800\uDC00-\uDBFF\uDFFF", r"\U00010000-\U0010FFFF")


def _pythonize(pattern: str) -> str:
    pattern = pattern.replace(*_JAVA_SURROGATES)
    out, i, depth = [], 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            for java, py in _JAVA_CLASSES.items():
                if pattern.startswith(java, i):
                    out.append(py if depth else f"[{py}]")
                    i += len(java)
                    break
            else:
                nxt = pattern[i + 1:i + 2]
                out.append("\\Z" if nxt == "z" else ch + nxt)
                i += 2
                if depth and nxt in "dDwWsS" and pattern[i:i + 1] == "-":
                    out.append("\\-")  # Java reads [\w-_] as \w, '-', '_'
                    i += 1
            continue
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
        out.append(ch)
        i += 1
    return "".join(out)


@lru_cache(maxsize=None)
def compile_pattern(pattern: str):
    """The model's (Java) pattern as a Python regex, or None when Python cannot express it.

    Java's \\d, \\w and \\s are ASCII-only, hence re.ASCII.
    """
    try:
        return re.compile(_pythonize(pattern), re.ASCII)
    except (re.error, OverflowError, RecursionError):
        return None


def validate(shape, params) -> None:
    """Raise ``ValidationError`` listing every violation of ``shape``'s constraints in ``params``."""
    if shape is None:
        return
    problems: list[str] = []
    if not isinstance(params, dict):
        problems.append(problem("input", params, "Member must be of type structure"))
    else:
        _structure(shape, params, "", problems)
    if problems:
        raise ValidationError(format_errors(problems))


def _structure(shape, value: dict, prefix: str, problems: list[str]) -> None:
    if shape.is_document_type:
        return
    members = shape.members
    for name in shape.required_members:
        if value.get(name) is None:
            problems.append(problem(prefix + member_label(name), None, "Member must not be null"))
    for name, item in value.items():
        member = members.get(name)
        if member is None or item is None:
            continue
        _check(member, item, prefix + member_label(name), problems)


def _check(shape, value, path: str, problems: list[str]) -> None:
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            problems.append(problem(path, value, "Member must be of type structure"))
        else:
            _structure(shape, value, path + ".", problems)
        return
    if t == "list":
        if not isinstance(value, (list, tuple)):
            problems.append(problem(path, value, "Member must be of type list"))
            return
        _length(shape, value, len(value), path, problems)
        member = shape.member
        for i, item in enumerate(value, 1):
            if item is not None:
                _check(member, item, f"{path}.{i}.member", problems)
        return
    if t == "map":
        if not isinstance(value, dict):
            problems.append(problem(path, value, "Member must be of type map"))
            return
        _length(shape, value, len(value), path, problems)
        _map_entries(shape, value, path, problems)
        return
    found = _scalar_problems(shape, value)
    for constraint in found:
        problems.append(problem(path, value, constraint, shape.metadata.get("sensitive", False)))


def _map_entries(shape, value: dict, path: str, problems: list[str]) -> None:
    key_shape, value_shape = shape.key, shape.value
    key_issues: list[str] = []
    value_issues: list[str] = []
    for k, v in value.items():
        for c in _scalar_problems(key_shape, k):
            if c not in key_issues:
                key_issues.append(c)
        if v is None:
            continue
        if value_shape.type_name in _STRUCTURED:
            _check(value_shape, v, f"{path}.{k}", problems)
        else:
            for c in _scalar_problems(value_shape, v):
                if c not in value_issues:
                    value_issues.append(c)
    if key_issues:
        problems.append(problem(path, value, f"Map keys must satisfy constraint: [{', '.join(key_issues)}]"))
    if value_issues:
        problems.append(problem(path, value, f"Map value must satisfy constraint: [{', '.join(value_issues)}]"))


def _length(shape, value, n: int, path: str, problems: list[str]) -> None:
    meta = shape.metadata
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and n < lo:
        problems.append(problem(path, value, f"Member must have length greater than or equal to {_num(lo)}"))
    if hi is not None and n > hi:
        problems.append(problem(path, value, f"Member must have length less than or equal to {_num(hi)}"))


def _scalar_problems(shape, value) -> list[str]:
    t = shape.type_name
    meta = shape.metadata
    out: list[str] = []
    if t == "string":
        if not isinstance(value, str):
            # jsonvalue headers arrive decoded (any JSON value); nothing else may be a non-string.
            if not shape.serialization.get("jsonvalue"):
                out.append("Member must be of type string")
            return out
        n = len(value)
        lo, hi = meta.get("min"), meta.get("max")
        if lo is not None and n < lo:
            out.append(f"Member must have length greater than or equal to {_num(lo)}")
        if hi is not None and n > hi:
            out.append(f"Member must have length less than or equal to {_num(hi)}")
        pattern = meta.get("pattern")
        if pattern is not None:
            compiled = compile_pattern(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                out.append(f"Member must satisfy regular expression pattern: {pattern}")
        enum = meta.get("enum")
        if enum and value not in enum:
            out.append(f"Member must satisfy enum value set: [{', '.join(enum)}]")
        return out
    if t in ("integer", "long", "float", "double"):
        integral = t in ("integer", "long")
        if isinstance(value, bool) or not isinstance(value, (int, float) if not integral else int):
            out.append(f"Member must be of type {t}")
            return out
        lo, hi = meta.get("min"), meta.get("max")
        if lo is not None and value < lo:
            out.append(f"Member must have value greater than or equal to {_num(lo)}")
        if hi is not None and value > hi:
            out.append(f"Member must have value less than or equal to {_num(hi)}")
        return out
    if t == "boolean":
        if not isinstance(value, bool):
            out.append("Member must be of type boolean")
        return out
    if t == "timestamp":
        if not isinstance(value, dt.datetime):
            out.append("Member must be of type timestamp")
        return out
    if t == "blob":
        if isinstance(value, (bytes, bytearray)):
            n = len(value)
        elif isinstance(value, str):
            n = len(value.encode("utf-8"))
        else:
            n = getattr(value, "size", None)  # a spooled streaming payload
            if n is None:
                return out
        lo, hi = meta.get("min"), meta.get("max")
        if lo is not None and n < lo:
            out.append(f"Member must have length greater than or equal to {_num(lo)}")
        if hi is not None and n > hi:
            out.append(f"Member must have length less than or equal to {_num(hi)}")
    return out


def _num(x) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)
