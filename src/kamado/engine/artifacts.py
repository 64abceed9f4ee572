"""What a job leaves behind: model.tar.gz / output.tar.gz under ``<S3OutputPath>/<job>/output/``,
and checkpoints kept in step with their S3 location while the job runs."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
from pathlib import Path

from kamado.images.toolkit.variables import num_cpus
from kamado.storage.fs import KamadoObjectFileSystem
from kamado.storage.uri import filesystem, split_s3_uri

CHECKPOINT_SYNC_SECONDS = 2.0


def join_uri(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *[p.strip("/") for p in parts if p]])


class _Digest(io.RawIOBase):
    """A file written through it, counted and MD5'd on the way (the object's ETag), so the
    store can take the finished file as it is instead of reading it again."""

    def __init__(self, fh) -> None:
        super().__init__()
        self.fh, self.md5 = fh, hashlib.md5()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.md5.update(data)
        return self.fh.write(data)


def _gzip_writer(raw):
    """A gzip stream onto ``raw``. ISA-L (the ``isal`` package) compresses on every core at
    about ten times zlib's speed and to zlib level 6's size on model weights, which hardly
    compress at all: packing a 40 MB faiss index takes 0.1 s instead of 2 s. Without it, the
    standard library at level 6 (tarfile's default of 9 is several times slower for a few %)."""
    try:
        from isal import igzip_threaded
    except ImportError:
        import gzip

        return gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6)
    return igzip_threaded.open(raw, "wb", threads=min(4, num_cpus()))


def pack(directory: Path, tarball: Path) -> str:
    """A gzip tar of everything under ``directory``, paths relative to it, as SageMaker packs
    ``/opt/ml/model``; returns the tarball's MD5 (hex)."""
    with open(tarball, "wb") as fh:
        raw = _Digest(fh)
        with _gzip_writer(raw) as gz, tarfile.open(fileobj=gz, mode="w|") as tar:
            for path in sorted(directory.rglob("*")):
                tar.add(path, arcname=str(path.relative_to(directory)), recursive=False)
    return raw.md5.hexdigest()


def upload_file(local: Path, uri: str, *, config, objects, md5_hex: str | None = None) -> None:
    """``local`` to ``uri``. With ``md5_hex`` (the file's MD5, known to its writer) the caller
    gives the file up: kamado's own store moves it into place rather than copying it."""
    fs, path = filesystem(uri, config=config, objects=objects)
    if md5_hex is not None and isinstance(fs, KamadoObjectFileSystem):
        fs.adopt_file(Path(local), path, md5_hex)
    else:
        fs.put_file(str(local), path)


def upload_tree(directory: Path, uri: str, *, config, objects) -> None:
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        upload_file(path, join_uri(uri, str(path.relative_to(directory))), config=config,
                    objects=objects)


def bucket_exists(uri: str, *, config, objects) -> bool:
    fs, _ = filesystem(uri, config=config, objects=objects)
    bucket, _ = split_s3_uri(uri)
    return fs._bucket_exists(bucket)


class CheckpointSync:
    """``LocalPath`` <-> ``S3Uri``: everything in S3 is copied down at the start; while the job
    runs, files that appear or change locally are uploaded as they are (no tar) and files
    deleted locally are deleted in S3."""

    def __init__(self, local: Path, uri: str, *, config, objects) -> None:
        self.local, self.uri = local, uri.rstrip("/")
        self.config, self.objects = config, objects
        self.fs, self.path = filesystem(self.uri, config=config, objects=objects)
        self._seen: dict[str, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def restore(self) -> int:
        self.local.mkdir(parents=True, exist_ok=True)
        bucket, prefix = split_s3_uri(self.uri + "/")
        try:
            entries = self.fs.objects_under(bucket, prefix)
        except FileNotFoundError:
            entries = []
        for entry in entries:
            rel = entry["name"].split("/", 1)[1][len(prefix):]
            if not rel or rel.endswith("/"):
                continue
            dest = self.local / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(entry["name"], str(dest))
        self._seen = self._scan()
        return len(self._seen)

    def _scan(self) -> dict[str, tuple[int, int]]:
        found = {}
        for path in self.local.rglob("*"):
            if path.is_file():
                st = path.stat()
                found[str(path.relative_to(self.local))] = (st.st_size, st.st_mtime_ns)
        return found

    def sync(self) -> None:
        now = self._scan()
        for rel, sig in now.items():
            if self._seen.get(rel) != sig:
                try:
                    self.fs.put_file(str(self.local / rel), f"{self.path}/{rel}")
                except FileNotFoundError:
                    continue  # deleted between the scan and the upload; next pass sees it
        for rel in set(self._seen) - set(now):
            try:
                self.fs.rm_file(f"{self.path}/{rel}")
            except FileNotFoundError:
                pass
        self._seen = now

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True, name="checkpoints")
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(CHECKPOINT_SYNC_SECONDS):
            try:
                self.sync()
            except OSError:
                pass  # a file in the middle of being written; the next pass retries

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)
        self.sync()




def object_exists(uri: str, *, config, objects) -> bool:
    fs, path = filesystem(uri, config=config, objects=objects)
    try:
        return fs.isfile(path)
    except OSError:
        return False


def download_file(uri: str, local: Path, *, config, objects) -> None:
    fs, path = filesystem(uri, config=config, objects=objects)
    local.parent.mkdir(parents=True, exist_ok=True)
    fs.get_file(path, str(local))


def write_bytes(uri: str, data: bytes, *, config, objects) -> None:
    fs, path = filesystem(uri, config=config, objects=objects)
    fs.pipe_file(path, data)
