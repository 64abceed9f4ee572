"""The built-in object store through boto3's S3 client against a real server."""

from __future__ import annotations

import hashlib
import os
import urllib.request
import uuid

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError


def code_of(exc_info) -> str:
    return exc_info.value.response["Error"]["Code"]


@pytest.fixture
def bucket(s3):
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def test_buckets(server, s3):
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    # one's own bucket again: 200 and nothing done in us-east-1, 409 in any other region
    assert s3.create_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as e:
        server.client("s3", "eu-west-1").create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code_of(e) == "BucketAlreadyOwnedByYou"
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="Not_Valid")
    assert code_of(e) == "InvalidBucketName"
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=name)
    assert code_of(e) == "BucketNotEmpty"
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=name)
    assert e.value.response["Error"]["Code"] == "404"
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=name)
    assert code_of(e) == "NoSuchBucket"


def test_objects_roundtrip(s3, bucket):
    s3.put_object(Bucket=bucket, Key="dir/a.txt", Body=b"hello world", ContentType="text/plain",
                  Metadata={"owner": "kamado"})
    got = s3.get_object(Bucket=bucket, Key="dir/a.txt")
    assert got["Body"].read() == b"hello world"
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"owner": "kamado"}
    assert got["ETag"] == '"%s"' % hashlib.md5(b"hello world").hexdigest()
    part = s3.get_object(Bucket=bucket, Key="dir/a.txt", Range="bytes=6-")
    assert part["Body"].read() == b"world"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert part["ContentRange"] == "bytes 6-10/11"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="dir/a.txt", Range="bytes=50-60")
    assert code_of(e) == "InvalidRange"
    head = s3.head_object(Bucket=bucket, Key="dir/a.txt")
    assert head["ContentLength"] == 11
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="missing")
    assert code_of(e) == "NoSuchKey"
    s3.copy_object(Bucket=bucket, Key="copy.txt", CopySource={"Bucket": bucket, "Key": "dir/a.txt"})
    assert s3.get_object(Bucket=bucket, Key="copy.txt")["Body"].read() == b"hello world"
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""
    s3.delete_object(Bucket=bucket, Key="dir/a.txt")
    s3.delete_object(Bucket=bucket, Key="dir/a.txt")  # deleting twice is fine, as on S3
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="dir/a.txt")


def test_listing(s3, bucket):
    keys = ["a/1", "a/2", "a/b/3", "c", "ü/x", "z z"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [c["Prefix"] for c in top["CommonPrefixes"]] == ["a/", "ü/"]
    assert [o["Key"] for o in top["Contents"]] == ["c", "z z"]
    under_a = s3.list_objects_v2(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in under_a["Contents"]] == ["a/1", "a/2"]
    assert [c["Prefix"] for c in under_a["CommonPrefixes"]] == ["a/b/"]
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == sorted(keys, key=str.encode)
    assert [o["Key"] for o in s3.list_objects(Bucket=bucket, Marker="c")["Contents"]] == ["z z", "ü/x"]
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a/1"}, {"Key": "c"}]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["a/1", "c"]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 4


def test_path_escaping_keys_stay_inside_the_store(server, s3, bucket):
    evil = ["../../escape.txt", "/abs/path", "a/../../../b", "..", "./x"]
    for k in evil:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    for k in evil:
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == k.encode()
    root = server.home.parent
    stray = [p for p in root.rglob("escape.txt")] + list(root.rglob("b"))
    assert stray == []
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(listed) == sorted(evil)


def test_text_xml_cannot_carry_is_refused_not_echoed(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=bucket, Prefix="a\x00b")
    assert code_of(e) == "InvalidArgument"
    assert "Prefix" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bell\x07", Body=b"x")
    assert code_of(e) == "InvalidArgument"
    assert "KeyCount" in s3.list_objects_v2(Bucket=bucket) and \
        s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    s3.put_object(Bucket=bucket, Key="tab\tand\nnewline", Body=b"x")  # legal in XML 1.0
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["tab\tand\nnewline"]


def test_large_file_multipart_roundtrip(s3, bucket, tmp_path):
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(50 * 1024 * 1024))
    config = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024)
    s3.upload_file(str(src), bucket, "big.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == src.stat().st_size
    assert head["ETag"].endswith('-7"')  # 50 MiB in 8 MiB parts
    dst = tmp_path / "back.bin"
    s3.download_file(bucket, "big.bin", str(dst))
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(src.read_bytes()).digest()


def test_interrupted_multipart_upload(s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="partial")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="partial", UploadId=upload, PartNumber=1,
                          Body=b"a" * 1024)["ETag"]
    listed = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [u["UploadId"] for u in listed] == [upload]
    assert [p["ETag"] for p in s3.list_parts(Bucket=bucket, Key="partial", UploadId=upload)["Parts"]] == [etag]
    with pytest.raises(ClientError) as e:  # a part that was never uploaded
        s3.complete_multipart_upload(Bucket=bucket, Key="partial", UploadId=upload, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": etag}, {"PartNumber": 2, "ETag": etag}]})
    assert code_of(e) == "InvalidPart"
    with pytest.raises(ClientError) as e:  # an interrupted upload is not an object
        s3.head_object(Bucket=bucket, Key="partial")
    s3.abort_multipart_upload(Bucket=bucket, Key="partial", UploadId=upload)
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="partial", UploadId=upload)
    assert code_of(e) == "NoSuchUpload"
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_checksums_and_digests(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="sum", Body=b"checked", ChecksumAlgorithm="SHA256")
    assert put["ChecksumSHA256"]
    got = s3.get_object(Bucket=bucket, Key="sum", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == put["ChecksumSHA256"]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"data", ChecksumCRC32="AAAAAA==")
    assert code_of(e) in ("BadDigest", "InvalidRequest")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad")


def test_presigned_get(s3, bucket):
    s3.put_object(Bucket=bucket, Key="shared.txt", Body=b"via presigned url")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared.txt"},
                                    ExpiresIn=60)
    with urllib.request.urlopen(url) as resp:
        assert resp.read() == b"via presigned url"
    tampered = url.replace("shared.txt", "other.txt")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(tampered)
    assert e.value.code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in e.value.read()
