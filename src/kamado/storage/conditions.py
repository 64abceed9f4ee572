"""HTTP semantics S3 applies to reads: byte ranges and conditional requests (RFC 7232/7233)."""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import format_datetime

from kamado.storage import s3errors

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
_COPY_RANGE = re.compile(r"^bytes=(\d+)-(\d+)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, length)`` of a single byte range, or None to send the whole object.

    A malformed (or multi-)range is ignored and the whole object sent, as S3 does; a
    well-formed range that misses the object is InvalidRange (416).
    """
    if not header:
        return None
    m = _RANGE.match(header)
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":  # the last n bytes
        n = int(last)
        if n == 0 or size == 0:
            raise s3errors.invalid_range(size, header)
        n = min(n, size)
        return size - n, n
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise s3errors.invalid_range(size, header)
    end = min(int(last), size - 1) if last != "" else size - 1
    return start, end - start + 1


def parse_copy_range(header: str, size: int) -> tuple[int, int]:
    """UploadPartCopy's x-amz-copy-source-range: only ``bytes=first-last``, inside the source."""
    m = _COPY_RANGE.match(header.strip())
    if m is None:
        raise s3errors.invalid_argument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first "
            "and last are the zero-based offsets of the first and last bytes to copy",
            "x-amz-copy-source-range", header)
    start, end = int(m.group(1)), int(m.group(2))
    if end < start or end >= size:
        raise s3errors.invalid_argument(
            f"Range specified is not valid for source object of size: {size}",
            "x-amz-copy-source-range", header)
    return start, end - start + 1


def etag_matches(header: str, etag: str) -> bool:
    """Does an If-Match / If-None-Match list name ``etag`` (``*`` names any)?"""
    want = etag.strip('"')
    for item in header.split(","):
        item = item.strip()
        if item == "*":
            return True
        if item.startswith("W/"):
            item = item[2:]
        if item.strip('"') == want:
            return True
    return False


def http_date(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


def check_read(etag: str, last_modified: datetime, *, if_match: str | None = None,
               if_none_match: str | None = None, if_modified_since: datetime | None = None,
               if_unmodified_since: datetime | None = None, copy_source: bool = False) -> None:
    """Evaluate preconditions in RFC 7232 §6 order; raise 412 PreconditionFailed or 304.

    If-Match outranks If-Unmodified-Since and If-None-Match outranks If-Modified-Since (a
    present If-Match / If-None-Match makes the date condition irrelevant). For a copy source
    S3 answers 412 where a GET would answer 304.
    """
    prefix = "x-amz-copy-source-" if copy_source else ""
    if if_match is not None:
        if not etag_matches(if_match, etag):
            raise s3errors.precondition_failed(prefix + "If-Match")
    elif if_unmodified_since is not None and last_modified > if_unmodified_since:
        raise s3errors.precondition_failed(prefix + "If-Unmodified-Since")
    not_modified = False
    if if_none_match is not None:
        not_modified = etag_matches(if_none_match, etag)
        condition = "If-None-Match"
    elif if_modified_since is not None:
        not_modified = last_modified <= if_modified_since
        condition = "If-Modified-Since"
    if not_modified:
        if copy_source:
            raise s3errors.precondition_failed(prefix + condition)
        raise s3errors.not_modified(etag, http_date(last_modified))
