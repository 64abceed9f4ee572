"""The S3 provider called as the gateway calls it: request dicts parsed from botocore's model
in, output-shaped dicts out."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from kamado.errors import AwsError
from kamado.gateway.http import FileRange, Payload
from kamado.services.base import RequestContext
from kamado.services.s3.provider import S3, parse_copy_source
from kamado.storage import checksums
from kamado.storage.objectstore import ObjectStore
from tests.conftest_store import fuzz

MIB = 1024 * 1024


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def crc32_b64(data: bytes) -> str:
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def sha256_b64(data: bytes) -> str:
    return b64(hashlib.sha256(data).digest())


@pytest.fixture
def store(tmp_path):
    s = ObjectStore(tmp_path / "objects")
    yield s
    s.close()


@pytest.fixture
def ctx():
    return RequestContext(account_id="000000000000", region="us-east-1",
                          headers={"host": "localhost:8943"})


@pytest.fixture
def s3(store, ctx):
    provider = S3(SimpleNamespace(objects=store))
    provider.create_bucket({"Bucket": "bkt"}, ctx)
    return provider


@pytest.fixture
def body(tmp_path):
    def make(data: bytes, trailers=None, **sums) -> Payload:
        path = tmp_path / f"spool-{os.urandom(6).hex()}"
        path.write_bytes(data)
        return Payload(path, len(data), hashlib.md5(data).hexdigest(),
                       {"CRC32": crc32_b64(data), **sums}, trailers or {})
    return make


def err(fn) -> AwsError:
    with pytest.raises(AwsError) as e:
        fn()
    return e.value


def read(out: dict) -> bytes:
    fr: FileRange = out["Body"]
    with open(fr.path, "rb") as fh:
        fh.seek(fr.start)
        return fh.read(fr.length)


# --- buckets ---------------------------------------------------------------------------------

def test_buckets(s3, ctx):
    west = RequestContext(account_id="000000000000", region="eu-west-1")
    assert s3.create_bucket({"Bucket": "regional"}, west) == {"Location": "/regional"}
    s3.create_bucket({"Bucket": "pinned", "CreateBucketConfiguration": {
        "LocationConstraint": "ap-south-1"}}, ctx)
    assert s3.head_bucket({"Bucket": "regional"}, ctx)["BucketRegion"] == "eu-west-1"
    assert s3.get_bucket_location({"Bucket": "pinned"}, ctx) == {"LocationConstraint": "ap-south-1"}
    assert s3.get_bucket_location({"Bucket": "bkt"}, ctx) == {"LocationConstraint": None}
    listed = s3.list_buckets({}, ctx)
    assert [b["Name"] for b in listed["Buckets"]] == ["bkt", "pinned", "regional"]
    assert len(listed["Owner"]["ID"]) == 64 and "ContinuationToken" not in listed
    first = s3.list_buckets({"MaxBuckets": 2}, ctx)
    assert [b["Name"] for b in first["Buckets"]] == ["bkt", "pinned"]
    rest = s3.list_buckets({"MaxBuckets": 2, "ContinuationToken": first["ContinuationToken"]}, ctx)
    assert [b["Name"] for b in rest["Buckets"]] == ["regional"] and "ContinuationToken" not in rest
    assert [b["Name"] for b in s3.list_buckets({"Prefix": "p"}, ctx)["Buckets"]] == ["pinned"]
    # one's own bucket again: us-east-1 says 200 and does nothing, other regions 409
    assert s3.create_bucket({"Bucket": "bkt"}, ctx) == {"Location": "/bkt"}
    assert err(lambda: s3.create_bucket({"Bucket": "bkt"}, west)).code == "BucketAlreadyOwnedByYou"
    assert err(lambda: s3.create_bucket({"Bucket": "regional"}, west)).code == \
        "BucketAlreadyOwnedByYou"
    assert err(lambda: s3.create_bucket({"Bucket": "regional"}, ctx)).code == \
        "BucketAlreadyOwnedByYou"
    s3.put_object({"Bucket": "regional", "Key": "k"}, ctx)
    e = err(lambda: s3.delete_bucket({"Bucket": "regional"}, ctx))
    assert (e.code, e.status) == ("BucketNotEmpty", 409)
    s3.delete_object({"Bucket": "regional", "Key": "k"}, ctx)
    assert s3.delete_bucket({"Bucket": "regional"}, ctx) == {}
    assert err(lambda: s3.head_bucket({"Bucket": "regional"}, ctx)).status == 404


# --- put / get / head ------------------------------------------------------------------------

EXPIRES = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_put_get_roundtrip(s3, ctx, body):
    out = s3.put_object({"Bucket": "bkt", "Key": "a.txt", "Body": body(b"hello world"),
                         "ContentType": "text/plain", "Metadata": {"owner": "kamado"},
                         "CacheControl": "max-age=60", "Expires": EXPIRES,
                         "ContentEncoding": "gzip,aws-chunked"}, ctx)
    etag = '"%s"' % hashlib.md5(b"hello world").hexdigest()
    assert out == {"ETag": etag}
    got = s3.get_object({"Bucket": "bkt", "Key": "a.txt"}, ctx)
    assert read(got) == b"hello world"
    assert "__http_status__" not in got
    assert {k: got[k] for k in ("ETag", "ContentLength", "ContentType", "Metadata",
                                "AcceptRanges", "CacheControl", "ContentEncoding")} == {
        "ETag": etag, "ContentLength": 11, "ContentType": "text/plain",
        "Metadata": {"owner": "kamado"}, "AcceptRanges": "bytes", "CacheControl": "max-age=60",
        "ContentEncoding": "gzip"}
    assert got["Expires"] == EXPIRES
    head = s3.head_object({"Bucket": "bkt", "Key": "a.txt"}, ctx)
    assert "Body" not in head and head["ContentLength"] == 11
    assert head["LastModified"] == got["LastModified"]


def test_defaults_empty_body_and_overrides(s3, ctx):
    s3.put_object({"Bucket": "bkt", "Key": "empty", "Body": None}, ctx)
    got = s3.get_object({"Bucket": "bkt", "Key": "empty",
                         "ResponseContentType": "text/html",
                         "ResponseContentDisposition": "attachment"}, ctx)
    assert read(got) == b"" and got["ContentLength"] == 0
    assert got["ContentType"] == "text/html" and got["ContentDisposition"] == "attachment"
    assert s3.head_object({"Bucket": "bkt", "Key": "empty"}, ctx)["ContentType"] == (
        "binary/octet-stream")


def test_missing_things(s3, ctx):
    e = err(lambda: s3.get_object({"Bucket": "bkt", "Key": "nope"}, ctx))
    assert (e.code, e.status, e.fields["Key"]) == ("NoSuchKey", 404, "nope")
    e = err(lambda: s3.put_object({"Bucket": "nobucket", "Key": "k"}, ctx))
    assert (e.code, e.status, e.fields["BucketName"]) == ("NoSuchBucket", 404, "nobucket")
    assert s3.delete_object({"Bucket": "bkt", "Key": "nope"}, ctx) == {}


@pytest.mark.parametrize("header,status,content_range,data", [
    ("bytes=0-4", 206, "bytes 0-4/11", b"hello"),
    ("bytes=6-", 206, "bytes 6-10/11", b"world"),
    ("bytes=-5", 206, "bytes 6-10/11", b"world"),
    ("bytes=-50", 206, "bytes 0-10/11", b"hello world"),
    ("bytes=6-500", 206, "bytes 6-10/11", b"world"),
    ("bytes=5-2", 200, None, b"hello world"),          # malformed: the whole object
    ("chars=0-3", 200, None, b"hello world"),
    ("bytes=0-1,4-5", 200, None, b"hello world"),      # S3 serves no multi-ranges
])
def test_ranges(s3, ctx, header, status, content_range, data):
    s3.put_object({"Bucket": "bkt", "Key": "k", "Body": b"hello world"}, ctx)
    got = s3.get_object({"Bucket": "bkt", "Key": "k", "Range": header}, ctx)
    assert got.get("__http_status__", 200) == status
    assert got.get("ContentRange") == content_range
    assert read(got) == data and got["ContentLength"] == len(data)


@pytest.mark.parametrize("header", ["bytes=11-", "bytes=50-60", "bytes=-0"])
def test_unsatisfiable_ranges(s3, ctx, header):
    s3.put_object({"Bucket": "bkt", "Key": "k", "Body": b"hello world"}, ctx)
    e = err(lambda: s3.get_object({"Bucket": "bkt", "Key": "k", "Range": header}, ctx))
    assert (e.code, e.status, e.fields["ActualObjectSize"]) == ("InvalidRange", 416, "11")
    assert e.headers["Content-Range"] == "bytes */11"


def test_range_on_head(s3, ctx):
    s3.put_object({"Bucket": "bkt", "Key": "k", "Body": b"hello world"}, ctx)
    head = s3.head_object({"Bucket": "bkt", "Key": "k", "Range": "bytes=0-0"}, ctx)
    assert (head["__http_status__"], head["ContentLength"], head["ContentRange"]) == (
        206, 1, "bytes 0-0/11")


# --- conditional requests --------------------------------------------------------------------

def test_conditional_get_and_head(s3, ctx):
    s3.put_object({"Bucket": "bkt", "Key": "k", "Body": b"v1"}, ctx)
    head = s3.head_object({"Bucket": "bkt", "Key": "k"}, ctx)
    etag, modified = head["ETag"], head["LastModified"]
    before, after = modified - timedelta(hours=1), modified + timedelta(hours=1)

    def get(**conds):
        return s3.get_object({"Bucket": "bkt", "Key": "k", **conds}, ctx)

    def status(**conds):
        try:
            got = get(**conds)
            return got.get("__http_status__", 200)
        except AwsError as exc:
            return exc.status

    assert status(IfMatch=etag) == 200
    assert status(IfMatch='"other", ' + etag) == 200
    assert status(IfMatch="*") == 200
    assert status(IfMatch='"other"') == 412
    assert status(IfNoneMatch=etag) == 304
    assert status(IfNoneMatch='"other"') == 200
    assert status(IfModifiedSince=modified) == 304
    assert status(IfModifiedSince=before) == 200
    assert status(IfUnmodifiedSince=before) == 412
    assert status(IfUnmodifiedSince=after) == 200
    # RFC 7232 precedence: a true If-Match makes If-Unmodified-Since irrelevant, and
    # If-None-Match decides over If-Modified-Since.
    assert status(IfMatch=etag, IfUnmodifiedSince=before) == 200
    assert status(IfNoneMatch='"other"', IfModifiedSince=after) == 200
    assert status(IfNoneMatch=etag, IfModifiedSince=before) == 304
    assert status(IfMatch='"other"', IfNoneMatch=etag) == 412  # 412 is checked first
    e = err(lambda: get(IfNoneMatch=etag))
    assert e.code == "NotModified" and e.headers["ETag"] == etag
    e = err(lambda: s3.head_object({"Bucket": "bkt", "Key": "k", "IfMatch": '"x"'}, ctx))
    assert (e.code, e.status) == ("PreconditionFailed", 412)


def test_conditional_put(s3, ctx):
    s3.put_object({"Bucket": "bkt", "Key": "k", "Body": b"v1", "IfNoneMatch": "*"}, ctx)
    e = err(lambda: s3.put_object({"Bucket": "bkt", "Key": "k", "Body": b"v2",
                                   "IfNoneMatch": "*"}, ctx))
    assert (e.code, e.status) == ("PreconditionFailed", 412)
    assert read(s3.get_object({"Bucket": "bkt", "Key": "k"}, ctx)) == b"v1"


# --- digests and checksums -------------------------------------------------------------------

def test_content_md5(s3, ctx, body):
    good = b64(hashlib.md5(b"data").digest())
    s3.put_object({"Bucket": "bkt", "Key": "k", "Body": body(b"data"), "ContentMD5": good}, ctx)
    e = err(lambda: s3.put_object({"Bucket": "bkt", "Key": "k", "Body": body(b"DATA"),
                                   "ContentMD5": good}, ctx))
    assert (e.code, e.status) == ("BadDigest", 400)
    e = err(lambda: s3.put_object({"Bucket": "bkt", "Key": "k", "Body": body(b"data"),
                                   "ContentMD5": "not base64!"}, ctx))
    assert (e.code, e.status) == ("InvalidDigest", 400)
    assert read(s3.get_object({"Bucket": "bkt", "Key": "k"}, ctx)) == b"data"


def test_checksum_headers_trailers_and_echo(s3, ctx, body):
    data = b"checked"
    out = s3.put_object({"Bucket": "bkt", "Key": "crc", "Body": body(data),
                         "ChecksumCRC32": crc32_b64(data)}, ctx)
    assert out["ChecksumCRC32"] == crc32_b64(data) and out["ChecksumType"] == "FULL_OBJECT"
    # aws-chunked bodies carry the checksum as a trailer, as boto3 sends them.
    out = s3.put_object({"Bucket": "bkt", "Key": "trailer", "ChecksumAlgorithm": "CRC32",
                         "Body": body(data, trailers={"x-amz-checksum-crc32": crc32_b64(data)})},
                        ctx)
    assert out["ChecksumCRC32"] == crc32_b64(data)
    # A named algorithm the gateway did not compute is computed here from the file.
    out = s3.put_object({"Bucket": "bkt", "Key": "sha", "Body": body(data),
                         "ChecksumAlgorithm": "SHA256"}, ctx)
    assert out["ChecksumSHA256"] == sha256_b64(data)
    got = s3.get_object({"Bucket": "bkt", "Key": "sha", "ChecksumMode": "ENABLED"}, ctx)
    assert got["ChecksumSHA256"] == sha256_b64(data)
    assert "ChecksumSHA256" not in s3.get_object({"Bucket": "bkt", "Key": "sha"}, ctx)
    ranged = s3.get_object({"Bucket": "bkt", "Key": "sha", "ChecksumMode": "ENABLED",
                            "Range": "bytes=0-1"}, ctx)
    assert "ChecksumSHA256" not in ranged  # a part's bytes cannot match the whole's checksum
    out = s3.put_object({"Bucket": "bkt", "Key": "c", "Body": body(data),
                         "ChecksumCRC32C": checksums.of_bytes("CRC32C", data)}, ctx)
    assert out["ChecksumCRC32C"] == checksums.of_bytes("CRC32C", data)
    assert s3.head_object({"Bucket": "bkt", "Key": "c", "ChecksumMode": "ENABLED"},
                          ctx)["ChecksumCRC32C"] == out["ChecksumCRC32C"]


@pytest.mark.parametrize("request_part,message", [
    ({"ChecksumCRC32": "AAAAAA=="},
     "The CRC32 you specified did not match the calculated checksum."),
    ({"ChecksumSHA256": b64(b"\0" * 32)}, "The SHA256 you specified did not match"),
    ({"ChecksumSHA1": b64(b"\0" * 20)}, "The SHA1 you specified did not match"),
    ({"ChecksumCRC32C": "AAAAAA=="}, "The CRC32C you specified did not match"),
])
def test_bad_checksums_store_nothing(s3, ctx, body, request_part, message):
    e = err(lambda: s3.put_object({"Bucket": "bkt", "Key": "bad", "Body": body(b"data"),
                                   **request_part}, ctx))
    assert (e.code, e.status) == ("BadDigest", 400) and e.message.startswith(message)
    assert err(lambda: s3.head_object({"Bucket": "bkt", "Key": "bad"}, ctx)).code == "NoSuchKey"


def test_bad_checksum_in_trailer(s3, ctx, body):
    e = err(lambda: s3.put_object({"Bucket": "bkt", "Key": "bad", "Body": body(
        b"data", trailers={"x-amz-checksum-crc32": "AAAAAA=="})}, ctx))
    assert e.code == "BadDigest"


def test_checksum_requests_kamado_refuses(s3, ctx, body):
    assert err(lambda: s3.put_object({"Bucket": "bkt", "Key": "k", "Body": body(b"d"),
                                      "ChecksumCRC32": "short"}, ctx)).code == "InvalidRequest"
    assert err(lambda: s3.put_object({"Bucket": "bkt", "Key": "k", "Body": body(b"d"),
                                      "ChecksumAlgorithm": "CRC64NVME"}, ctx)).code == (
        "InvalidRequest")
    assert err(lambda: s3.put_object({"Bucket": "bkt", "Key": "k", "Body": body(b"d"),
                                      "ChecksumCRC32": crc32_b64(b"d"),
                                      "ChecksumSHA256": sha256_b64(b"d")}, ctx)).code == (
        "InvalidRequest")


# --- copy ------------------------------------------------------------------------------------

@pytest.mark.parametrize("source,expected", [
    ("bkt/a%20b/c.txt", ("bkt", "a b/c.txt")),
    ("/bkt/k", ("bkt", "k")),
    ("bkt/k?versionId=null", ("bkt", "k")),
    ("bkt/%C3%BC%2Bplus", ("bkt", "ü+plus")),
])
def test_parse_copy_source(source, expected):
    assert parse_copy_source(source) == expected


def test_parse_copy_source_refusals():
    assert err(lambda: parse_copy_source("just-a-bucket")).code == "InvalidArgument"
    assert err(lambda: parse_copy_source("bkt/k?versionId=abc")).code == "NoSuchVersion"


def test_copy_object(s3, ctx):
    s3.put_object({"Bucket": "bkt", "Key": "src key", "Body": b"payload", "ContentType": "text/csv",
                   "Metadata": {"a": "1"}}, ctx)
    out = s3.copy_object({"Bucket": "bkt", "Key": "copy", "CopySource": quote("bkt/src key")}, ctx)
    assert out["CopyObjectResult"]["ETag"] == '"%s"' % hashlib.md5(b"payload").hexdigest()
    got = s3.get_object({"Bucket": "bkt", "Key": "copy"}, ctx)
    assert (read(got), got["ContentType"], got["Metadata"]) == (b"payload", "text/csv", {"a": "1"})
    s3.copy_object({"Bucket": "bkt", "Key": "replaced", "CopySource": "/bkt/src%20key",
                    "MetadataDirective": "REPLACE", "Metadata": {"b": "2"},
                    "ContentType": "text/plain"}, ctx)
    got = s3.head_object({"Bucket": "bkt", "Key": "replaced"}, ctx)
    assert (got["ContentType"], got["Metadata"]) == ("text/plain", {"b": "2"})
    # Copying onto itself needs something to change.
    e = err(lambda: s3.copy_object({"Bucket": "bkt", "Key": "copy", "CopySource": "bkt/copy"}, ctx))
    assert (e.code, e.status) == ("InvalidRequest", 400)
    s3.copy_object({"Bucket": "bkt", "Key": "copy", "CopySource": "bkt/copy",
                    "MetadataDirective": "REPLACE", "Metadata": {"new": "yes"}}, ctx)
    assert s3.head_object({"Bucket": "bkt", "Key": "copy"}, ctx)["Metadata"] == {"new": "yes"}
    assert err(lambda: s3.copy_object({"Bucket": "bkt", "Key": "x", "CopySource": "bkt/none"},
                                      ctx)).code == "NoSuchKey"


def test_copy_source_conditions(s3, ctx):
    s3.put_object({"Bucket": "bkt", "Key": "src", "Body": b"v"}, ctx)
    etag = s3.head_object({"Bucket": "bkt", "Key": "src"}, ctx)["ETag"]
    s3.copy_object({"Bucket": "bkt", "Key": "ok", "CopySource": "bkt/src",
                    "CopySourceIfMatch": etag}, ctx)
    for cond in ({"CopySourceIfMatch": '"nope"'}, {"CopySourceIfNoneMatch": etag}):
        e = err(lambda: s3.copy_object({"Bucket": "bkt", "Key": "no", "CopySource": "bkt/src",
                                        **cond}, ctx))
        assert (e.code, e.status) == ("PreconditionFailed", 412)  # never 304 for a copy
    assert err(lambda: s3.head_object({"Bucket": "bkt", "Key": "no"}, ctx)).code == "NoSuchKey"


# --- listing ---------------------------------------------------------------------------------

KEYS = ["a/1", "a/2", "a/b/3", "c", "z z", "ü/x", "plus+sign"]


@pytest.fixture
def filled(s3, ctx):
    for k in KEYS:
        s3.put_object({"Bucket": "bkt", "Key": k, "Body": k.encode()}, ctx)
    return s3


def test_list_v2_with_delimiter(filled, ctx):
    out = filled.list_objects_v2({"Bucket": "bkt", "Delimiter": "/"}, ctx)
    assert [c["Prefix"] for c in out["CommonPrefixes"]] == ["a/", "ü/"]
    assert [o["Key"] for o in out["Contents"]] == ["c", "plus+sign", "z z"]
    assert out["KeyCount"] == 5 and out["IsTruncated"] is False and out["Delimiter"] == "/"
    assert out["Contents"][0]["StorageClass"] == "STANDARD" and "Owner" not in out["Contents"][0]
    owned = filled.list_objects_v2({"Bucket": "bkt", "FetchOwner": True}, ctx)
    assert owned["Contents"][0]["Owner"]["ID"]


def test_list_v2_url_encoding(filled, ctx):
    out = filled.list_objects_v2({"Bucket": "bkt", "EncodingType": "url",
                                  "StartAfter": "p"}, ctx)
    assert [o["Key"] for o in out["Contents"]] == ["plus%2Bsign", "z%20z", "%C3%BC/x"]
    assert out["EncodingType"] == "url" and out["StartAfter"] == "p"
    assert err(lambda: filled.list_objects_v2({"Bucket": "bkt", "EncodingType": "base64"},
                                              ctx)).code == "InvalidArgument"


def test_list_v2_paging_with_tokens(filled, ctx):
    seen, token = [], None
    while True:
        req = {"Bucket": "bkt", "MaxKeys": 2, "Delimiter": "/"}
        if token:
            req["ContinuationToken"] = token
        out = filled.list_objects_v2(req, ctx)
        assert out["KeyCount"] <= 2 and out["MaxKeys"] == 2
        seen += [o["Key"] for o in out.get("Contents", [])]
        seen += [c["Prefix"] for c in out.get("CommonPrefixes", [])]
        if not out["IsTruncated"]:
            assert "NextContinuationToken" not in out
            break
        token = out["NextContinuationToken"]
    assert sorted(seen) == sorted(["a/", "ü/", "c", "plus+sign", "z z"])
    assert err(lambda: filled.list_objects_v2({"Bucket": "bkt", "ContinuationToken": "junk"},
                                              ctx)).code == "InvalidArgument"


def test_list_v1_markers(filled, ctx):
    out = filled.list_objects({"Bucket": "bkt", "Marker": "c"}, ctx)
    assert [o["Key"] for o in out["Contents"]] == ["plus+sign", "z z", "ü/x"]
    assert out["Marker"] == "c" and "Owner" in out["Contents"][0]
    encoded = filled.list_objects({"Bucket": "bkt", "Prefix": "ü/", "EncodingType": "url"}, ctx)
    assert [o["Key"] for o in encoded["Contents"]] == ["%C3%BC/x"] and encoded["Prefix"] == "ü/"
    page = filled.list_objects({"Bucket": "bkt", "Delimiter": "/", "MaxKeys": 1}, ctx)
    assert page["IsTruncated"] and page["NextMarker"] == "a/"
    nxt = filled.list_objects({"Bucket": "bkt", "Delimiter": "/", "MaxKeys": 1,
                               "Marker": page["NextMarker"]}, ctx)
    assert [o["Key"] for o in nxt["Contents"]] == ["c"] and "CommonPrefixes" not in nxt
    assert "NextMarker" not in filled.list_objects({"Bucket": "bkt", "MaxKeys": 1}, ctx)


def test_delete_objects(filled, ctx):
    out = filled.delete_objects({"Bucket": "bkt", "Delete": {"Objects": [
        {"Key": "a/1"}, {"Key": "missing"}, {"Key": "k" * 1100}]}}, ctx)
    assert [d["Key"] for d in out["Deleted"]] == ["a/1", "missing"]
    assert [(e["Key"], e["Code"]) for e in out["Errors"]] == [("k" * 1100, "KeyTooLongError")]
    quiet = filled.delete_objects({"Bucket": "bkt", "Delete": {"Objects": [{"Key": "c"}],
                                                               "Quiet": True}}, ctx)
    assert quiet == {}
    assert filled.list_objects_v2({"Bucket": "bkt"}, ctx)["KeyCount"] == len(KEYS) - 2
    assert err(lambda: filled.delete_objects({"Bucket": "bkt", "Delete": {"Objects": [
        {"Key": str(i)} for i in range(1001)]}}, ctx)).code == "MalformedXML"


# --- multipart -------------------------------------------------------------------------------

def test_multipart_through_the_provider(s3, ctx, body):
    data = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"end"]
    created = s3.create_multipart_upload({"Bucket": "bkt", "Key": "mp", "ContentType": "x/y",
                                          "ChecksumAlgorithm": "CRC32"}, ctx)
    uid = created["UploadId"]
    assert (created["ChecksumAlgorithm"], created["ChecksumType"]) == ("CRC32", "COMPOSITE")
    parts = []
    for n, chunk in enumerate(data, start=1):
        out = s3.upload_part({"Bucket": "bkt", "Key": "mp", "UploadId": uid, "PartNumber": n,
                              "Body": body(chunk), "ChecksumCRC32": crc32_b64(chunk)}, ctx)
        assert out["ChecksumCRC32"] == crc32_b64(chunk)
        parts.append({"PartNumber": n, "ETag": out["ETag"], "ChecksumCRC32": out["ChecksumCRC32"]})
    listed = s3.list_parts({"Bucket": "bkt", "Key": "mp", "UploadId": uid, "MaxParts": 2}, ctx)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2] and listed["IsTruncated"]
    assert listed["NextPartNumberMarker"] == 2
    uploads = s3.list_multipart_uploads({"Bucket": "bkt"}, ctx)
    assert [u["UploadId"] for u in uploads["Uploads"]] == [uid]
    done = s3.complete_multipart_upload({"Bucket": "bkt", "Key": "mp", "UploadId": uid,
                                         "MultipartUpload": {"Parts": parts}}, ctx)
    md5s = b"".join(hashlib.md5(d).digest() for d in data)
    assert done["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-3"'
    raw = b"".join(zlib.crc32(d).to_bytes(4, "big") for d in data)
    assert done["ChecksumCRC32"] == f"{crc32_b64(raw)}-3"
    assert done["Location"] == "http://localhost:8943/bkt/mp"
    head = s3.head_object({"Bucket": "bkt", "Key": "mp", "ChecksumMode": "ENABLED"}, ctx)
    assert (head["ContentLength"], head["ContentType"]) == (10 * MIB + 3, "x/y")
    assert head["ChecksumType"] == "COMPOSITE"
    second = s3.get_object({"Bucket": "bkt", "Key": "mp", "PartNumber": 2}, ctx)
    assert read(second) == data[1] and second["PartsCount"] == 3
    assert second["ContentRange"] == f"bytes {5 * MIB}-{10 * MIB - 1}/{10 * MIB + 3}"
    assert err(lambda: s3.get_object({"Bucket": "bkt", "Key": "mp", "PartNumber": 4},
                                     ctx)).code == "InvalidPartNumber"


def test_full_object_checksum_multipart(s3, ctx, body):
    data = [b"a" * (5 * MIB), b"tail"]
    uid = s3.create_multipart_upload({"Bucket": "bkt", "Key": "f", "ChecksumAlgorithm": "CRC32",
                                      "ChecksumType": "FULL_OBJECT"}, ctx)["UploadId"]
    parts = [{"PartNumber": n, "ETag": s3.upload_part({"Bucket": "bkt", "Key": "f",
                                                       "UploadId": uid, "PartNumber": n,
                                                       "Body": body(d)}, ctx)["ETag"]}
             for n, d in enumerate(data, start=1)]
    whole = crc32_b64(b"".join(data))
    e = err(lambda: s3.complete_multipart_upload({
        "Bucket": "bkt", "Key": "f", "UploadId": uid, "MultipartUpload": {"Parts": parts},
        "ChecksumCRC32": "AAAAAA=="}, ctx))
    assert e.code == "BadDigest"
    done = s3.complete_multipart_upload({"Bucket": "bkt", "Key": "f", "UploadId": uid,
                                         "MultipartUpload": {"Parts": parts},
                                         "ChecksumCRC32": whole}, ctx)
    assert (done["ChecksumCRC32"], done["ChecksumType"]) == (whole, "FULL_OBJECT")
    assert err(lambda: s3.create_multipart_upload({
        "Bucket": "bkt", "Key": "g", "ChecksumAlgorithm": "SHA256",
        "ChecksumType": "FULL_OBJECT"}, ctx)).code == "InvalidRequest"


def test_upload_part_checks(s3, ctx, body):
    uid = s3.create_multipart_upload({"Bucket": "bkt", "Key": "k",
                                      "ChecksumAlgorithm": "SHA256"}, ctx)["UploadId"]
    e = err(lambda: s3.upload_part({"Bucket": "bkt", "Key": "k", "UploadId": uid, "PartNumber": 1,
                                    "Body": body(b"x"), "ChecksumCRC32": crc32_b64(b"x")}, ctx))
    assert e.code == "InvalidRequest"  # the upload was declared SHA256
    out = s3.upload_part({"Bucket": "bkt", "Key": "k", "UploadId": uid, "PartNumber": 1,
                          "Body": body(b"x")}, ctx)
    assert out["ChecksumSHA256"] == sha256_b64(b"x")  # computed when the client sent none
    e = err(lambda: s3.upload_part({"Bucket": "bkt", "Key": "k", "UploadId": uid,
                                    "PartNumber": 2, "Body": body(b"y"),
                                    "ContentMD5": b64(hashlib.md5(b"z").digest())}, ctx))
    assert e.code == "BadDigest"
    e = err(lambda: s3.upload_part({"Bucket": "bkt", "Key": "k", "UploadId": "nope",
                                    "PartNumber": 1, "Body": body(b"x")}, ctx))
    assert (e.code, e.status) == ("NoSuchUpload", 404)
    s3.abort_multipart_upload({"Bucket": "bkt", "Key": "k", "UploadId": uid}, ctx)
    assert s3.list_multipart_uploads({"Bucket": "bkt"}, ctx).get("Uploads") is None


def test_upload_part_copy(s3, ctx):
    s3.put_object({"Bucket": "bkt", "Key": "src", "Body": b"0123456789"}, ctx)
    uid = s3.create_multipart_upload({"Bucket": "bkt", "Key": "dst"}, ctx)["UploadId"]
    out = s3.upload_part_copy({"Bucket": "bkt", "Key": "dst", "UploadId": uid, "PartNumber": 1,
                               "CopySource": "bkt/src", "CopySourceRange": "bytes=3-6"}, ctx)
    assert out["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(b"3456").hexdigest()
    for bad in ("bytes=3-", "bytes=5-20", "bytes=6-3"):
        e = err(lambda: s3.upload_part_copy({"Bucket": "bkt", "Key": "dst", "UploadId": uid,
                                             "PartNumber": 2, "CopySource": "bkt/src",
                                             "CopySourceRange": bad}, ctx))
        assert (e.code, e.status) == ("InvalidArgument", 400)
    s3.upload_part_copy({"Bucket": "bkt", "Key": "dst", "UploadId": uid, "PartNumber": 2,
                         "CopySource": "bkt/src"}, ctx)
    parts = s3.list_parts({"Bucket": "bkt", "Key": "dst", "UploadId": uid}, ctx)["Parts"]
    assert [p["Size"] for p in parts] == [4, 10]


def test_multipart_refusals_through_the_provider(s3, ctx):
    uid = s3.create_multipart_upload({"Bucket": "bkt", "Key": "k"}, ctx)["UploadId"]
    small = s3.upload_part({"Bucket": "bkt", "Key": "k", "UploadId": uid, "PartNumber": 1,
                            "Body": b"tiny"}, ctx)["ETag"]
    last = s3.upload_part({"Bucket": "bkt", "Key": "k", "UploadId": uid, "PartNumber": 2,
                           "Body": b"end"}, ctx)["ETag"]

    def complete(parts):
        return err(lambda: s3.complete_multipart_upload(
            {"Bucket": "bkt", "Key": "k", "UploadId": uid,
             "MultipartUpload": {"Parts": parts}}, ctx)).code

    assert complete([{"PartNumber": 1, "ETag": small}, {"PartNumber": 2, "ETag": last}]) == (
        "EntityTooSmall")
    assert complete([{"PartNumber": 2, "ETag": last}, {"PartNumber": 1, "ETag": small}]) == (
        "InvalidPartOrder")
    assert complete([{"PartNumber": 1, "ETag": last}]) == "InvalidPart"
    assert complete([]) == "MalformedXML"
    # An unquoted ETag names the same part.
    done = s3.complete_multipart_upload({"Bucket": "bkt", "Key": "k", "UploadId": uid,
                                         "MultipartUpload": {"Parts": [
                                             {"PartNumber": 2, "ETag": last.strip('"')}]}}, ctx)
    assert done["ETag"].endswith('-1"')


def test_list_multipart_uploads_with_delimiter_and_encoding(s3, ctx):
    for key in ("logs/a", "logs/b", "top key"):
        s3.create_multipart_upload({"Bucket": "bkt", "Key": key}, ctx)
    out = s3.list_multipart_uploads({"Bucket": "bkt", "Delimiter": "/",
                                     "EncodingType": "url"}, ctx)
    assert [c["Prefix"] for c in out["CommonPrefixes"]] == ["logs/"]
    assert [u["Key"] for u in out["Uploads"]] == ["top%20key"]
    page = s3.list_multipart_uploads({"Bucket": "bkt", "MaxUploads": 1}, ctx)
    assert page["IsTruncated"] and page["NextKeyMarker"] == "logs/a"


# --- never a crash -----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2])
def test_random_requests_only_ever_fail_as_client_errors(s3, ctx, seed):
    counts = fuzz([s3], "s3", ctx, seed=seed, rounds=300)
    assert counts["client_error"] > 20
