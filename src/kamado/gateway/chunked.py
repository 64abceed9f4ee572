"""Push decoder for ``aws-chunked`` request bodies (what boto3's S3 client uploads).

Wire form: ``<hex size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n`` repeated, a final chunk of
size 0, then optional trailer lines ``name:value\\r\\n`` and an empty line. Signed modes chain
each chunk's signature from the previous one, starting at the request's own signature.

The decoder never holds more than one header line in memory: chunk data is passed through as
slices of the fed buffer, so a 50 MB upload costs one copy.
"""

from __future__ import annotations

import hashlib
import hmac
import string

from kamado.errors import AuthFailure, AwsError
from kamado.gateway.auth import EMPTY_SHA256, Identity

SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

_MAX_LINE = 16 * 1024      # a chunk header or trailer line; real ones are < 200 bytes
_MAX_TRAILERS = 64
_HEX = frozenset(string.hexdigits)

# States of the framing parser.
_HEADER, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


def _incomplete(message: str) -> AwsError:
    return AwsError(message, code="IncompleteBody", status=400)


def _bad_signature(what: str) -> AuthFailure:
    return AuthFailure("signature", f"The {what} signature we calculated does not match the "
                       "signature you provided. Check your key and signing method.")


class ChunkedDecoder:
    def __init__(self, identity: Identity | None, mode: str, *,
                 decoded_length: int | None = None) -> None:
        self._signed = mode in (SIGNED, SIGNED_TRAILER)
        if mode.startswith("STREAMING-") and not self._signed and mode != UNSIGNED_TRAILER:
            raise AwsError(f"kamado does not support the payload signing mode '{mode}'; use "
                           "SigV4 (AWS4-HMAC-SHA256).", code="NotImplemented", status=501)
        if self._signed and identity is None:
            raise AuthFailure("malformed", f"'{mode}' needs a SigV4-signed request.")
        # Trailers are authenticated only in SIGNED_TRAILER mode; in plain SIGNED mode any
        # trailer would be unsigned data riding on a signed request, so it is refused.
        self._trailers_allowed = mode != SIGNED
        self._identity = identity
        self._previous = identity.signature if identity is not None else ""
        self._prefix = (f"AWS4-HMAC-SHA256-PAYLOAD\n{identity.amz_date}\n{identity.scope}\n"
                        if identity is not None else "")
        self._decoded_length = decoded_length
        self._state = _HEADER
        self._line = bytearray()
        self._remaining = 0
        self._chunk_sig = ""
        self._chunk_hash = None
        self._total = 0
        self._trailers: dict[str, str] = {}
        self._canonical_trailers: list[str] = []
        self._trailer_sig: str | None = None

    # --- public ------------------------------------------------------------------------------
    def feed(self, data: bytes) -> bytes:
        """Decode what ``data`` completes; return the payload bytes found in it."""
        out: list[memoryview] = []
        view = memoryview(data)
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state == _DATA:
                take = min(self._remaining, end - pos)
                piece = view[pos:pos + take]
                if self._chunk_hash is not None:
                    self._chunk_hash.update(piece)
                out.append(piece)
                pos += take
                self._remaining -= take
                if not self._remaining:
                    self._state = _DATA_END
            elif state == _DATA_END:
                take = min(2 - len(self._line), end - pos)
                self._line += view[pos:pos + take]
                pos += take
                if len(self._line) == 2:
                    if self._line != b"\r\n":
                        raise _incomplete("An aws-chunked chunk is longer than its declared size.")
                    self._line.clear()
                    self._end_chunk()
                    self._state = _HEADER
            elif state == _DONE:
                if bytes(view[pos:]).strip(b"\r\n"):
                    raise _incomplete("The request body carries data after its final chunk.")
                break
            else:
                newline = data.find(b"\n", pos)
                stop = end if newline < 0 else newline + 1
                self._line += view[pos:stop]
                pos = stop
                if len(self._line) > _MAX_LINE:
                    raise _incomplete("An aws-chunked header or trailer line is too long.")
                if newline >= 0:
                    line = bytes(self._line)
                    self._line.clear()
                    if not line.endswith(b"\r\n"):
                        raise _incomplete("aws-chunked lines must end with CRLF.")
                    if state == _HEADER:
                        self._start_chunk(line[:-2])
                    else:
                        self._trailer_line(line[:-2])
        decoded = b"".join(out)
        self._total += len(decoded)
        if self._decoded_length is not None and self._total > self._decoded_length:
            raise _incomplete("The request body decodes to more bytes than "
                              f"x-amz-decoded-content-length ({self._decoded_length}) declares.")
        return decoded

    def finish(self) -> dict[str, str]:
        """Check the body ended properly; return its trailing headers."""
        # Some SDKs end the body right after the last trailer's CRLF, without the empty line.
        if self._state == _TRAILER and not self._line and (self._trailers or self._trailer_sig):
            self._end_trailers()
        if self._state != _DONE:
            raise _incomplete("The request body ended before the final aws-chunked chunk.")
        if self._decoded_length is not None and self._total != self._decoded_length:
            raise _incomplete(f"The request body decodes to {self._total} bytes; "
                              f"x-amz-decoded-content-length declares {self._decoded_length}.")
        return dict(self._trailers)

    # --- framing -----------------------------------------------------------------------------
    def _start_chunk(self, line: bytes) -> None:
        size_text, _, extensions = line.partition(b";")
        size_text = size_text.strip()
        if not size_text or len(size_text) > 16 or not _HEX.issuperset(size_text.decode("latin-1")):
            raise _incomplete(f"Invalid aws-chunked chunk size {size_text[:40]!r}.")
        size = int(size_text, 16)
        if self._signed:
            name, _, value = extensions.partition(b"=")
            if name.strip() != b"chunk-signature" or not value.strip():
                raise _incomplete("A signed aws-chunked chunk is missing its chunk-signature.")
            self._chunk_sig = value.strip().decode("latin-1")
            self._chunk_hash = hashlib.sha256()
        self._remaining = size
        if size:
            self._state = _DATA
        else:
            self._end_chunk()
            self._state = _TRAILER

    def _end_chunk(self) -> None:
        if not self._signed:
            return
        string_to_sign = self._prefix + f"{self._previous}\n{EMPTY_SHA256}\n" \
            + self._chunk_hash.hexdigest()
        expected = hmac.new(self._identity.signing_key, string_to_sign.encode(),
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), self._chunk_sig.encode()):
            raise _bad_signature("chunk")
        self._previous = expected

    def _trailer_line(self, line: bytes) -> None:
        if not line:
            self._end_trailers()
            return
        if not self._trailers_allowed:
            raise _incomplete("Trailing headers are only allowed with a *-TRAILER "
                              "x-amz-content-sha256 mode.")
        raw_name, sep, value = line.decode("utf-8", "replace").partition(":")
        raw_name, value = raw_name.strip(), value.strip()
        name = raw_name.lower()
        if not sep or not name:
            raise _incomplete(f"Malformed aws-chunked trailer line {line[:60]!r}.")
        if name == "x-amz-trailer-signature":
            self._trailer_sig = value
            return
        if len(self._trailers) >= _MAX_TRAILERS:
            raise _incomplete("Too many aws-chunked trailing headers.")
        self._trailers[name] = value
        # The client signed the trailer as it sent it.
        self._canonical_trailers.append(f"{raw_name}:{value}\n")

    def _end_trailers(self) -> None:
        if self._signed and self._trailers_allowed:
            self._verify_trailer_signature()
        self._state = _DONE

    def _verify_trailer_signature(self) -> None:
        if self._trailer_sig is None:
            raise _bad_signature("trailer")
        digest = hashlib.sha256("".join(self._canonical_trailers).encode()).hexdigest()
        ident = self._identity
        string_to_sign = (f"AWS4-HMAC-SHA256-TRAILER\n{ident.amz_date}\n{ident.scope}\n"
                          f"{self._previous}\n{digest}")
        expected = hmac.new(ident.signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), self._trailer_sig.encode()):
            raise _bad_signature("trailer")
