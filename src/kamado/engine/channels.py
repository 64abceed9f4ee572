"""Input channels: from their data sources to the job directory, in the channel's input mode.

``File`` and ``FastFile`` copy every object into ``input/data/<channel>/`` before training
(locally a copy — in the kernel, a reflink where the file system can — is as fast as a lazy
mount would be, and the program cannot change the stored objects through it; kamado's own
algorithms, which only read, get hard links to the local store's immutable blobs instead).
``Pipe`` streams the objects through a FIFO per epoch, ``<channel>_0``, ``<channel>_1``, …,
as SageMaker does. ``ShardedByS3Key`` gives each host
every n-th object by sorted key; ``ShuffleConfig`` orders them by a seeded shuffle.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import stat
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from kamado.errors import AwsError
from kamado.storage.fs import KamadoObjectFileSystem
from kamado.storage.uri import filesystem, is_s3, split_s3_uri

_RECORDIO_MAGIC = 0xCED7230A


class ChannelError(Exception):
    """A channel cannot be delivered; the message is the job's FailureReason."""


@dataclass(frozen=True)
class SourceObject:
    uri: str        # s3://bucket/key, or a local path
    relative: str   # its path inside the channel directory


def _s3_objects(fs, uri: str, region: str, role: str) -> list[SourceObject]:
    bucket, prefix = split_s3_uri(uri)
    try:
        entries = fs.objects_under(bucket, prefix)
    except FileNotFoundError:
        entries = []
    found = []
    for entry in entries:
        key = entry["name"].split("/", 1)[1]
        if key.endswith("/"):
            continue  # a "folder" marker object
        rel = key[len(prefix):].lstrip("/") or key.rsplit("/", 1)[-1]
        found.append(SourceObject(f"s3://{bucket}/{key}", rel))
    if not found:
        raise ChannelError(
            f'ClientError: Data download failed:No S3 objects found under S3 URL "{uri}" given '
            f"in input data source. Please ensure that the bucket exists in the selected region "
            f'({region}), that objects exist under that S3 prefix, and that the role "{role}" '
            f'has "s3:ListBucket" permissions on bucket "{bucket}".')
    return found


