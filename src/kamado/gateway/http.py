"""The HTTP request and response as the protocol layer sees them, free of any web framework."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl


class Headers(dict):
    """Case-insensitive header map (keys stored lower-case); repeated headers joined by ','."""

    def __init__(self, items=()):
        super().__init__()
        pairs = items.items() if isinstance(items, dict) else items
        for k, v in pairs:
            k = k.lower()
            super().__setitem__(k, f"{self[k]},{v}" if k in self else v)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default=None):
        return super().get(key.lower(), default)


@dataclass
class Payload:
    """A streaming request body (S3 PutObject, UploadPart) already spooled to a file on disk.

    The gateway decoded any aws-chunked framing and computed the digests while spooling, so a
    provider can check Content-MD5 / checksums and move the file into place without reading it.
    """

    path: Path
    size: int
    md5_hex: str
    # Base64 checksums of the decoded body by AWS algorithm name (CRC32 always; SHA256, SHA1,
    # CRC32C when the request names them), to compare with x-amz-checksum-* values.
    checksums: dict[str, str] = field(default_factory=dict)
    # Trailing headers sent after an aws-chunked body (e.g. x-amz-checksum-crc32).
    trailers: dict[str, str] = field(default_factory=dict)

    def read(self) -> bytes:
        return self.path.read_bytes()


@dataclass
class HttpRequest:
    method: str
    path: str                 # as sent: percent-encoded, without the query string
    query_string: str = ""    # as sent
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""         # the whole body, for operations without a streaming payload
    payload: Payload | None = None

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)


@dataclass
class FileRange:
    """A streaming response body served from a file: bytes [start, start+length)."""

    path: Path
    start: int = 0
    length: int | None = None


@dataclass
class HttpResponse:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | FileRange = b""
