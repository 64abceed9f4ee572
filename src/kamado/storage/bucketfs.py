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

    # --- what each backend provides ---------------------------------------------------------
    def _bucket_exists(self, bucket: str) -> bool:
        raise NotImplementedError

    def _bucket_names(self) -> list[str]:
        raise NotImplementedError

    def _head(self, bucket: str, key: str) -> dict | None:
        """The file entry of ``bucket/key``; None if no such key; FileNotFoundError if no bucket."""
        raise NotImplementedError

    def _listing(self, bucket: str, prefix: str, delimiter: str = "", limit: int | None = None):
        """("file", entry) for each key under ``prefix`` and ("dir", common prefix) for each
        folder when ``delimiter`` is given, all pages, at most ``limit`` keys if given."""
        raise NotImplementedError

    def _delete_keys(self, bucket: str, keys: list[str]) -> None:
        raise NotImplementedError

    def objects_under(self, bucket: str, prefix: str) -> list[dict]:
        """Every object whose key starts with ``prefix`` (S3's prefix match, not a folder),
        in key order; FileNotFoundError if there is no such bucket."""
        return [entry for kind, entry in self._listing(bucket, prefix) if kind == "file"]

    @staticmethod
    def _entry(bucket: str, key: str, size: int, etag: str, modified, ctype=None) -> dict:
        return {"name": f"{bucket}/{key}", "size": size, "type": "file", "ETag": etag,
                "LastModified": modified, "ContentType": ctype}

    # --- the filesystem, on those ------------------------------------------------------------
    def info(self, path, **kwargs) -> dict:
        path = self._strip_protocol(path)
        bucket, key = self.split_path(path)
        if not bucket:
            return self._dir_entry("")
        if not key:
            if self._bucket_exists(bucket):
                return self._dir_entry(bucket)
            raise FileNotFoundError(path)
        entry = self._head(bucket, key)
        if entry is not None:
            return entry
        if any(True for _ in self._listing(bucket, key + "/", limit=1)):
            return self._dir_entry(path)
        raise FileNotFoundError(path)

    def ls(self, path, detail=True, **kwargs):
        path = self._strip_protocol(path)
        bucket, key = self.split_path(path)
        if not bucket:
            entries = [self._dir_entry(name) for name in self._bucket_names()]
        else:
            prefix = f"{key}/" if key else ""
            entries = []
            for kind, item in self._listing(bucket, prefix, "/"):
                if kind == "dir":
                    entries.append(self._dir_entry(f"{bucket}/{item.rstrip('/')}"))
                elif item["name"] != f"{bucket}/{prefix}":  # a "dir/" marker is the dir itself
                    entries.append(item)
            entries.sort(key=lambda e: e["name"])
            if not entries and key:
                entries = [self.info(path)]  # a file lists as itself; a missing path raises
                if entries[0]["type"] == "directory":
                    entries = []
        return entries if detail else [e["name"] for e in entries]

    def find(self, path, maxdepth=None, withdirs=False, detail=False, **kwargs):
        path = self._strip_protocol(path)
        bucket, key = self.split_path(path)
        if maxdepth is not None or not bucket:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail,
                                **kwargs)
        out: dict[str, dict] = {}
        if key:
            try:
                entry = self._head(bucket, key)
            except FileNotFoundError:
                entry = None
            if entry is not None:
                out[path] = entry
        elif not self._bucket_exists(bucket):
            return {} if detail else []
        for _, entry in self._listing(bucket, f"{key}/" if key else ""):
            name = entry["name"]
            if name.endswith("/") and entry["size"] == 0:  # a "folder" marker object
                if withdirs:
                    out[name.rstrip("/")] = self._dir_entry(name.rstrip("/"))
                continue
            out[name] = entry
            if withdirs:  # every folder between ``path`` and the file
                parent = name.rsplit("/", 1)[0]
                while len(parent) > len(path):
                    out.setdefault(parent, self._dir_entry(parent))
                    parent = parent.rsplit("/", 1)[0]
        if withdirs and out and path not in out:
            out[path] = self._dir_entry(path)
        names = sorted(out)
        return {n: out[n] for n in names} if detail else names

    def rm_file(self, path) -> None:
        bucket, key = self.split_path(path)
        if not key:
            return self.rmdir(bucket)
        self._delete_keys(bucket, [key])

    def rm(self, path, recursive=False, maxdepth=None) -> None:
        paths = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
        by_bucket: dict[str, list[str]] = {}
        buckets = []
        for p in paths:
            bucket, key = self.split_path(p)
            if key:
                by_bucket.setdefault(bucket, []).append(key)
            else:
                buckets.append(bucket)
        for bucket, keys in by_bucket.items():
            self._delete_keys(bucket, keys)
        for bucket in buckets:
            self.rmdir(bucket)
