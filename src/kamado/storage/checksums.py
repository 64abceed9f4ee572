"""The additional checksums S3 keeps beside the ETag: computing, decoding, combining.

Values travel as base64 of the big-endian digest, as S3's ``x-amz-checksum-*`` headers carry
them. CRC32 comes from zlib and the SHAs from hashlib; CRC32C has no module here, so it is a
table-driven pure-Python loop — slow (tens of MB/s at best), paid only when a client asks for it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from pathlib import Path

from kamado.storage import s3errors
from kamado.storage.blobs import read_range

# Digest size in bytes of every algorithm kamado computes.
SIZES = {"CRC32": 4, "CRC32C": 4, "SHA1": 20, "SHA256": 32, "SHA512": 64, "MD5": 16}
SUPPORTED = tuple(SIZES)
# Every algorithm botocore's S3 model can name, supported or not.
KNOWN = SUPPORTED + ("CRC64NVME", "XXHASH64", "XXHASH3", "XXHASH128")
CRC_ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME")


def member(algorithm: str) -> str:
    """The request/response member that carries an algorithm's value: ``ChecksumCRC32``."""
    return "Checksum" + algorithm


def header(algorithm: str) -> str:
    return "x-amz-checksum-" + algorithm.lower()


def check_supported(algorithm: str) -> str:
    algorithm = algorithm.upper()
    if algorithm not in SUPPORTED:
        raise s3errors.invalid_request(
            f"kamado does not compute {algorithm} checksums; use one of "
            f"{', '.join(SUPPORTED)}.")
    return algorithm


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_TABLE = _crc32c_table()


class _Crc:
    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self.value = 0

    def update(self, data: bytes) -> None:
        if self.algorithm == "CRC32":
            self.value = zlib.crc32(data, self.value)
            return
        crc, table = self.value ^ 0xFFFFFFFF, _CRC32C_TABLE
        for byte in data:
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        self.value = crc ^ 0xFFFFFFFF

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


def hasher(algorithm: str):
    algorithm = check_supported(algorithm)
    if algorithm in ("CRC32", "CRC32C"):
        return _Crc(algorithm)
    return hashlib.new(algorithm.lower())


def encode(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def of_bytes(algorithm: str, data: bytes) -> str:
    h = hasher(algorithm)
    h.update(data)
    return encode(h.digest())


def of_file(path: Path, algorithms, start: int = 0, length: int | None = None) -> dict[str, str]:
    """Base64 checksums of ``path`` (or of bytes [start, start+length)) in one pass."""
    hashers = {a: hasher(a) for a in algorithms}
    if not hashers:
        return {}
    for chunk in read_range(path, start, length):
        for h in hashers.values():
            h.update(chunk)
    return {a: encode(h.digest()) for a, h in hashers.items()}


def decode(algorithm: str, value: str) -> bytes:
    """The digest in a client's base64 value; InvalidRequest when it cannot be one."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != SIZES.get(algorithm, -1):
        raise s3errors.invalid_request(f"Value for {header(algorithm)} header is invalid.")
    return raw


def composite(algorithm: str, part_values: list[str]) -> str:
    """S3's checksum of a multipart object: the hash of the parts' digests, then ``-N``."""
    h = hasher(algorithm)
    for value in part_values:
        h.update(base64.b64decode(value))
    return f"{encode(h.digest())}-{len(part_values)}"


def mismatch(algorithm: str):
    return s3errors.bad_digest(
        f"The {algorithm} you specified did not match the calculated checksum.")
