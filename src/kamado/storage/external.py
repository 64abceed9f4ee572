"""An fsspec filesystem over any S3 endpoint (AWS, MinIO, Ceph, another kamado), through boto3.

kamado already depends on boto3, and s3fs pins botocore to narrower ranges than boto3 releases
move at, so the external backend speaks S3 through boto3 itself rather than through s3fs.
Reads fetch byte ranges; writes buffer into parts and become the object only on a clean close
(a single PutObject, or a multipart upload that is aborted if the writer fails).
"""

from __future__ import annotations

import io
import os
from contextlib import contextmanager

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from fsspec.spec import AbstractBufferedFile

from kamado.storage.bucketfs import BucketFileSystem, os_error

_PART = 8 * 1024 * 1024  # S3's parts are at least 5 MiB, all but the last


@contextmanager
def _as_os_errors(path: str):
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or exc.response["ResponseMetadata"].get("HTTPStatusCode"))
        raise os_error(code, error.get("Message", ""), path) from exc


class ExternalS3FileSystem(BucketFileSystem):
    def __init__(self, endpoint_url: str | None = None, key: str | None = None,
                 secret: str | None = None, region: str = "us-east-1", client=None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.region = region
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region,
            aws_access_key_id=key or None, aws_secret_access_key=secret or None,
            config=BotoConfig(retries={"max_attempts": 3, "mode": "standard"}))

    # --- what the base class builds on ----------------------------------------------------------
    def _bucket_exists(self, bucket: str) -> bool:
        try:
            self.client.head_bucket(Bucket=bucket)
            return True
        except ClientError:
            return False

    def _bucket_names(self) -> list[str]:
        with _as_os_errors(""):
            return [b["Name"] for b in self.client.list_buckets().get("Buckets", [])]

    def _head(self, bucket: str, key: str) -> dict | None:
        try:
            head = self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response["ResponseMetadata"].get("HTTPStatusCode") != 404:
                with _as_os_errors(f"{bucket}/{key}"):
                    raise
            if not self._bucket_exists(bucket):  # HEAD has no body to tell key from bucket
                raise FileNotFoundError(bucket) from None
            return None
        return self._entry(bucket, key, head["ContentLength"], head["ETag"],
                           head["LastModified"], head.get("ContentType"))

    def _listing(self, bucket: str, prefix: str, delimiter: str = "", limit: int | None = None):
        kwargs = {"Bucket": bucket, "Prefix": prefix}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        if limit:
            kwargs["PaginationConfig"] = {"MaxItems": limit}
        with _as_os_errors(f"{bucket}/{prefix}"):
            for page in self.client.get_paginator("list_objects_v2").paginate(**kwargs):
                for o in page.get("Contents", []):
                    yield "file", self._entry(bucket, o["Key"], o["Size"], o["ETag"],
                                              o["LastModified"])
                for p in page.get("CommonPrefixes", []):
                    yield "dir", p["Prefix"]

    def _delete_keys(self, bucket: str, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):  # DeleteObjects takes 1000 keys a call
            with _as_os_errors(bucket):
                self.client.delete_objects(Bucket=bucket, Delete={
                    "Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})

    # --- reading -------------------------------------------------------------------------------
    def _open(self, path, mode="rb", block_size=None, autocommit=True, cache_options=None,
              **kwargs):
        bucket, key = self.split_path(path)
        if not bucket or not key:
            raise IsADirectoryError(path)
        if mode in ("wb", "xb"):
            if not self._bucket_exists(bucket):
                raise FileNotFoundError(bucket)
            if mode == "xb" and self.exists(path):
                raise FileExistsError(path)
        elif mode != "rb":
            raise NotImplementedError(f"objects cannot be opened in mode {mode!r}")
        return _S3File(self, path, mode, block_size=block_size or _PART,
                       cache_options=cache_options)

    def cat_file(self, path, start=None, end=None, **kwargs) -> bytes:
        bucket, key = self.split_path(path)
        kwargs = {"Bucket": bucket, "Key": key}
        if start is not None or end is not None:
            if (start is not None and start < 0) or (end is not None and end < 0):
                size = self.info(path)["size"]
                start = max(size + start, 0) if start is not None and start < 0 else start
                end = size + end if end is not None and end < 0 else end
            start = start or 0
            if end is not None and end <= start:
                return b""
            kwargs["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            with _as_os_errors(path):
                return self.client.get_object(**kwargs)["Body"].read()
        except OSError as exc:
            if "InvalidRange" in str(exc):
                return b""  # a range wholly past the end reads as nothing, as with files
            raise

    def get_file(self, rpath, lpath, callback=None, outfile=None, **kwargs) -> None:
        if self.isdir(rpath):
            os.makedirs(lpath, exist_ok=True)
            return
        bucket, key = self.split_path(rpath)
        with _as_os_errors(rpath):
            self.client.download_file(bucket, key, str(lpath))

    # --- writing -------------------------------------------------------------------------------
    def pipe_file(self, path, value, mode="overwrite", **kwargs) -> None:
        bucket, key = self.split_path(path)
        extra = {"IfNoneMatch": "*"} if mode == "create" else {}
        with _as_os_errors(path):
            self.client.put_object(Bucket=bucket, Key=key, Body=bytes(value), **extra)

    def put_file(self, lpath, rpath, callback=None, mode="overwrite", **kwargs) -> None:
        if os.path.isdir(lpath):
            return  # S3 has no directories to create
        if mode == "create" and self.exists(rpath):
            raise FileExistsError(rpath)
        bucket, key = self.split_path(rpath)
        with _as_os_errors(rpath):
            self.client.upload_file(str(lpath), bucket, key)

    def cp_file(self, path1, path2, **kwargs) -> None:
        if self.isdir(path1):
            return
        (b1, k1), (b2, k2) = self.split_path(path1), self.split_path(path2)
        with _as_os_errors(path1):
            self.client.copy_object(Bucket=b2, Key=k2, CopySource={"Bucket": b1, "Key": k1})

    def mkdir(self, path, create_parents=True, **kwargs) -> None:
        bucket, key = self.split_path(path)
        if bucket and not self._bucket_exists(bucket):
            if key and not create_parents:
                raise FileNotFoundError(bucket)
            extra = ({} if self.region == "us-east-1" else
                     {"CreateBucketConfiguration": {"LocationConstraint": self.region}})
            with _as_os_errors(bucket):
                self.client.create_bucket(Bucket=bucket, **extra)

    def rmdir(self, path) -> None:
        bucket, key = self.split_path(path)
        if bucket and not key:
            with _as_os_errors(bucket):
                self.client.delete_bucket(Bucket=bucket)


class _S3File(AbstractBufferedFile):
    """Ranged reads; writes as one PutObject, or parts of a multipart upload when large."""

    def __init__(self, fs: ExternalS3FileSystem, path: str, mode: str, **kwargs) -> None:
        self.bucket, self.key = fs.split_path(path)
        self.upload_id: str | None = None
        self.parts: list[dict] = []
        super().__init__(fs, path, mode, **kwargs)

    def _fetch_range(self, start: int, end: int) -> bytes:
        return self.fs.cat_file(self.path, start=start, end=end)

    def _upload_chunk(self, final: bool = False) -> bool:
        data = self.buffer.getvalue()
        client = self.fs.client
        extra = {"IfNoneMatch": "*"} if self.mode == "xb" else {}
        with _as_os_errors(self.path):
            if final and self.upload_id is None:
                client.put_object(Bucket=self.bucket, Key=self.key, Body=data, **extra)
                return True
            if self.upload_id is None:
                self.upload_id = client.create_multipart_upload(
                    Bucket=self.bucket, Key=self.key)["UploadId"]
            if data or not self.parts:
                number = len(self.parts) + 1
                etag = client.upload_part(Bucket=self.bucket, Key=self.key, Body=data,
                                          UploadId=self.upload_id, PartNumber=number)["ETag"]
                self.parts.append({"PartNumber": number, "ETag": etag})
            if final:
                client.complete_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                    MultipartUpload={"Parts": self.parts}, **extra)
        return True

    def discard(self) -> None:
        """Drop what was written: abort the multipart upload; the object stays as it was."""
        if self.upload_id is not None:
            try:
                self.fs.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
            except ClientError:
                pass  # an upload that cannot be aborted expires by the bucket's lifecycle
            self.upload_id = None
        self.buffer = io.BytesIO()
        self.closed = True

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and self.mode != "rb":
            self.discard()  # a failed write must not publish half a file
        else:
            self.close()
