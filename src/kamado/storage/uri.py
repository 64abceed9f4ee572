"""Every data location in the platform is a URI; this module turns one into an fsspec filesystem.

* ``file:///…`` and plain paths — the local disk;
* ``s3://bucket/key`` — the built-in object store (in-process, no HTTP), or, when
  ``config.s3_endpoint_url`` is set, any S3 endpoint (:mod:`kamado.storage.external`);
* anything else fsspec knows (``memory://``, ``gs://`` with gcsfs installed …) — fsspec's own.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import fsspec
from fsspec.spec import AbstractFileSystem

from kamado.storage.external import ExternalS3FileSystem
from kamado.storage.fs import KamadoObjectFileSystem
from kamado.storage.objectstore import ObjectStore

if TYPE_CHECKING:
    from kamado.config import Config

S3_SCHEMES = ("s3", "s3a")

# One store per root per process: opening a store sweeps and locks, so it is opened once.
_stores: dict[Path, ObjectStore] = {}
_stores_lock = threading.Lock()


def scheme_of(uri: str) -> str:
    head, sep, _ = str(uri).partition("://")
    return head.lower() if sep else ""


def is_s3(uri: str) -> bool:
    return scheme_of(uri) in S3_SCHEMES


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ("bucket", "some/key")."""
    if not is_s3(uri):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = str(uri).partition("://")[2].partition("/")
    if not bucket:
        raise ValueError(f"the URI {uri!r} names no bucket")
    return bucket, key


def store_for(config: "Config") -> ObjectStore:
    """This process's store for ``config``'s object directory, opened on first use."""
    root = Path(config.objects_dir).resolve()
    with _stores_lock:
        store = _stores.get(root)
        if store is None:
            store = _stores[root] = ObjectStore(root, fsync=config.object_fsync)
        return store


def _external_s3(config: "Config") -> AbstractFileSystem:
    return ExternalS3FileSystem(
        endpoint_url=config.s3_endpoint_url, key=config.s3_access_key_id or None,
        secret=config.s3_secret_access_key or None, region=config.region)


def filesystem(uri: str, config: "Config | None" = None,
               objects: ObjectStore | None = None) -> tuple[AbstractFileSystem, str]:
    """The filesystem that holds ``uri`` and the path to hand it (``bucket/key`` for S3)."""
    uri = str(uri)
    scheme = scheme_of(uri)
    if scheme in ("", "file", "local"):
        fs = fsspec.filesystem("file")
        return fs, fs._strip_protocol(uri)
    if scheme in S3_SCHEMES:
        bucket, key = split_s3_uri(uri)
        path = f"{bucket}/{key}".rstrip("/")
        if config is not None and config.s3_endpoint_url:
            return _external_s3(config), path
        if objects is None:
            if config is None:
                raise ValueError(f"{uri!r} is in the built-in object store; pass objects= "
                                 "(the platform's store) or config= to reach it")
            objects = store_for(config)
        region = config.region if config is not None else "us-east-1"
        return KamadoObjectFileSystem(objects, region=region), path
    return fsspec.core.url_to_fs(uri)


def open_uri(uri: str, mode: str = "rb", *, config: "Config | None" = None,
             objects: ObjectStore | None = None, **kwargs):
    """``open()`` for any URI: ``with open_uri("s3://b/k", "w", objects=store) as f: …``."""
    fs, path = filesystem(uri, config=config, objects=objects)
    return fs.open(path, mode, **kwargs)
