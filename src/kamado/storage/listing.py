"""S3's listing walk: prefix, delimiter roll-up into CommonPrefixes, and resumable paging.

It works on UTF-8 byte strings over any ``fetch(lower, upper, limit)`` that returns rows
(first column: the key) in byte order with ``lower <= key < upper``. A position to resume
from is the last item handed out (a key or a common prefix); an item equal to it is skipped,
and everything under a common prefix is jumped over with one new range query.
"""

from __future__ import annotations

from typing import Callable, Iterator

from kamado.storage.names import after_prefix

Fetch = Callable[[bytes, "bytes | None", int], list]


def walk(fetch: Fetch, prefix: bytes = b"", delimiter: bytes = b"",
         marker: bytes | None = None, batch: int = 1000) -> Iterator[tuple[str, object]]:
    """Yield ("key", row) and ("prefix", common_prefix_bytes) in order, after ``marker``."""
    lower = prefix
    if marker is not None and marker >= prefix:
        lower = marker + b"\x00"  # the smallest string after the marker
    upper = after_prefix(prefix)
    while True:
        rows = fetch(lower, upper, batch)
        if not rows:
            return
        skipping = None  # the common prefix whose keys are being passed over
        for row in rows:
            key = row[0]
            if skipping is not None and key.startswith(skipping):
                continue
            skipping = None
            if delimiter:
                at = key.find(delimiter, len(prefix))
                if at >= 0:
                    common = key[:at + len(delimiter)]
                    if common != marker:
                        yield "prefix", common
                    skipping = common
                    continue
            yield "key", row
        if len(rows) < batch:
            return
        # A batch that ends inside a common prefix jumps past all of it in one query.
        lower = after_prefix(skipping) if skipping is not None else rows[-1][0] + b"\x00"


def page(items: Iterator[tuple[str, object]], max_items: int):
    """Up to ``max_items`` items and whether more follow."""
    out = []
    if max_items <= 0:
        return out, False
    for item in items:
        if len(out) == max_items:
            return out, True
        out.append(item)
    return out, False

