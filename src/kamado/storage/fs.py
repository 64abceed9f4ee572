"""An fsspec filesystem over the built-in object store, so ``s3://`` URIs work in-process.

Paths are ``bucket/key`` as with s3fs (see :mod:`kamado.storage.bucketfs`). Directories are
emulated the way S3 tools do: ``a/b`` is a directory when some key starts with ``a/b/``; a bucket
is a top-level directory. Writes go to a file under the store's ``tmp/`` and become the object
only on a clean close.
"""

from __future__ import annotations

import hashlib
import io
import os
from contextlib import contextmanager
from pathlib import Path

from kamado.errors import AwsError
from kamado.gateway.http import FileRange, Payload
from kamado.storage.bucketfs import BucketFileSystem, os_error
from kamado.storage.objectstore import ObjectInfo, ObjectStore

_RETRIES = 8


@contextmanager
def _as_os_errors(path: str):
    """Store errors as the OSErrors fsspec callers expect."""
    try:
        yield
    except AwsError as exc:
        raise os_error(exc.code, exc.message, path) from exc


class _ObjectWriter(io.BufferedIOBase):
    """A write-only file that becomes the object ``bucket/key`` when closed cleanly."""

    def __init__(self, objects: ObjectStore, bucket: str, key: str, exclusive: bool) -> None:
        super().__init__()
        self._objects, self._bucket, self._key = objects, bucket, key
        self._exclusive = exclusive
        self._path = objects.blobs.tmp_file("fs")
        self._fh = open(self._path, "wb")
        self._md5 = hashlib.md5()
        self._size = 0
        self.info: ObjectInfo | None = None

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        data = bytes(data)
        self._fh.write(data)
        self._md5.update(data)
        self._size += len(data)
        return len(data)

    def tell(self) -> int:
        return self._size

    def discard(self) -> None:
        """Drop what was written; the object stays as it was."""
        if not self.closed:
            self._fh.close()
            self._path.unlink(missing_ok=True)
            super().close()

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._objects.blobs.sync(self._fh)
            self._fh.close()
            payload = Payload(self._path, self._size, self._md5.hexdigest())
            with _as_os_errors(f"{self._bucket}/{self._key}"):
                self.info = self._objects.put_object(
                    self._bucket, self._key, payload,
                    if_none_match="*" if self._exclusive else None)
        finally:
            self._path.unlink(missing_ok=True)
            super().close()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.discard()  # a failed write must not publish half a file
        else:
            self.close()


