"""What kamado's two S3 filesystems share: ``bucket/key`` paths and S3 errors as OS errors.

The built-in store (:mod:`kamado.storage.fs`) and an external S3 endpoint
(:mod:`kamado.storage.external`) look the same to the platform: fsspec filesystems whose paths
are ``bucket/key`` as with s3fs, whose buckets are top-level directories, and whose "folders" are
key prefixes.
"""

from __future__ import annotations

from fsspec.spec import AbstractFileSystem

_MISSING = {"NoSuchKey", "NoSuchBucket", "NoSuchUpload", "NotFound", "404"}
_EXISTS = {"PreconditionFailed", "412"}
_DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403",
           "RequestTimeTooSkewed", "ExpiredToken", "InvalidToken"}


def os_error(code: str, message: str, path: str) -> OSError:
    """The OSError an fsspec caller expects for S3 error ``code`` on ``path``."""
    if code in _MISSING:
        return FileNotFoundError(path)
    if code in _EXISTS:
        return FileExistsError(path)
    if code in _DENIED:
        return PermissionError(f"{path}: {code}: {message}")
    return OSError(f"{path}: {code}: {message}")


class BucketFileSystem(AbstractFileSystem):
    protocol = ("s3", "s3a")
    root_marker = ""
    cachable = False  # instances hold live stores and clients; fsspec's cache would pin them

    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        for proto in ("s3://", "s3a://"):
            if path.startswith(proto):
                path = path[len(proto):]
        return path.lstrip("/").rstrip("/")

    @classmethod
    def split_path(cls, path: str) -> tuple[str, str]:
        bucket, _, key = cls._strip_protocol(path).partition("/")
        return bucket, key

    @staticmethod
    def _dir_entry(name: str) -> dict:
        return {"name": name, "size": 0, "type": "directory"}

    def modified(self, path):
        info = self.info(path)
        if info["type"] != "file":
            raise IsADirectoryError(path)
        return info["LastModified"]

    created = modified

    def ukey(self, path):
        return self.info(path).get("ETag") or super().ukey(path)

    def makedirs(self, path, exist_ok=False) -> None:
        bucket, key = self.split_path(path)
        if not key and self._bucket_exists(bucket) and not exist_ok:
            raise FileExistsError(path)
        self.mkdir(path, create_parents=True)

    def _bucket_exists(self, bucket: str) -> bool:
        raise NotImplementedError
