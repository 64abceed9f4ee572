"""JSON bodies <-> Python values, walked along a botocore shape (json and rest-json protocols).

Decoding checks types as it goes: a value of the wrong JSON type raises ``BadScalar`` whose
``path`` names where it was, so the caller can answer a ValidationException naming the member.
"""

from __future__ import annotations

import json
import math

from kamado.errors import SerializationError
from kamado.gateway.protocols.scalars import (
    BadScalar, b64decode, b64encode, epoch_to_datetime, float_to_wire, format_timestamp,
    parse_timestamp,
)
from kamado.gateway.validate import member_label

_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def loads(body: bytes):
    """Raise ValueError (incl. UnicodeDecodeError) on anything that is not one JSON document."""
    return json.loads(body.decode("utf-8"))


def dumps(value) -> bytes:
    # default=str: error fields and raw provider values need never break a response.
    return json.dumps(value, separators=(",", ":"), default=str).encode("utf-8")


# --- decode (request bodies) -------------------------------------------------------------

def load_object(body: bytes) -> dict:
    """A request body that must be one JSON object, or the SerializationException AWS sends."""
    try:
        raw = loads(body)
    except ValueError:
        raise SerializationError("The request body is not valid JSON.") from None
    if not isinstance(raw, dict):
        raise SerializationError("The request body must be a JSON object.")
    return raw


def decode(shape, value):
    t = shape.type_name
    if t == "structure":
        if shape.is_document_type:
            return value
        if not isinstance(value, dict):
            raise BadScalar(value, "structure")
        out = {}
        for name, wire, member in _members(shape):
            raw = value.get(wire)
            if raw is None:
                continue
            try:
                out[name] = decode(member, raw)
            except BadScalar as exc:
                exc.path.append(member_label(name))
                raise
        return out
    if t == "list":
        if not isinstance(value, list):
            raise BadScalar(value, "list")
        member = shape.member
        out_list = []
        for i, item in enumerate(value, 1):
            if item is None:
                out_list.append(None)
                continue
            try:
                out_list.append(decode(member, item))
            except BadScalar as exc:
                exc.path.append(f"{i}.member")
                raise
        return out_list
    if t == "map":
        if not isinstance(value, dict):
            raise BadScalar(value, "map")
        vshape = shape.value
        out_map = {}
        for k, v in value.items():
            if v is None:
                continue
            try:
                out_map[k] = decode(vshape, v)
            except BadScalar as exc:
                exc.path.append(k)
                raise
        return out_map
    if t == "string":
        if isinstance(value, str):
            return value
        raise BadScalar(value, "string")
    if t in ("integer", "long"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise BadScalar(value, t)
    if t in ("float", "double"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and value in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[value]
        raise BadScalar(value, t)
    if t == "boolean":
        if isinstance(value, bool):
            return value
        raise BadScalar(value, "boolean")
    if t == "blob":
        if isinstance(value, str):
            return b64decode(value)
        raise BadScalar(value, "blob")
    if t == "timestamp":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return epoch_to_datetime(value)
        if isinstance(value, str):
            return parse_timestamp(value)
        raise BadScalar(value, "timestamp")
    return value


def _members(shape):
    """(python name, json name, member shape) per member, computed once per shape."""
    plan = _PLANS.get(shape)
    if plan is None:
        plan = _PLANS[shape] = tuple(
            (name, m.serialization.get("name", name), m) for name, m in shape.members.items())
    return plan


_PLANS: dict = {}


# --- encode (response bodies) ------------------------------------------------------------

def encode(shape, value, default_ts: str = "unixtimestamp"):
    t = shape.type_name
    if t == "string":
        return value if isinstance(value, str) else str(value)
    if t == "structure":
        if shape.is_document_type:
            return value
        wires = _wire_names(shape)
        out = {}
        for key, item in value.items():
            found = wires.get(key)
            if found is None or item is None:
                continue
            out[found[0]] = encode(found[1], item, default_ts)
        return out
    if t == "list":
        member = shape.member
        return [None if item is None else encode(member, item, default_ts) for item in value]
    if t == "map":
        vshape = shape.value
        return {str(k): encode(vshape, v, default_ts) for k, v in value.items() if v is not None}
    if t == "timestamp":
        return format_timestamp(value, shape.serialization.get("timestampFormat", default_ts))
    if t == "blob":
        return b64encode(value)
    if t in ("float", "double"):
        return float_to_wire(value)
    if t in ("integer", "long") and not isinstance(value, bool):
        return int(value)
    return value


def _wire_names(shape) -> dict:
    """member name -> (json name, member shape), computed once per shape."""
    plan = _WIRES.get(shape)
    if plan is None:
        plan = _WIRES[shape] = {
            name: (m.serialization.get("name", name), m) for name, m in shape.members.items()}
    return plan


_WIRES: dict = {}