class KamadoObjectFileSystem(BucketFileSystem):
    def __init__(self, objects: ObjectStore, region: str = "us-east-1", **kwargs) -> None:
        super().__init__(**kwargs)
        self.objects = objects
        self.region = region

    # --- what the base class builds on ----------------------------------------------------------
    def _file_entry(self, o: ObjectInfo) -> dict:
        return self._entry(o.bucket, o.key, o.size, o.etag, o.last_modified, o.content_type)

    def _bucket_exists(self, bucket: str) -> bool:
        try:
            self.objects.head_bucket(bucket)
            return True
        except AwsError:
            return False

    def _bucket_names(self) -> list[str]:
        return [b.name for b in self.objects.list_buckets()[0]]

    def _head(self, bucket: str, key: str) -> dict | None:
        try:
            return self._file_entry(self.objects.get_object(bucket, key))
        except AwsError as exc:
            if exc.code == "NoSuchKey":
                return None
            raise os_error(exc.code, exc.message, f"{bucket}/{key}") from exc

    def _listing(self, bucket: str, prefix: str, delimiter: str = "", limit: int | None = None):
        marker = None
        while True:
            with _as_os_errors(f"{bucket}/{prefix}"):
                page = self.objects.list_objects(bucket, prefix, delimiter, limit or 1000, marker)
            yield from (("file", self._file_entry(o)) for o in page.objects)
            yield from (("dir", p) for p in page.prefixes)
            if not page.truncated or limit:
                return
            marker = page.last

    def _delete_keys(self, bucket: str, keys: list[str]) -> None:
        with _as_os_errors(bucket):
            if len(keys) == 1:
                self.objects.delete_object(bucket, keys[0])
            else:
                self.objects.delete_objects(bucket, keys)

    # --- reading -------------------------------------------------------------------------------
    def _open_blob(self, bucket: str, key: str):
        """Open the current version's bytes; once open they stay readable whatever follows."""
        for _ in range(_RETRIES):
            with _as_os_errors(f"{bucket}/{key}"):
                info = self.objects.get_object(bucket, key)
            try:
                return info, open(info.path, "rb")
            except FileNotFoundError:
                continue  # replaced between the lookup and the open
        raise OSError(f"{bucket}/{key} kept changing while being opened")

    def _open(self, path, mode="rb", block_size=None, autocommit=True, cache_options=None,
              **kwargs):
        bucket, key = self.split_path(path)
        if not bucket or not key:
            raise IsADirectoryError(path)
        if mode == "rb":
            return self._open_blob(bucket, key)[1]
        if mode in ("wb", "xb"):
            with _as_os_errors(bucket):
                self.objects.head_bucket(bucket)
            if mode == "xb" and self.exists(path):
                raise FileExistsError(path)
            return _ObjectWriter(self.objects, bucket, key, exclusive=mode == "xb")
        raise NotImplementedError(f"objects cannot be opened in mode {mode!r}")

    def cat_file(self, path, start=None, end=None, **kwargs) -> bytes:
        bucket, key = self.split_path(path)
        info, fh = self._open_blob(bucket, key)
        with fh:
            begin = 0 if start is None else (start if start >= 0 else max(info.size + start, 0))
            stop = info.size if end is None else (end if end >= 0 else info.size + end)
            stop = min(stop, info.size)
            if stop <= begin:
                return b""
            fh.seek(begin)
            return fh.read(stop - begin)

    def get_file(self, rpath, lpath, callback=None, outfile=None, **kwargs) -> None:
        bucket, key = self.split_path(rpath)
        if self.isdir(rpath):
            os.makedirs(lpath, exist_ok=True)
            return
        info, fh = self._open_blob(bucket, key)
        with fh:
            Path(lpath).parent.mkdir(parents=True, exist_ok=True)
            with open(lpath, "wb") as out:
                while chunk := fh.read(1024 * 1024):
                    out.write(chunk)

    # --- writing -------------------------------------------------------------------------------
    def pipe_file(self, path, value, mode="overwrite", **kwargs) -> None:
        bucket, key = self.split_path(path)
        with _as_os_errors(path):
            self.objects.put_object(bucket, key, bytes(value),
                                    if_none_match="*" if mode == "create" else None)

    def put_file(self, lpath, rpath, callback=None, mode="overwrite", **kwargs) -> None:
        if os.path.isdir(lpath):
            return  # S3 has no directories to create
        bucket, key = self.split_path(rpath)
        with _as_os_errors(rpath):
            self.objects.put_object(bucket, key, FileRange(Path(lpath), 0, None),
                                    if_none_match="*" if mode == "create" else None)

    def adopt_file(self, lpath: Path, rpath: str, md5_hex: str) -> None:
        """put_file for a finished file its writer no longer needs (and whose MD5 it
        computed while writing): moved into the store, not copied."""
        bucket, key = self.split_path(rpath)
        if self.objects.blobs.fsync:
            with open(lpath, "rb") as fh:
                self.objects.blobs.sync(fh)
        with _as_os_errors(rpath):
            self.objects.put_object(bucket, key, Payload(lpath, lpath.stat().st_size, md5_hex))

    def cp_file(self, path1, path2, **kwargs) -> None:
        (b1, k1), (b2, k2) = self.split_path(path1), self.split_path(path2)
        if self.isdir(path1):
            return
        with _as_os_errors(path1):
            self.objects.copy_object(b1, k1, b2, k2)

    def mkdir(self, path, create_parents=True, **kwargs) -> None:
        bucket, key = self.split_path(path)
        if bucket and not self._bucket_exists(bucket):
            if key and not create_parents:
                raise FileNotFoundError(bucket)
            self.objects.create_bucket(bucket, self.region)

    def rmdir(self, path) -> None:
        bucket, key = self.split_path(path)
        if bucket and not key:
            with _as_os_errors(bucket):
                try:
                    self.objects.delete_bucket(bucket)
                except AwsError as exc:
                    if exc.code == "BucketNotEmpty":
                        raise OSError(f"{bucket}: bucket is not empty") from exc
                    raise

