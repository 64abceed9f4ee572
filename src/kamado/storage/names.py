"""S3's naming rules for buckets and keys."""

from __future__ import annotations

import re

from kamado.storage import s3errors

MAX_KEY_BYTES = 1024

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
# Prefixes and suffixes S3 keeps for its own bucket kinds (access points, directory buckets …).
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_ok(name: str) -> bool:
    if not isinstance(name, str) or not _BUCKET.match(name) or _IPV4.match(name):
        return False
    if ".." in name or ".-" in name or "-." in name:
        return False
    return not (name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES))


def check_bucket_name(name: str) -> None:
    if not bucket_name_ok(name):
        raise s3errors.invalid_bucket_name(name)


def key_bytes(key: str) -> bytes:
    """The key as the index stores and orders it: its UTF-8 bytes, after S3's length rule."""
    if not isinstance(key, str) or key == "":
        raise s3errors.invalid_argument("The object key must not be empty.", "key", key)
    try:
        raw = key.encode("utf-8")
    except UnicodeEncodeError:
        raise s3errors.invalid_argument("The object key is not valid Unicode.", "key",
                                        key.encode("utf-8", "replace").decode()) from None
    if len(raw) > MAX_KEY_BYTES:
        raise s3errors.key_too_long(len(raw), MAX_KEY_BYTES)
    return raw


def after_prefix(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string that starts with ``prefix``.

    None when there is no such bound (an empty prefix covers everything).
    """
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])
