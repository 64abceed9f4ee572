"""The object store's bytes: immutable files named by random ids, never by keys.

A blob is written under ``tmp/``, fsync'd, then renamed into ``blobs/<id[:2]>/<id>``; nothing in
it is ever rewritten, so a reader holding one open keeps its bytes whatever happens next.
Because names are random ids, no key (``../x``, ``/``, 1024 bytes of unicode) reaches the disk.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Iterable, Iterator

_CHUNK = 1024 * 1024


def fsync_dir(path: Path) -> None:
    """Make a rename into ``path`` durable (the directory entry is data too)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Written:
    """What writing a blob learnt on the way: its id, size, MD5 and any extra digests."""

    def __init__(self, blob_id: str, size: int, md5_hex: str, digests: dict | None = None):
        self.blob_id, self.size, self.md5_hex = blob_id, size, md5_hex
        self.digests = digests or {}


class Blobs:
    def __init__(self, root: Path, fsync: bool = True) -> None:
        # fsync=False keeps every write atomic and safe from a killed process (the OS still
        # holds the bytes) but not from power loss: the ``object_fsync`` setting.
        self.fsync = fsync
        self.dir = root / "blobs"
        self.tmp = root / "tmp"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def sync(self, fh) -> None:
        """Make an open file's bytes durable before anything names it."""
        fh.flush()
        if self.fsync:
            os.fsync(fh.fileno())

    def sync_dir(self, path: Path) -> None:
        if self.fsync:
            fsync_dir(path)

    def path(self, blob_id: str) -> Path:
        return self.dir / blob_id[:2] / blob_id

    def tmp_file(self, tag: str = "put") -> Path:
        return self.tmp / f"{tag}-{uuid.uuid4().hex}"

    def adopt(self, src: Path) -> str:
        """Move a finished, fsync'd file into place under a fresh id (no copy on one disk)."""
        blob_id = uuid.uuid4().hex
        dest = self.path(blob_id)
        dest.parent.mkdir(exist_ok=True)
        try:
            os.rename(src, dest)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            # Another file system: copy into our tmp/ first so the final step is still a rename.
            staged = self.tmp_file("copy")
            try:
                with open(src, "rb") as fin, open(staged, "wb") as fout:
                    shutil.copyfileobj(fin, fout, _CHUNK)
                    self.sync(fout)
                os.rename(staged, dest)
            finally:
                staged.unlink(missing_ok=True)
            src.unlink(missing_ok=True)
        self.sync_dir(dest.parent)
        return blob_id

    def write(self, chunks: Iterable[bytes], digests: dict | None = None) -> Written:
        """Write a new blob from ``chunks``; ``digests`` are hashers fed the same bytes."""
        tmp = self.tmp_file()
        md5 = hashlib.md5()
        size = 0
        digests = digests or {}
        try:
            with open(tmp, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
                    md5.update(chunk)
                    for h in digests.values():
                        h.update(chunk)
                    size += len(chunk)
                self.sync(fh)
            blob_id = self.adopt(tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return Written(blob_id, size, md5.hexdigest(), digests)

    def link(self, blob_id: str) -> str:
        """A second name for an existing blob's bytes (blobs are immutable, so sharing is safe)."""
        new_id = uuid.uuid4().hex
        dest = self.path(new_id)
        dest.parent.mkdir(exist_ok=True)
        try:
            os.link(self.path(blob_id), dest)
        except FileNotFoundError:
            raise
        except OSError:  # no hard links here (some network or FAT file systems): copy
            return self.write(read_range(self.path(blob_id))).blob_id
        self.sync_dir(dest.parent)
        return new_id

    def remove(self, blob_id: str | None) -> None:
        if blob_id:
            self.path(blob_id).unlink(missing_ok=True)

    def ids(self) -> Iterator[str]:
        for sub in self.dir.iterdir():
            if sub.is_dir():
                for f in sub.iterdir():
                    yield f.name

    def clear_tmp(self) -> int:
        removed = 0
        for f in self.tmp.iterdir():
            if f.is_file() or f.is_symlink():
                f.unlink(missing_ok=True)
                removed += 1
        return removed


def read_range(path: Path, start: int = 0, length: int | None = None) -> Iterator[bytes]:
    remaining = length
    with open(path, "rb") as fh:
        fh.seek(start)
        while remaining is None or remaining > 0:
            chunk = fh.read(_CHUNK if remaining is None else min(_CHUNK, remaining))
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk


def concat(paths: list[Path]) -> Iterator[bytes]:
    for p in paths:
        yield from read_range(p)
