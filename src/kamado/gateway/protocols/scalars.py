"""Scalar values on the wire: timestamps, blobs, numbers and booleans as text, both directions.

Every protocol shares these; they differ only in which timestamp format is the default where.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import datetime as dt
import math
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import unquote_to_bytes

UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


class BadScalar(ValueError):
    """A value that does not fit its shape's type; ``expected`` names the type AWS-style."""

    def __init__(self, value, expected: str) -> None:
        super().__init__(f"{value!r} is not a valid {expected}")
        self.value = value
        self.expected = expected
        # Filled in, innermost first, as the error unwinds through structures and lists.
        self.path: list[str] = []


# --- timestamps --------------------------------------------------------------------------

def to_datetime(value) -> dt.datetime:
    """Whatever a provider returned (aware or naive datetime, epoch number, ISO text) -> aware UTC."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return epoch_to_datetime(value)
    if isinstance(value, str):
        return parse_timestamp(value)
    raise BadScalar(value, "timestamp")


def epoch_to_datetime(seconds: float) -> dt.datetime:
    if not math.isfinite(seconds):
        raise BadScalar(seconds, "timestamp")
    try:
        # timedelta rounds to the microsecond once, as the client did when it made the number.
        return _EPOCH + dt.timedelta(seconds=seconds)
    except OverflowError:
        raise BadScalar(seconds, "timestamp") from None


def parse_timestamp(text: str) -> dt.datetime:
    """ISO 8601, RFC 822 or epoch seconds as text -> aware UTC datetime."""
    s = text.strip()
    if not s:
        raise BadScalar(text, "timestamp")
    if s[0].isdigit() or s[0] in "+-":
        try:
            return epoch_to_datetime(float(s))
        except ValueError:
            pass
        try:
            value = dt.datetime.fromisoformat(s)
        except ValueError:
            pass
        else:
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    try:
        value = parsedate_to_datetime(s)
    except (TypeError, ValueError, IndexError):
        raise BadScalar(text, "timestamp") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_timestamp(value, fmt: str):
    """Render for the wire: ``iso8601`` and ``rfc822`` give text, ``unixtimestamp`` a number."""
    when = to_datetime(value)
    if fmt == "unixtimestamp":
        # timestamp() adds whole microseconds before dividing, so the float is rounded once.
        return when.timestamp() if when.microsecond else calendar.timegm(when.utctimetuple())
    if fmt == "rfc822":
        return formatdate(calendar.timegm(when.utctimetuple()), usegmt=True)
    micro = when.microsecond
    fraction = f"{micro // 1000:03d}" if micro % 1000 == 0 else f"{micro:06d}"
    return (f"{when.year:04d}-{when.month:02d}-{when.day:02d}T"
            f"{when.hour:02d}:{when.minute:02d}:{when.second:02d}.{fraction}Z")


# --- blobs ---------------------------------------------------------------------------------

def b64decode(text) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise BadScalar(text, "blob") from None


def b64encode(value) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(bytes(value)).decode("ascii")


# --- numbers and booleans from text (headers, query strings, URIs, XML) --------------------

_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def int_from_text(text: str) -> int:
    try:
        return int(text.strip())
    except (ValueError, AttributeError):
        raise BadScalar(text, "integer") from None


def float_from_text(text: str) -> float:
    special = _SPECIAL_FLOATS.get(text.strip()) if isinstance(text, str) else None
    if special is not None:
        return special
    try:
        return float(text)
    except (ValueError, TypeError):
        raise BadScalar(text, "double") from None


def bool_from_text(text: str) -> bool:
    lowered = text.strip().lower() if isinstance(text, str) else text
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise BadScalar(text, "boolean")


def float_to_wire(value: float):
    """JSON and text cannot spell the IEEE specials; AWS spells them as these strings."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def text_of(value) -> str:
    """Scalar -> the text a header, query string or XML element carries."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(float_to_wire(value))
    return str(value)


def from_text(shape, text: str):
    """Text from a URI label, query string, header or XML element -> the value for ``shape``."""
    t = shape.type_name
    if t == "string":
        return text
    if t in ("integer", "long"):
        return int_from_text(text)
    if t in ("float", "double"):
        return float_from_text(text)
    if t == "boolean":
        return bool_from_text(text)
    if t == "blob":
        return b64decode(text)
    if t == "timestamp":
        return parse_timestamp(text)
    return text


# --- percent-decoding ----------------------------------------------------------------------

def percent_decode(text: str) -> str:
    """Decode a percent-encoded path part; raw non-ASCII arrives latin-1 decoded by the server."""
    raw = text.encode("latin-1", "replace") if not text.isascii() else text.encode("ascii")
    decoded = unquote_to_bytes(raw)
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError:
        return decoded.decode("latin-1")


def fix_latin1(text: str) -> str:
    """Undo the server's latin-1 decoding of raw UTF-8 bytes (query strings sent unencoded)."""
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text
