"""Column types that behave the same on SQLite and Postgres.

Three differences between the two would otherwise leak into providers: SQLite forgets time
zones, Postgres refuses NUL characters in text and JSONB, and neither JSON flavour knows
datetimes. These types hide all three so a value read back equals the value written.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

UTC = dt.timezone.utc


def utc(value: dt.datetime) -> dt.datetime:
    """The same instant in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # year 1 at +05:00 has no UTC representation; clamp to the edge
        return dt.datetime.min.replace(tzinfo=UTC) if value.year == 1 else dt.datetime.max.replace(tzinfo=UTC)


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC on every backend; read back as an aware UTC datetime."""

    impl = sa.DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return utc(value).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


# --- NUL-safe text -------------------------------------------------------------------------
# Postgres text cannot hold U+0000. \x01 becomes the escape character: \x01 -> \x01\x01 and
# \x00 -> \x01\x02. It is a prefix code, so prefix matching on escaped values still works.

_UNESCAPE = re.compile("\x01([\x01\x02])")


def escape_nul(text: str) -> str:
    if "\x00" not in text and "\x01" not in text:
        return text
    return text.replace("\x01", "\x01\x01").replace("\x00", "\x01\x02")


def unescape_nul(text: str) -> str:
    if "\x01" not in text:
        return text
    return _UNESCAPE.sub(lambda m: "\x01" if m.group(1) == "\x01" else "\x00", text)


class SafeText(TypeDecorator):
    """Text that may contain NUL; escaped only on Postgres, where it must be."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name != "postgresql":
            return value
        return escape_nul(value)

    def process_result_value(self, value, dialect):
        if value is None or dialect.name != "postgresql":
            return value
        return unescape_nul(value)


class SafeName(SafeText):
    """A bounded, NUL-safe string that sorts byte-wise (collation "C") on Postgres too,
    so that listings sorted by name come out in the same order on both backends."""

    impl = sa.String
    cache_ok = True

    def __init__(self, length: int) -> None:
        super().__init__(length)

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.String(self.impl.length, collation="C"))
        return dialect.type_descriptor(sa.String(self.impl.length))


# --- numbers written as text ------------------------------------------------------------------
# Hyperparameters are strings; Search compares them as numbers when they look like one. What
# "looks like a number" is this pattern, on both backends (SQLite through the kamado_number
# function registered on each connection, Postgres with the same regular expression), and its
# bounds keep every match inside a double's range, so both read a match as the same double.

_NUMBER_BODY = r"[+-]?([0-9]{1,40}(\.[0-9]{0,40})?|\.[0-9]{1,40})([eE][+-]?[0-9]{1,2})?"
NUMBER_PATTERN = f"^{_NUMBER_BODY}$"  # Postgres: ``$`` is the very end of the text
_NUMBER = re.compile(_NUMBER_BODY)


def parse_number(text) -> float | None:
    """The number a text spells (``"0.3"``, ``"-2"``, ``"1e-5"``), or None."""
    if not isinstance(text, str) or not _NUMBER.fullmatch(text):
        return None
    return float(text)


def parse_integer(text) -> float | None:
    """The number a text spells cut to its integer part (toward zero), or None: how Search
    compares a hyperparameter with a Value that is an integer."""
    number = parse_number(text)
    return None if number is None else float(math.trunc(number))


def prepare_bind(value: str, dialect_name: str) -> str:
    """How a SafeText value is written, for building LIKE/substr comparisons by hand."""
    return escape_nul(value) if dialect_name == "postgresql" else value


# --- JSON that round-trips Python values -----------------------------------------------------
# Values JSON cannot carry are written as one-key objects whose key names the kind. A user map
# that happens to look like such an object is itself wrapped, so decoding is never ambiguous.

_TAGS = ("__dt__", "__bytes__", "__float__", "__nulstr__", "__pairs__")


def encode_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, str):
        return {"__nulstr__": value.split("\x00")} if "\x00" in value else value
    if isinstance(value, dt.datetime):
        return {"__dt__": utc(value).isoformat()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        keys = list(value)
        if any(not isinstance(k, str) or "\x00" in k for k in keys) or (
                len(keys) == 1 and keys[0] in _TAGS):
            return {"__pairs__": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
        return {k: encode_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    raise TypeError(f"cannot store a {type(value).__name__} in a JSON column")


def decode_value(value: Any) -> Any:
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, inner), = value.items()
        if key == "__dt__":
            return dt.datetime.fromisoformat(inner)
        if key == "__bytes__":
            return base64.b64decode(inner)
        if key == "__float__":
            return float(inner)
        if key == "__nulstr__":
            return "\x00".join(inner)
        if key == "__pairs__":
            return {decode_value(k): decode_value(v) for k, v in inner}
    return {k: decode_value(v) for k, v in value.items()}


class TaggedJSON(TypeDecorator):
    """A JSON document (JSONB on Postgres) holding datetimes, bytes, NaN and NUL-bearing text."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.JSON())

    def process_bind_param(self, value, dialect):
        return None if value is None else encode_value(value)

    def process_result_value(self, value, dialect):
        return None if value is None else decode_value(value)

    # Index expressions (data["Key"]) must compare as plain JSON, not go through the encoder.
    @property
    def comparator_factory(self):
        return sa.JSON.Comparator
