"""Reading request bodies: whole into memory, or spooled to disk for streaming payloads.

A streaming payload (S3 PutObject, UploadPart) goes to a file next to the object store's blobs so
the provider can move it into place atomically; its digests are computed while it flows, and
aws-chunked framing (what boto3's S3 client sends) is decoded on the way.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio

from kamado.errors import AwsError
from kamado.gateway.chunked import ChunkedDecoder
from kamado.gateway.http import HttpRequest, Payload

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


# How long a request body may stall before the request is refused, as S3 does (about 20 s);
# without it a client that declares more bytes than it sends would hold its request forever.
IDLE_TIMEOUT = 20.0


class BodyTooLarge(Exception):
    pass


async def _next_chunk(receive) -> tuple[bytes, bool]:
    """The next piece of the body and whether more follows."""
    try:
        with anyio.fail_after(IDLE_TIMEOUT):
            message = await receive()
    except TimeoutError:
        raise AwsError("Your socket connection to the server was not read from or written to "
                       "within the timeout period. Idle connections will be closed.",
                       code="RequestTimeout", status=400) from None
    if message["type"] == "http.disconnect":
        raise AwsError("The client closed the connection before sending the whole body.",
                       code="IncompleteBody", status=400)
    return message.get("body", b""), bool(message.get("more_body"))


async def read_body(receive, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        chunk, more = await _next_chunk(receive)
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        parts.append(chunk)
        if not more:
            return b"".join(parts)


def _declared_sha256(req: HttpRequest) -> str | None:
    value = req.headers.get("x-amz-content-sha256", "")
    return value if _HEX64.match(value) else None


def check_declared_hash(req: HttpRequest) -> None:
    """S3 clients declare the body's SHA-256; a body that doesn't match it is refused."""
    declared = _declared_sha256(req)
    if declared and hashlib.sha256(req.body).hexdigest() != declared:
        raise AwsError("The provided 'x-amz-content-sha256' header does not match what was computed.",
                       code="XAmzContentSHA256Mismatch", status=400)


def _requested_checksums(req: HttpRequest) -> set[str]:
    names = set()
    algo = req.headers.get("x-amz-sdk-checksum-algorithm")
    if algo:
        names.add(algo.upper())
    for header in list(req.headers) + req.headers.get("x-amz-trailer", "").split(","):
        header = header.strip().lower()
        if header.startswith("x-amz-checksum-") and header != "x-amz-checksum-type":
            names.add(header[len("x-amz-checksum-"):].upper())
    return names


_DIGEST_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kamado-digest")
_PARALLEL_MIN = 64 * 1024


class _Digests:
    def __init__(self, wanted: set[str], sha256: bool) -> None:
        self.md5 = hashlib.md5()
        self.crc32 = 0
        self.sha256 = hashlib.sha256() if sha256 or "SHA256" in wanted else None
        self.sha1 = hashlib.sha1() if "SHA1" in wanted else None
        self.size = 0

    def update(self, data: bytes) -> None:
        self.size += len(data)
        # hashlib lets go of the GIL on large buffers: MD5, the slowest, runs beside the rest.
        md5 = _DIGEST_POOL.submit(self.md5.update, data) if len(data) >= _PARALLEL_MIN else None
        if md5 is None:
            self.md5.update(data)
        self.crc32 = zlib.crc32(data, self.crc32)
        if self.sha256 is not None:
            self.sha256.update(data)
        if self.sha1 is not None:
            self.sha1.update(data)
        if md5 is not None:
            md5.result()

    def checksums(self) -> dict[str, str]:
        out = {"CRC32": base64.b64encode(self.crc32.to_bytes(4, "big")).decode()}
        if self.sha256 is not None:
            out["SHA256"] = base64.b64encode(self.sha256.digest()).decode()
        if self.sha1 is not None:
            out["SHA1"] = base64.b64encode(self.sha1.digest()).decode()
        return out


async def spool_payload(receive, req: HttpRequest, identity, directory: Path, *,
                        fsync: bool = True) -> Payload | None:
    content_sha = req.headers.get("x-amz-content-sha256", "")
    chunked = content_sha.startswith("STREAMING-") or "aws-chunked" in req.headers.get(
        "content-encoding", "")
    decoder = None
    if chunked:
        decoded_length = req.headers.get("x-amz-decoded-content-length")
        decoder = ChunkedDecoder(identity, content_sha or "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                                 decoded_length=int(decoded_length) if decoded_length else None)
    declared = _declared_sha256(req)
    digests = _Digests(_requested_checksums(req), sha256=declared is not None)
    path = directory / f"spool-{uuid.uuid4().hex}"
    trailers: dict[str, str] = {}
    try:
        with open(path, "wb") as fh:
            while True:
                chunk, more = await _next_chunk(receive)
                if chunk:
                    data = decoder.feed(chunk) if decoder else chunk
                    if data:
                        fh.write(data)
                        digests.update(data)
                if not more:
                    break
            if decoder:
                trailers = decoder.finish()
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        expected = req.headers.get("content-length")
        if not chunked and expected is not None and int(expected) != digests.size:
            raise AwsError("You did not provide the number of bytes specified by the "
                           "Content-Length HTTP header.", code="IncompleteBody", status=400)
        if declared and digests.sha256.hexdigest() != declared:
            raise AwsError("The provided 'x-amz-content-sha256' header does not match what was "
                           "computed.", code="XAmzContentSHA256Mismatch", status=400)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if digests.size == 0 and not chunked and req.headers.get("content-length") in (None, "0"):
        path.unlink(missing_ok=True)
        return None
    return Payload(path=path, size=digests.size, md5_hex=digests.md5.hexdigest(),
                   checksums=digests.checksums(), trailers=trailers)