def _manifest_objects(fs, uri: str) -> list[SourceObject]:
    bucket, key = split_s3_uri(uri)
    try:
        with fs.open(f"{bucket}/{key}", "rb") as fh:
            manifest = json.loads(fh.read())
    except FileNotFoundError:
        raise ChannelError(f"ClientError: Data download failed:The manifest file {uri} does "
                           "not exist.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ChannelError(f"ClientError: The manifest file {uri} is not valid JSON: {exc}") from None
    if not (isinstance(manifest, list) and manifest and isinstance(manifest[0], dict)
            and isinstance(manifest[0].get("prefix"), str)):
        raise ChannelError(f'ClientError: The manifest file {uri} must be a JSON array whose '
                           'first element is {"prefix": "s3://bucket/prefix/"} followed by keys '
                           "relative to it.")
    prefix = manifest[0]["prefix"]
    if not is_s3(prefix):
        raise ChannelError(f"ClientError: The manifest file {uri} has prefix {prefix!r}, "
                           "which is not an s3:// URI.")
    return [SourceObject(prefix + rel if prefix.endswith("/") or not rel else f"{prefix}/{rel}",
                         rel) for rel in manifest[1:] if isinstance(rel, str)]


def list_channel(channel: dict, *, config, objects, region: str, role: str, host_index: int,
                 host_count: int) -> list[SourceObject]:
    """The objects one host receives for ``channel`` (a member of InputDataConfig)."""
    source = channel.get("DataSource") or {}
    name = channel["ChannelName"]
    if "FileSystemDataSource" in source:
        # EFS/FSx do not exist here; their DirectoryPath names a directory on this machine.
        directory = Path(source["FileSystemDataSource"]["DirectoryPath"])
        if not directory.is_dir():
            raise ChannelError(f"ClientError: Channel {name}: the directory {directory} of its "
                               "FileSystemDataSource does not exist on this machine.")
        return [SourceObject(str(p), str(p.relative_to(directory)))
                for p in sorted(directory.rglob("*")) if p.is_file()]
    s3 = source.get("S3DataSource")
    if not s3:
        raise ChannelError(f"ClientError: Channel {name} has no S3DataSource or "
                           "FileSystemDataSource; kamado cannot deliver it.")
    uri, kind = s3["S3Uri"], s3.get("S3DataType", "S3Prefix")
    fs, _ = filesystem(uri, config=config, objects=objects)
    if kind == "S3Prefix":
        found = _s3_objects(fs, uri, region, role)
    elif kind == "ManifestFile":
        found = _manifest_objects(fs, uri)
    else:
        raise ChannelError(f"ClientError: Channel {name}: S3DataType {kind} is not supported "
                           "by kamado yet (S3Prefix and ManifestFile are).")
    found.sort(key=lambda o: o.uri)
    if s3.get("S3DataDistributionType") == "ShardedByS3Key" and host_count > 1:
        found = found[host_index::host_count]
    seed = (channel.get("ShuffleConfig") or {}).get("Seed")
    if seed is not None:
        random.Random(seed).shuffle(found)
    return found


def _open_source(obj: SourceObject, config, objects):
    if is_s3(obj.uri):
        fs, path = filesystem(obj.uri, config=config, objects=objects)
        return fs.open(path, "rb")
    return open(obj.uri, "rb")


def _plain(fh, gzipped: bool):
    return gzip.GzipFile(fileobj=fh) if gzipped else fh


def _copy_in_kernel(src, out) -> bool:
    """Copy one local file to another without passing the bytes through Python (a reflink,
    i.e. no copy at all, on file systems that share extents); False when either is not a
    plain file or the system cannot, before anything is written."""
    try:
        fd_in, fd_out = src.fileno(), out.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    if not hasattr(os, "copy_file_range"):
        return False
    size, done = os.fstat(fd_in).st_size, 0
    try:
        while done < size:
            n = os.copy_file_range(fd_in, fd_out, size - done)
            if n == 0:
                break
            done += n
    except OSError:
        if done:
            raise
        return False
    return True


def _link_blob(obj: SourceObject, dest: Path, config, objects) -> bool:
    """A second name for a stored object's bytes in the job's directory, where the object is in
    kamado's own store on the same file system: its blobs are never rewritten, so the link is
    as much a snapshot as a copy would be — for a program that only reads its input."""
    if not is_s3(obj.uri):
        return False
    fs, path = filesystem(obj.uri, config=config, objects=objects)
    if not isinstance(fs, KamadoObjectFileSystem):
        return False  # another S3: its objects are streams, not files here
    try:
        os.link(fs.objects.get_object(*fs.split_path(path)).path, dest)
    except (AwsError, OSError):
        return False  # gone, another file system, no links: the copy says why or copies
    return True


def download(channel: dict, items: list[SourceObject], target: Path, *, config, objects,
             link: bool = False) -> int:
    """File/FastFile mode: copy each object under ``target``; returns the bytes written.
    ``link``: the program only reads its channels (kamado's own algorithms), so objects of
    the local store are linked rather than copied."""
    target.mkdir(parents=True, exist_ok=True)
    gzipped = channel.get("CompressionType") == "Gzip"
    written = 0
    root = target.resolve()
    for obj in items:
        rel = obj.relative[:-3] if gzipped and obj.relative.endswith(".gz") else obj.relative
        dest = (target / rel).resolve()
        if root not in dest.parents:
            raise ChannelError(f"ClientError: Channel {channel['ChannelName']}: the object "
                               f"{obj.uri} would land outside the channel directory.")
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            if not (link and not gzipped and _link_blob(obj, dest, config, objects)):
                with _open_source(obj, config, objects) as src, open(dest, "wb") as out:
                    if gzipped or not _copy_in_kernel(src, out):
                        shutil.copyfileobj(_plain(src, gzipped), out, 4 * 1024 * 1024)
        except FileNotFoundError:
            raise ChannelError(f"ClientError: Data download failed: {obj.uri} does not "
                               "exist.") from None
        except (OSError, EOFError) as exc:
            raise ChannelError(f"ClientError: Data download failed for {obj.uri}: {exc}") from None
        written += dest.stat().st_size
    return written


def _recordio_frame(payload: bytes) -> bytes:
    pad = (4 - len(payload) % 4) % 4
    return struct.pack("<II", _RECORDIO_MAGIC, len(payload)) + payload + b"\0" * pad


class PipeFeeder:
    """Pipe mode: serve the channel's objects through ``<channel>_<epoch>`` FIFOs, one epoch
    after another, until the job ends."""

    def __init__(self, channel: dict, items: list[SourceObject], data_dir: Path, *, config,
                 objects) -> None:
        self.channel, self.items, self.data_dir = channel, items, data_dir
        self.config, self.objects = config, objects
        self._stop = threading.Event()
        self.error: str | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True,
                                        name=f"pipe-{channel['ChannelName']}")

    def fifo(self, epoch: int) -> Path:
        return self.data_dir / f"{self.channel['ChannelName']}_{epoch}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.mkfifo(self.fifo(0))
        self._thread.start()

    def _open_writer(self, path: Path):
        # Non-blocking open fails with ENXIO until a reader opens the FIFO; polling lets a
        # stop end the wait.
        while not self._stop.is_set():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.02)
                continue
            os.set_blocking(fd, True)
            return os.fdopen(fd, "wb", buffering=1024 * 1024)
        return None

    def _serve(self) -> None:
        gzipped = self.channel.get("CompressionType") == "Gzip"
        recordio = self.channel.get("RecordWrapperType") == "RecordIO"
        seed = (self.channel.get("ShuffleConfig") or {}).get("Seed")
        epoch = 0
        while not self._stop.is_set():
            out = self._open_writer(self.fifo(epoch))
            if out is None:
                return
            order = list(self.items)
            if seed is not None and epoch:
                random.Random(seed + epoch).shuffle(order)
            try:
                for obj in order:
                    with _open_source(obj, self.config, self.objects) as src:
                        fh = _plain(src, gzipped)
                        if recordio:
                            out.write(_recordio_frame(fh.read()))
                        else:
                            shutil.copyfileobj(fh, out, 1024 * 1024)
                out.flush()
            except BrokenPipeError:
                pass  # the reader closed early, which Pipe mode allows
            except OSError as exc:
                self.error = f"ClientError: Pipe mode streaming of {self.channel['ChannelName']} failed: {exc}"
            epoch += 1
            # The next epoch's FIFO exists before this one ends, so a reader that goes on to
            # it at end of file finds it.
            if not self._stop.is_set():
                os.mkfifo(self.fifo(epoch))
            try:
                out.close()
            except BrokenPipeError:
                pass
            self._remove(self.fifo(epoch - 1))

    @staticmethod
    def _remove(path: Path) -> None:
        try:
            if stat.S_ISFIFO(path.lstat().st_mode):
                path.unlink()
        except FileNotFoundError:
            pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
