"""aws-chunked body decoding: AWS's documented signed example, botocore's unsigned trailer
bodies, and the ways a body can be broken."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import random
import time
import zlib
from datetime import datetime, timezone

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum, Sha256Checksum

from kamado.errors import AuthFailure, AwsError
from kamado.gateway import auth
from kamado.gateway.chunked import SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER, ChunkedDecoder
from kamado.gateway.http import Headers, HttpRequest

# --- AWS's worked example (S3 API reference, "Signature calculations for the Authorization
# header: Transferring payload in multiple chunks") ---------------------------------------------
DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
DOC_CHUNK_SIGS = ["ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                  "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                  "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"]
DOC_PAYLOAD = b"a" * (64 * 1024 + 1024)


def doc_identity() -> auth.Identity:
    """The seed identity, by verifying the documented request itself."""
    headers = Headers({
        "host": "s3.amazonaws.com",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                         "aws4_request,SignedHeaders=content-encoding;content-length;host;"
                         "x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
                         f"x-amz-storage-class,Signature={DOC_SEED}",
        "x-amz-content-sha256": SIGNED,
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "content-length": "66824",
    })
    req = HttpRequest("PUT", "/examplebucket/chunkObject.txt", "", headers)
    return auth.verify(req, lambda akid: DOC_SECRET,
                       now=datetime(2013, 5, 24, 0, 5, tzinfo=timezone.utc))


def doc_body() -> bytes:
    sizes = [64 * 1024, 1024, 0]
    return b"".join(f"{size:x};chunk-signature={sig}\r\n".encode() + b"a" * size + b"\r\n"
                    for size, sig in zip(sizes, DOC_CHUNK_SIGS))


def decode(body: bytes, identity, mode: str, pieces=None, **kw) -> tuple[bytes, dict]:
    dec = ChunkedDecoder(identity, mode, **kw)
    out = bytearray()
    if pieces is None:
        out += dec.feed(body)
    else:
        pos = 0
        for size in pieces:
            out += dec.feed(body[pos:pos + size])
            pos += size
        out += dec.feed(body[pos:])
    return bytes(out), dec.finish()


def test_documented_example_decodes_and_its_signature_chain_verifies():
    identity = doc_identity()
    assert identity.signature == DOC_SEED
    body = doc_body()
    assert len(body) == 66824  # the example's Content-Length: our framing is the documented one
    payload, trailers = decode(body, identity, SIGNED, decoded_length=66560)
    assert payload == DOC_PAYLOAD and trailers == {}


def test_documented_example_byte_by_byte_and_random_splits():
    identity, body = doc_identity(), doc_body()
    assert decode(body, identity, SIGNED, pieces=[1] * len(body)) == (DOC_PAYLOAD, {})
    rng = random.Random(7)
    for _ in range(20):
        pieces = [rng.randint(1, 9000) for _ in range(30)]
        assert decode(body, identity, SIGNED, pieces=pieces) == (DOC_PAYLOAD, {})


@pytest.mark.parametrize("position", [100, 65600, 66400])
def test_changed_data_breaks_the_chain(position):
    body = bytearray(doc_body())
    assert body[position:position + 1] == b"a"
    body[position:position + 1] = b"b"
    with pytest.raises(AuthFailure) as info:
        decode(bytes(body), doc_identity(), SIGNED)
    assert info.value.reason == "signature"


@pytest.mark.parametrize("which", [0, 1, 2])
def test_changed_chunk_signature_is_refused(which):
    body = doc_body().replace(DOC_CHUNK_SIGS[which].encode(), b"0" * 64)
    with pytest.raises(AuthFailure) as info:
        decode(body, doc_identity(), SIGNED)
    assert info.value.reason == "signature"


def test_wrong_seed_is_refused():
    identity = doc_identity()
    identity.signature = "f" * 64
    with pytest.raises(AuthFailure):
        decode(doc_body(), identity, SIGNED)


def test_reordered_chunks_are_refused():
    body = doc_body()
    cut1 = body.index(b"400;")
    cut2 = body.index(b"0;chunk-signature=" + DOC_CHUNK_SIGS[2].encode())
    swapped = body[cut1:cut2] + body[:cut1] + body[cut2:]
    with pytest.raises(AuthFailure):
        decode(swapped, doc_identity(), SIGNED)


def incomplete(body: bytes, identity, mode: str, **kw) -> AwsError:
    with pytest.raises(AwsError) as info:
        decode(body, identity, mode, **kw)
    assert not isinstance(info.value, AuthFailure)
    assert (info.value.code, info.value.status) == ("IncompleteBody", 400)
    return info.value


@pytest.mark.parametrize("cut", [10, 1000, 65700, 66700, 66800, 66822])
def test_truncated_signed_body_is_refused(cut):
    incomplete(doc_body()[:cut], doc_identity(), SIGNED)


def test_signed_chunk_without_signature_is_refused():
    body = doc_body().replace(b";chunk-signature=" + DOC_CHUNK_SIGS[1].encode(), b"")
    incomplete(body, doc_identity(), SIGNED)


def test_decoded_length_must_match():
    incomplete(doc_body(), doc_identity(), SIGNED, decoded_length=66559)
    incomplete(doc_body(), doc_identity(), SIGNED, decoded_length=66561)


def test_signed_mode_needs_an_identity_and_refuses_unsigned_trailers():
    with pytest.raises(AuthFailure):
        ChunkedDecoder(None, SIGNED)
    body = doc_body()[:-2] + b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    incomplete(body, doc_identity(), SIGNED)


def test_unsupported_streaming_mode():
    with pytest.raises(AwsError) as info:
        ChunkedDecoder(None, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")
    assert (info.value.code, info.value.status) == ("NotImplemented", 501)


# --- unsigned bodies with trailers, as botocore sends them -----------------------------------

def botocore_body(payload: bytes, checksum_cls=Crc32Checksum, name="x-amz-checksum-crc32",
                  chunk_size=None, whole: bool = True) -> bytes:
    wrapper = AwsChunkedWrapper(io.BytesIO(payload), checksum_cls=checksum_cls,
                                checksum_name=name, chunk_size=chunk_size)
    # read() is what the HTTP layer calls, but it grows a bytes object quadratically; iterating
    # yields the same chunks in linear time for the big bodies.
    return wrapper.read() if whole else b"".join(wrapper)


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.mark.parametrize("size", [0, 1, 1000, 3 * 1024 * 1024 + 5])
def test_botocore_unsigned_trailer_body(size):
    payload = random.Random(size).randbytes(size)
    body = botocore_body(payload)
    assert decode(body, None, UNSIGNED_TRAILER, decoded_length=size) == \
        (payload, {"x-amz-checksum-crc32": crc32_b64(payload)})


def test_botocore_body_fed_byte_by_byte_and_in_random_pieces():
    payload = random.Random(1).randbytes(5000)
    body = botocore_body(payload, Sha256Checksum, "x-amz-checksum-sha256", chunk_size=1024)
    expected = (payload, {"x-amz-checksum-sha256":
                          base64.b64encode(hashlib.sha256(payload).digest()).decode()})
    assert decode(body, None, UNSIGNED_TRAILER, pieces=[1] * len(body)) == expected
    rng = random.Random(3)
    for _ in range(20):
        assert decode(body, None, UNSIGNED_TRAILER,
                      pieces=[rng.randint(1, 700) for _ in range(10)]) == expected


def test_botocore_body_without_checksum():
    body = botocore_body(b"hello", checksum_cls=None)
    assert body.endswith(b"0\r\n\r\n")
    assert decode(body, None, UNSIGNED_TRAILER) == (b"hello", {})


def test_real_boto3_put_object_over_https_end_to_end():
    """What boto3 really sends for PutObject over https: verify, then decode with the identity."""
    import boto3
    from unittest import mock

    from tests.unit.test_auth import AKID, SECRET, SIGNED_AT, _Captured, secrets, to_http

    session = boto3.session.Session(aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                                    region_name="us-east-1")
    client = session.client("s3", endpoint_url="https://localhost:8943")
    seen = []

    def grab(request, **_):
        seen.append(to_http(request))
        raise _Captured()

    client.meta.events.register("before-send", grab)
    payload = b"x" * 70000
    with mock.patch("botocore.auth.get_current_datetime",
                    return_value=SIGNED_AT.replace(tzinfo=None)), pytest.raises(_Captured):
        client.put_object(Bucket="bkt", Key="k", Body=payload)
    req = seen[0]
    identity = auth.verify(req, secrets, now=SIGNED_AT)
    assert req.headers["content-encoding"] == "aws-chunked"
    decoded = decode(req.body, identity, identity.payload_hash,
                     decoded_length=int(req.headers["x-amz-decoded-content-length"]))
    assert decoded == (payload, {"x-amz-checksum-crc32": crc32_b64(payload)})


@pytest.mark.parametrize("broken", [
    b"5\r\nhello\r\n",                          # no final chunk
    b"5\r\nhello\r\n0\r\n",                     # final chunk but no closing line
    b"5\r\nhel",                                # cut inside data
    b"5\r\nhello!!\r\n0\r\n\r\n",               # chunk longer than declared
    b"zz\r\nhello\r\n0\r\n\r\n",                # size is not hex
    b"0x5\r\nhello\r\n0\r\n\r\n",               # Python-only hex spelling
    b"5\nhello\r\n0\r\n\r\n",                   # bare LF
    b"5\r\nhello\r\n0\r\nno-colon\r\n\r\n",     # malformed trailer
    b"5\r\nhello\r\n0\r\n\r\nextra",            # data after the end
    b"",                                        # nothing at all
])
def test_broken_unsigned_framing_is_refused(broken):
    incomplete(broken, None, UNSIGNED_TRAILER)


def test_overlong_header_line_is_refused_without_buffering_it_all():
    dec = ChunkedDecoder(None, UNSIGNED_TRAILER)
    with pytest.raises(AwsError) as info:
        for _ in range(100):
            dec.feed(b"f" * 1024)
    assert info.value.code == "IncompleteBody"


def test_body_ending_after_last_trailer_without_blank_line_is_accepted():
    assert decode(b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n", None,
                  UNSIGNED_TRAILER) == (b"hello", {"x-amz-checksum-crc32": "NhCmhg=="})


# --- signed chunks with a signed trailer -----------------------------------------------------

def _hmac_hex(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def signed_trailer_body(identity: auth.Identity, payload: bytes, chunk: int,
                        trailers: dict[str, str]) -> bytes:
    previous, out = identity.signature, bytearray()
    empty = hashlib.sha256(b"").hexdigest()
    pieces = [payload[i:i + chunk] for i in range(0, len(payload), chunk)] + [b""]
    for piece in pieces:
        previous = _hmac_hex(identity.signing_key, "\n".join([
            "AWS4-HMAC-SHA256-PAYLOAD", identity.amz_date, identity.scope, previous, empty,
            hashlib.sha256(piece).hexdigest()]))
        out += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece
        out += b"\r\n" if piece else b""
    canonical = "".join(f"{k}:{v}\n" for k, v in trailers.items())
    trailer_sig = _hmac_hex(identity.signing_key, "\n".join([
        "AWS4-HMAC-SHA256-TRAILER", identity.amz_date, identity.scope, previous,
        hashlib.sha256(canonical.encode()).hexdigest()]))
    out += canonical.replace("\n", "\r\n").encode()
    out += f"x-amz-trailer-signature:{trailer_sig}\r\n\r\n".encode()
    return bytes(out)


def test_signed_trailer_body_decodes():
    identity = doc_identity()
    payload = random.Random(5).randbytes(20000)
    trailers = {"x-amz-checksum-crc32": crc32_b64(payload)}
    body = signed_trailer_body(identity, payload, 8192, trailers)
    assert decode(body, identity, SIGNED_TRAILER) == (payload, trailers)
    assert decode(body, identity, SIGNED_TRAILER, pieces=[1] * len(body)) == (payload, trailers)


def test_signed_trailer_tampering_is_refused():
    identity = doc_identity()
    payload = b"p" * 10000
    trailers = {"x-amz-checksum-crc32": crc32_b64(payload)}
    body = signed_trailer_body(identity, payload, 4096, trailers)
    forged = body.replace(trailers["x-amz-checksum-crc32"].encode(), b"AAAAAA==")
    with pytest.raises(AuthFailure) as info:
        decode(forged, identity, SIGNED_TRAILER)
    assert info.value.reason == "signature"
    start = body.index(b"x-amz-trailer-signature:")
    unsigned = body[:start] + b"\r\n"
    with pytest.raises(AuthFailure):
        decode(unsigned, identity, SIGNED_TRAILER)


# --- speed -----------------------------------------------------------------------------------

def test_large_body_decodes_in_linear_time():
    payload = b"z" * (50 * 1024 * 1024)
    body = botocore_body(payload, chunk_size=64 * 1024, whole=False)
    assert body[:1000] == botocore_body(payload[:100000], chunk_size=64 * 1024)[:1000]
    dec = ChunkedDecoder(None, UNSIGNED_TRAILER, decoded_length=len(payload))
    started = time.perf_counter()
    total = 0
    view = memoryview(body)
    for pos in range(0, len(body), 65536 + 7):  # misaligned with the chunks on purpose
        total += len(dec.feed(view[pos:pos + 65536 + 7].tobytes()))
    dec.finish()
    assert total == len(payload)
    # Linear decoding takes a fraction of a second; quadratic buffering would take minutes.
    assert time.perf_counter() - started < 5
