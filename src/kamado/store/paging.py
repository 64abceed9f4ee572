"""Opaque paging tokens: where the previous page ended, in a form the client cannot usefully edit.

A token is base64url(JSON) with a ``scope`` naming the listing it belongs to, so a token of one
listing handed to another is refused rather than silently misread.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


class BadToken(ValueError):
    """The token was not issued by this listing; callers map it to their service's error."""


def encode(scope: str, position: dict[str, Any]) -> str:
    raw = json.dumps({"scope": scope, **position}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode("ascii").rstrip("=")


def decode(scope: str, token: str) -> dict[str, Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise BadToken(token) from None
    if not isinstance(value, dict) or value.pop("scope", None) != scope:
        raise BadToken(token)
    return value
