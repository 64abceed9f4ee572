"""Entity ids and IPv4 addresses as the model's row numbers.

An entity id (any string) is hashed (CRC-32 of its UTF-8 bytes) into one of
``num_entity_vectors`` rows, AWS's hashing trick: any id, seen in training or not, has a
vector. An IPv4 address is four tokens, its /8, /16, /24 and /32 prefixes: the /8 has a row of
its own (256), the others are hashed into ``BUCKETS`` rows each (kamado's design; AWS does not
document its encoder). Addresses in one subnet share their prefix rows, which is what lets
the model score an address it never saw by the company it keeps.
"""

from __future__ import annotations

import zlib

import numpy as np

BUCKETS = 1 << 14
LEVELS = (8, 16, 24, 32)
ROWS = 256 + BUCKETS * (len(LEVELS) - 1)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


class AddressError(ValueError):
    """Text that is not an IPv4 address; ``index`` is the first bad one."""

    def __init__(self, index: int, value: str):
        super().__init__(f"{value!r} is not an IPv4 address (four numbers 0-255 joined by dots)")
        self.index, self.value = index, value


def _one(text: str) -> int | None:
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and len(p) <= 3 for p in parts):
        return None
    numbers = [int(p) for p in parts]
    if max(numbers) > 255:
        return None
    return (numbers[0] << 24) | (numbers[1] << 16) | (numbers[2] << 8) | numbers[3]


def parse_ipv4(texts: list[str]) -> np.ndarray:
    """uint32 addresses of stripped dotted-quad texts; an AddressError names the first bad one."""
    n = len(texts)
    if n == 0:
        return np.zeros(0, np.uint32)
    joined = ".".join(texts)
    digits = joined.replace(".", "")
    if digits.isascii() and digits.isdigit() and all(t.count(".") == 3 for t in texts):
        parts = np.array(joined.split("."))
        if (np.char.str_len(parts) <= 3).all() and (np.char.str_len(parts) >= 1).all():
            octets = parts.astype(np.int64).reshape(n, 4)
            if octets.max() <= 255:
                return ((octets[:, 0] << 24) | (octets[:, 1] << 16) | (octets[:, 2] << 8)
                        | octets[:, 3]).astype(np.uint32)
    for i, text in enumerate(texts):  # the slow path finds the first bad one
        if _one(text) is None:
            raise AddressError(i, text)
    return np.array([_one(t) for t in texts], np.uint32)


def entity_rows(entities: list[str], num_entity_vectors: int) -> np.ndarray:
    return np.fromiter((zlib.crc32(e.encode("utf-8")) for e in entities), np.int64,
                       len(entities)) % num_entity_vectors


def prefix_rows(ips: np.ndarray) -> np.ndarray:
    """rows × 4 row numbers in the prefix table: the /8, then the hashed /16, /24, /32."""
    ips = np.asarray(ips, np.uint64)
    out = np.empty((len(ips), len(LEVELS)), np.int64)
    out[:, 0] = (ips >> np.uint64(24)).astype(np.int64)
    bits = np.uint64(BUCKETS.bit_length() - 1)
    for level, length in enumerate(LEVELS[1:], 1):
        prefix = ips >> np.uint64(32 - length)
        # Fibonacci hashing of (level, prefix): a multiply, the top bits kept
        mixed = (prefix + np.uint64(level << 32)) * _GOLDEN
        out[:, level] = 256 + (level - 1) * BUCKETS + (mixed >> (np.uint64(64) - bits)).astype(
            np.int64)
    return out
