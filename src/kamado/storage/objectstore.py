"""The built-in S3-compatible object store, as plain Python (no HTTP).

Metadata lives in a SQLite index under the root (``index.db``), bytes in immutable blob files
named by random ids (``blobs/``). Every write follows one order — bytes to ``tmp/``, fsync,
rename into ``blobs/``, then commit the index row, then delete the blob it replaced — so a
crash at any point leaves either the old object or the new one visible, never half of one.
What a crash can leave behind (files in ``tmp/``, blobs no row names) is swept when the store
is next opened by a process that has it to itself.

The S3 provider and the platform's own code (``kamado.storage.uri``) both use this class; it is
thread-safe. Errors are ``AwsError``s with S3's codes.
"""

from __future__ import annotations

import binascii
import fcntl
import hashlib
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from kamado.errors import AwsError, InternalFailure
from kamado.gateway.http import FileRange, Payload
from kamado.storage import checksums as cks
from kamado.storage import s3errors
from kamado.storage.blobs import Blobs, Written, concat, read_range
from kamado.storage.index import Index
from kamado.storage.listing import page, walk
from kamado.storage.names import after_prefix, check_bucket_name, key_bytes

log = logging.getLogger("kamado.storage")

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_NUMBER = 10000
DEFAULT_CONTENT_TYPE = "binary/octet-stream"

Source = Payload | bytes | bytearray | memoryview | FileRange | None


# --- what the store hands out ------------------------------------------------------------------

@dataclass
class BucketInfo:
    name: str
    region: str
    created: datetime
    owner: str | None = None


@dataclass
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str                       # quoted, as S3 sends it: '"<md5 hex>"' or '"<hex>-N"'
    last_modified: datetime         # whole seconds, UTC
    content_type: str
    metadata: dict[str, str]
    headers: dict                   # CacheControl, ContentDisposition, …, Expires (datetime)
    checksums: dict[str, str]       # algorithm -> base64 (multipart composites end in -N)
    checksum_type: str | None
    part_sizes: list[int] | None    # a multipart object's part sizes, in order
    blob_id: str
    path: Path

    @property
    def parts_count(self) -> int | None:
        return len(self.part_sizes) if self.part_sizes else None


@dataclass
class UploadInfo:
    upload_id: str
    bucket: str
    key: str
    initiated: datetime
    content_type: str
    metadata: dict[str, str]
    headers: dict
    checksum_algorithm: str | None
    checksum_type: str | None


@dataclass
class PartInfo:
    part_number: int
    size: int
    etag: str
    last_modified: datetime
    checksums: dict[str, str]
    blob_id: str
    path: Path


@dataclass
class CompletedPart:
    """One entry of a CompleteMultipartUpload request's part list."""

    part_number: int
    etag: str
    checksums: dict[str, str] = field(default_factory=dict)


@dataclass
class ObjectList:
    objects: list[ObjectInfo]
    prefixes: list[str]
    truncated: bool
    last: str | None                # the last key or prefix listed: where the next page resumes


@dataclass
class UploadList:
    uploads: list[UploadInfo]
    prefixes: list[str]
    truncated: bool
    next_key_marker: str | None
    next_upload_id_marker: str | None


# --- encoding rows -----------------------------------------------------------------------------

def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def _dump_headers(headers: dict | None) -> str:
    out = {}
    for k, v in (headers or {}).items():
        if v is None:
            continue
        out[k] = {"t": v.timestamp()} if isinstance(v, datetime) else v
    return json.dumps(out, sort_keys=True)


def _load_headers(text: str | None) -> dict:
    out = {}
    for k, v in json.loads(text or "{}").items():
        out[k] = _utc(v["t"]) if isinstance(v, dict) else v
    return out


def _unquote(etag: str) -> str:
    etag = etag.strip()
    if etag.startswith("W/"):
        etag = etag[2:]
    return etag.strip('"')


_OBJECT_COLUMNS = ("key, blob, size, etag, modified, content_type, metadata, headers, checksums, "
                   "checksum_type, part_sizes")
_UPLOAD_COLUMNS = ("upload_id, bucket, key, initiated, content_type, metadata, headers, "
                   "checksum_algorithm, checksum_type")
_PART_COLUMNS = "part_number, size, etag, modified, checksums, blob"


class ObjectStore:
    MIN_PART_SIZE = MIN_PART_SIZE

    def __init__(self, root: Path, fsync: bool = True) -> None:
        self.root = Path(root).absolute()  # blob paths stay valid whatever the cwd
        self.root.mkdir(parents=True, exist_ok=True)
        self.blobs = Blobs(self.root, fsync=fsync)
        self.index = Index(self.root / "index.db", fsync=fsync)
        # (tmp files, orphan blobs) removed at open, for logs and tests.
        self.swept = (0, 0)
        self._lock_file = open(self.root / "lock", "a+")
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass  # another process has the store open: its in-flight files are not orphans
        else:
            self.swept = self._sweep()
        # Held shared for as long as we are open, so no later opener sweeps our files.
        fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_SH)

    def close(self) -> None:
        self.index.close()
        self._lock_file.close()

    def __enter__(self) -> "ObjectStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _sweep(self) -> tuple[int, int]:
        tmp_removed = self.blobs.clear_tmp()
        named = {r[0] for r in self.index.read(
            "SELECT blob FROM objects UNION SELECT blob FROM parts")}
        orphans = [b for b in self.blobs.ids() if b not in named]
        for blob_id in orphans:
            self.blobs.remove(blob_id)
        if tmp_removed or orphans:
            log.info("object store: swept %d temporary files and %d orphan blobs",
                     tmp_removed, len(orphans))
        return tmp_removed, len(orphans)

    # --- buckets ------------------------------------------------------------------------------
    def create_bucket(self, name: str, region: str = "us-east-1",
                      owner: str | None = None) -> BucketInfo:
        check_bucket_name(name)
        now = int(time.time())
        with self.index.transaction() as cur:
            row = cur.execute("SELECT owner FROM buckets WHERE name = ?", (name,)).fetchone()
            if row is not None:
                if row[0] is None or owner is None or row[0] == owner:
                    raise s3errors.bucket_owned_by_you(name)
                raise s3errors.bucket_exists(name)
            cur.execute("INSERT INTO buckets (name, region, owner, created) VALUES (?, ?, ?, ?)",
                        (name, region, owner, now))
        return BucketInfo(name, region, _utc(now), owner)

    def head_bucket(self, name: str) -> BucketInfo:
        row = self.index.one("SELECT name, region, created, owner FROM buckets WHERE name = ?",
                             (name,))
        if row is None:
            raise s3errors.no_such_bucket(name)
        return BucketInfo(row[0], row[1], _utc(row[2]), row[3])

    def delete_bucket(self, name: str) -> None:
        with self.index.transaction() as cur:
            if cur.execute("SELECT 1 FROM buckets WHERE name = ?", (name,)).fetchone() is None:
                raise s3errors.no_such_bucket(name)
            if (cur.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (name,)).fetchone()
                    or cur.execute("SELECT 1 FROM uploads WHERE bucket = ? LIMIT 1",
                                   (name,)).fetchone()):
                raise s3errors.bucket_not_empty(name)
            cur.execute("DELETE FROM buckets WHERE name = ?", (name,))

    def list_buckets(self, prefix: str = "", start_after: str = "", limit: int | None = None,
                     region: str | None = None) -> tuple[list[BucketInfo], bool]:
        """Buckets in name order after ``start_after``; the flag says whether more follow."""
        sql = "SELECT name, region, created, owner FROM buckets WHERE name > ?"
        params: list = [start_after]
        if region:
            sql += " AND region = ?"
            params.append(region)
        rows = [r for r in self.index.read(sql + " ORDER BY name", params)
                if r[0].startswith(prefix)]
        truncated = limit is not None and len(rows) > limit
        rows = rows[:limit] if limit is not None else rows
        return [BucketInfo(r[0], r[1], _utc(r[2]), r[3]) for r in rows], truncated

    def _require_bucket(self, name: str, cur=None) -> None:
        sql, params = "SELECT 1 FROM buckets WHERE name = ?", (name,)
        row = (cur.execute(sql, params).fetchone() if cur is not None
               else self.index.one(sql, params))
        if row is None:
            raise s3errors.no_such_bucket(name)

    # --- bytes in -----------------------------------------------------------------------------
    def _ingest(self, source: Source) -> Written:
        if isinstance(source, Payload):
            try:
                size = source.path.stat().st_size
                if size != source.size:
                    raise s3errors.incomplete_body()
                return Written(self.blobs.adopt(source.path), source.size, source.md5_hex)
            except FileNotFoundError:
                raise s3errors.incomplete_body() from None
        if isinstance(source, FileRange):
            written = self.blobs.write(read_range(source.path, source.start, source.length))
            if source.length is not None and written.size != source.length:
                self.blobs.remove(written.blob_id)
                raise s3errors.incomplete_body()
            return written
        if source is None:
            return self.blobs.write([])
        if isinstance(source, (bytes, bytearray, memoryview)):
            return self.blobs.write([bytes(source)])
        raise TypeError(f"cannot store a {type(source).__name__} as an object")

    # --- objects ------------------------------------------------------------------------------
    def put_object(self, bucket: str, key: str, source: Source, *,
                   content_type: str | None = None, metadata: dict | None = None,
                   headers: dict | None = None, checksums: dict | None = None,
                   checksum_type: str | None = None, if_match: str | None = None,
                   if_none_match: str | None = None) -> ObjectInfo:
        """Store an object; a Payload's file is moved into place, not copied.

        ``if_match`` / ``if_none_match`` make the write conditional on the current object,
        checked in the same transaction that replaces it.
        """
        key_bytes(key)  # refuses an over-long key before any bytes move
        self._require_bucket(bucket)
        written = self._ingest(source)
        info = ObjectInfo(
            bucket=bucket, key=key, size=written.size, etag=f'"{written.md5_hex}"',
            last_modified=_utc(int(time.time())), content_type=content_type or DEFAULT_CONTENT_TYPE,
            metadata=dict(metadata or {}), headers=dict(headers or {}),
            checksums=dict(checksums or {}), checksum_type=checksum_type if checksums else None,
            part_sizes=None, blob_id=written.blob_id, path=self.blobs.path(written.blob_id))
        return self._commit_new(info, if_match, if_none_match)

    def _commit_new(self, info: ObjectInfo, if_match: str | None = None,
                    if_none_match: str | None = None,
                    also: Callable | None = None) -> ObjectInfo:
        """Make a blob already in ``blobs/`` the object's current version, or delete it."""
        try:
            replaced = self._commit_object(info, if_match, if_none_match, also)
        except BaseException:
            self.blobs.remove(info.blob_id)
            raise
        for blob_id in replaced:
            self.blobs.remove(blob_id)
        return info

    def _commit_object(self, info: ObjectInfo, if_match, if_none_match, also) -> list[str]:
        """The index half of a write. Returns the blobs that are no longer named."""
        kb = info.key.encode("utf-8")
        with self.index.transaction() as cur:
            self._require_bucket(info.bucket, cur)
            old = cur.execute("SELECT blob, etag FROM objects WHERE bucket = ? AND key = ?",
                              (info.bucket, kb)).fetchone()
            _check_write_conditions(info.key, old[1] if old else None, if_match, if_none_match)
            released = also(cur) if also is not None else []
            cur.execute(
                f"INSERT OR REPLACE INTO objects (bucket, {_OBJECT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (info.bucket, kb, info.blob_id, info.size, info.etag,
                 int(info.last_modified.timestamp()), info.content_type,
                 json.dumps(info.metadata, sort_keys=True), _dump_headers(info.headers),
                 json.dumps(info.checksums, sort_keys=True), info.checksum_type,
                 json.dumps(info.part_sizes) if info.part_sizes else None))
        return ([old[0]] if old else []) + list(released)

    def _object_from_row(self, bucket: str, row) -> ObjectInfo:
        (kb, blob_id, size, etag, modified, content_type, metadata, headers, checksums,
         checksum_type, part_sizes) = row
        return ObjectInfo(
            bucket=bucket, key=bytes(kb).decode("utf-8"), size=size, etag=etag,
            last_modified=_utc(modified), content_type=content_type or DEFAULT_CONTENT_TYPE,
            metadata=json.loads(metadata), headers=_load_headers(headers),
            checksums=json.loads(checksums), checksum_type=checksum_type,
            part_sizes=json.loads(part_sizes) if part_sizes else None,
            blob_id=blob_id, path=self.blobs.path(blob_id))

    def get_object(self, bucket: str, key: str) -> ObjectInfo:
        """The object's metadata and the path of its bytes (open it to read them)."""
        kb = key_bytes(key)
        row = self.index.one(f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key = ?",
                             (bucket, kb))
        if row is None:
            self._require_bucket(bucket)
            raise s3errors.no_such_key(key)
        return self._object_from_row(bucket, row)

    head_object = get_object

    def read_object(self, bucket: str, key: str, start: int = 0,
                    length: int | None = None) -> bytes:
        """The object's bytes, for callers that want them in memory."""
        for _ in range(_RETRIES):
            info = self.get_object(bucket, key)
            try:
                return b"".join(read_range(info.path, start, length))
            except FileNotFoundError:
                continue  # replaced between the lookup and the open: look again
        raise InternalFailure(f"the object {key!r} kept changing while being read")

    def delete_object(self, bucket: str, key: str) -> bool:
        """Delete if present (deleting a missing key is fine, as on S3). True if it existed."""
        kb = key_bytes(key)
        with self.index.transaction() as cur:
            self._require_bucket(bucket, cur)
            row = cur.execute("SELECT blob FROM objects WHERE bucket = ? AND key = ?",
                              (bucket, kb)).fetchone()
            if row is not None:
                cur.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, kb))
        if row is not None:
            self.blobs.remove(row[0])
        return row is not None

    def delete_objects(self, bucket: str, keys: list[str]) -> list[tuple[str, AwsError | None]]:
        """Delete many keys in one transaction; a key that cannot be deleted gets its error."""
        results: list[tuple[str, AwsError | None]] = []
        released: list[str] = []
        with self.index.transaction() as cur:
            self._require_bucket(bucket, cur)
            for key in keys:
                try:
                    kb = key_bytes(key)
                except AwsError as exc:
                    results.append((key, exc))
                    continue
                row = cur.execute("SELECT blob FROM objects WHERE bucket = ? AND key = ?",
                                  (bucket, kb)).fetchone()
                if row is not None:
                    cur.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, kb))
                    released.append(row[0])
                results.append((key, None))
        for blob_id in released:
            self.blobs.remove(blob_id)
        return results

    def _with_source(self, bucket: str, key: str, check: Callable | None, action: Callable):
        """Run ``action(source_info)``, looking the source up again if it is replaced meanwhile."""
        for _ in range(_RETRIES):
            src = self.get_object(bucket, key)
            if check is not None:
                check(src)
            try:
                return src, action(src)
            except FileNotFoundError:
                continue
        raise InternalFailure(f"the source object {key!r} kept changing while being copied")

    def copy_object(self, src_bucket: str, src_key: str, bucket: str, key: str, *,
                    replace_metadata: bool = False, content_type: str | None = None,
                    metadata: dict | None = None, headers: dict | None = None,
                    check: Callable[[ObjectInfo], None] | None = None,
                    header_overrides: dict | None = None,
                    if_match: str | None = None, if_none_match: str | None = None) -> ObjectInfo:
        """Copy an object; its bytes are shared (a hard link), never rewritten.

        ``check(source)`` runs on the exact version being copied (x-amz-copy-source-if-*).
        Without ``replace_metadata`` the source's content type, metadata and headers go along;
        ``header_overrides`` (a new storage class, say) apply either way.
        """
        key_bytes(key)
        self._require_bucket(bucket)
        src, blob_id = self._with_source(src_bucket, src_key, check,
                                         lambda s: self.blobs.link(s.blob_id))
        if replace_metadata:
            content_type, metadata, headers = (content_type or DEFAULT_CONTENT_TYPE,
                                               dict(metadata or {}), dict(headers or {}))
        else:
            content_type, metadata, headers = src.content_type, src.metadata, dict(src.headers)
        headers.update(header_overrides or {})
        info = ObjectInfo(
            bucket=bucket, key=key, size=src.size, etag=src.etag,
            last_modified=_utc(int(time.time())), content_type=content_type, metadata=metadata,
            headers=headers, checksums=dict(src.checksums), checksum_type=src.checksum_type,
            part_sizes=src.part_sizes, blob_id=blob_id, path=self.blobs.path(blob_id))
        return self._commit_new(info, if_match, if_none_match)

    def list_objects(self, bucket: str, prefix: str = "", delimiter: str = "",
                     max_keys: int = 1000, marker: str | None = None) -> ObjectList:
        """One page of keys in UTF-8 byte order after ``marker`` (a key or common prefix)."""
        self._require_bucket(bucket)
        sql = f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key >= ?"

        def fetch(lower: bytes, upper: bytes | None, limit: int) -> list:
            if upper is None:
                return self.index.read(sql + " ORDER BY key LIMIT ?", (bucket, lower, limit))
            return self.index.read(sql + " AND key < ? ORDER BY key LIMIT ?",
                                   (bucket, lower, upper, limit))

        items, truncated = page(
            walk(fetch, prefix.encode("utf-8"), delimiter.encode("utf-8"),
                 marker.encode("utf-8") if marker is not None else None,
                 batch=max(2, min(max_keys + 1, 1000))),
            max_keys)
        objects, prefixes, last = [], [], None
        for kind, value in items:
            if kind == "key":
                objects.append(self._object_from_row(bucket, value))
                last = objects[-1].key
            else:
                prefixes.append(value.decode("utf-8"))
                last = prefixes[-1]
        return ObjectList(objects, prefixes, truncated, last)

    # --- multipart uploads --------------------------------------------------------------------
    def create_upload(self, bucket: str, key: str, *, content_type: str | None = None,
                      metadata: dict | None = None, headers: dict | None = None,
                      checksum_algorithm: str | None = None,
                      checksum_type: str | None = None) -> UploadInfo:
        kb = key_bytes(key)
        upload_id = secrets.token_urlsafe(48)
        now = time.time()
        with self.index.transaction() as cur:
            self._require_bucket(bucket, cur)
            cur.execute(f"INSERT INTO uploads ({_UPLOAD_COLUMNS}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (upload_id, bucket, kb, now, content_type or DEFAULT_CONTENT_TYPE,
                         json.dumps(metadata or {}, sort_keys=True), _dump_headers(headers),
                         checksum_algorithm, checksum_type))
        return self.get_upload(bucket, key, upload_id)

    def _upload_from_row(self, row) -> UploadInfo:
        (upload_id, bucket, kb, initiated, content_type, metadata, headers, algorithm,
         checksum_type) = row
        return UploadInfo(upload_id, bucket, bytes(kb).decode("utf-8"), _utc(initiated),
                          content_type, json.loads(metadata), _load_headers(headers), algorithm,
                          checksum_type)

    def get_upload(self, bucket: str, key: str, upload_id: str, cur=None) -> UploadInfo:
        kb = key_bytes(key)
        sql = (f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE upload_id = ? AND bucket = ? "
               "AND key = ?")
        params = (upload_id, bucket, kb)
        row = (cur.execute(sql, params).fetchone() if cur is not None
               else self.index.one(sql, params))
        if row is None:
            self._require_bucket(bucket, cur)
            raise s3errors.no_such_upload(upload_id)
        return self._upload_from_row(row)

    def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int,
                    source: Source, checksums: dict | None = None) -> PartInfo:
        """Store one part; uploading the same part number again replaces it."""
        _check_part_number(part_number)
        self.get_upload(bucket, key, upload_id)
        return self._commit_part(bucket, key, upload_id, part_number, self._ingest(source),
                                 checksums)

    def copy_part(self, bucket: str, key: str, upload_id: str, part_number: int,
                  src_bucket: str, src_key: str, byte_range: Callable[[ObjectInfo], tuple],
                  check: Callable[[ObjectInfo], None] | None = None,
                  checksum_algorithms=()) -> tuple[PartInfo, ObjectInfo]:
        """A part copied from (a range of) another object: UploadPartCopy.

        ``byte_range(source) -> (start, length)`` is asked of the exact version copied.
        """
        _check_part_number(part_number)
        self.get_upload(bucket, key, upload_id)

        def write(src: ObjectInfo) -> tuple[Written, dict]:
            start, length = byte_range(src)
            digests = {a: cks.hasher(a) for a in checksum_algorithms}
            written = self.blobs.write(read_range(src.path, start, length), digests)
            if written.size != length:  # the file ended early: it was replaced under us
                self.blobs.remove(written.blob_id)
                raise FileNotFoundError(src.path)
            return written, {a: cks.encode(h.digest()) for a, h in digests.items()}

        src, (written, sums) = self._with_source(src_bucket, src_key, check, write)
        return self._commit_part(bucket, key, upload_id, part_number, written, sums), src

    def _commit_part(self, bucket, key, upload_id, part_number, written: Written,
                     checksums) -> PartInfo:
        now = int(time.time())
        etag = f'"{written.md5_hex}"'
        try:
            with self.index.transaction() as cur:
                self.get_upload(bucket, key, upload_id, cur)
                old = cur.execute("SELECT blob FROM parts WHERE upload_id = ? AND part_number = ?",
                                  (upload_id, part_number)).fetchone()
                cur.execute(f"INSERT OR REPLACE INTO parts (upload_id, {_PART_COLUMNS}) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (upload_id, part_number, written.size, etag, now,
                             json.dumps(checksums or {}, sort_keys=True), written.blob_id))
        except BaseException:
            self.blobs.remove(written.blob_id)
            raise
        if old is not None:
            self.blobs.remove(old[0])
        return PartInfo(part_number, written.size, etag, _utc(now), dict(checksums or {}),
                        written.blob_id, self.blobs.path(written.blob_id))

    def _part_from_row(self, row) -> PartInfo:
        number, size, etag, modified, checksums, blob_id = row
        return PartInfo(number, size, etag, _utc(modified), json.loads(checksums), blob_id,
                        self.blobs.path(blob_id))

    def list_parts(self, bucket: str, key: str, upload_id: str, marker: int = 0,
                   max_parts: int = 1000) -> tuple[UploadInfo, list[PartInfo], bool]:
        upload = self.get_upload(bucket, key, upload_id)
        rows = self.index.read(f"SELECT {_PART_COLUMNS} FROM parts WHERE upload_id = ? AND "
                               "part_number > ? ORDER BY part_number LIMIT ?",
                               (upload_id, marker, max_parts + 1))
        parts = [self._part_from_row(r) for r in rows]
        return upload, parts[:max_parts], len(parts) > max_parts

    def complete_upload(self, bucket: str, key: str, upload_id: str, parts: list[CompletedPart],
                        *, expected_checksums: dict | None = None, if_match: str | None = None,
                        if_none_match: str | None = None) -> ObjectInfo:
        """Join the listed parts into the object; the upload and all its parts then go away.

        The ETag is S3's: the MD5 of the parts' binary MD5s, then ``-N``. With a checksum
        algorithm the object's checksum is the COMPOSITE of the parts' (also ``-N``) or, for
        FULL_OBJECT, the checksum of all the bytes.
        """
        upload = self.get_upload(bucket, key, upload_id)
        if not parts:
            raise s3errors.malformed_xml()
        numbers = [p.part_number for p in parts]
        if any(b <= a for a, b in zip(numbers, numbers[1:])):
            raise s3errors.invalid_part_order()
        stored = {p.part_number: p for p in self.list_parts(bucket, key, upload_id,
                                                            max_parts=MAX_PART_NUMBER)[1]}
        algorithm = upload.checksum_algorithm
        chosen: list[PartInfo] = []
        for want in parts:
            have = stored.get(want.part_number)
            if have is None or _unquote(want.etag) != _unquote(have.etag):
                raise s3errors.invalid_part(PartNumber=str(want.part_number),
                                            ETag=_unquote(want.etag))
            claimed = want.checksums.get(algorithm) if algorithm else None
            if claimed and have.checksums.get(algorithm) not in (None, claimed):
                raise s3errors.invalid_part(
                    f"The {algorithm} checksum of part {want.part_number} does not match the "
                    "one it was uploaded with.", PartNumber=str(want.part_number))
            chosen.append(have)
        for p in chosen[:-1]:
            if p.size < self.MIN_PART_SIZE:
                raise s3errors.entity_too_small(p.part_number, p.size, self.MIN_PART_SIZE)

        md5s = b"".join(binascii.unhexlify(_unquote(p.etag)) for p in chosen)
        etag = f'"{hashlib.md5(md5s).hexdigest()}-{len(chosen)}"'
        full = algorithm if algorithm and upload.checksum_type == "FULL_OBJECT" else None
        digests = {full: cks.hasher(full)} if full else {}
        written = self.blobs.write(concat([p.path for p in chosen]), digests)
        try:
            sums: dict[str, str] = {}
            if full:
                sums[full] = cks.encode(digests[full].digest())
            elif algorithm:
                part_sums = [p.checksums.get(algorithm)
                             or cks.of_file(p.path, [algorithm])[algorithm] for p in chosen]
                sums[algorithm] = cks.composite(algorithm, part_sums)
            for alg, value in (expected_checksums or {}).items():
                if alg in sums and value.split("-")[0] != sums[alg].split("-")[0]:
                    raise cks.mismatch(alg)
        except BaseException:
            self.blobs.remove(written.blob_id)
            raise

        def finish_upload(cur) -> list[str]:
            self.get_upload(bucket, key, upload_id, cur)  # still there: not aborted meanwhile
            blobs = [r[0] for r in cur.execute("SELECT blob FROM parts WHERE upload_id = ?",
                                               (upload_id,))]
            cur.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
            cur.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
            return blobs

        info = ObjectInfo(
            bucket=bucket, key=key, size=written.size, etag=etag,
            last_modified=_utc(int(time.time())), content_type=upload.content_type,
            metadata=upload.metadata, headers=upload.headers, checksums=sums,
            checksum_type=(upload.checksum_type or "COMPOSITE") if algorithm else None,
            part_sizes=[p.size for p in chosen], blob_id=written.blob_id,
            path=self.blobs.path(written.blob_id))
        return self._commit_new(info, if_match, if_none_match, also=finish_upload)

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        with self.index.transaction() as cur:
            self.get_upload(bucket, key, upload_id, cur)
            blobs = [r[0] for r in cur.execute("SELECT blob FROM parts WHERE upload_id = ?",
                                               (upload_id,))]
            cur.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
            cur.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
        for blob_id in blobs:
            self.blobs.remove(blob_id)

    def list_uploads(self, bucket: str, prefix: str = "", delimiter: str = "",
                     key_marker: str = "", upload_id_marker: str = "",
                     max_uploads: int = 1000) -> UploadList:
        """In-progress uploads by key (UTF-8 byte order), then by when they began."""
        self._require_bucket(bucket)
        pb, db = prefix.encode("utf-8"), delimiter.encode("utf-8")
        upper = after_prefix(pb)
        sql = f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE bucket = ? AND key >= ?"
        params: list = [bucket, pb]
        if upper is not None:
            sql += " AND key < ?"
            params.append(upper)
        rows = self.index.read(sql + " ORDER BY key, initiated, upload_id", params)
        km = key_marker.encode("utf-8") if key_marker else None
        after_id = False
        if km is not None and upload_id_marker:
            after_id = any(bytes(r[2]) == km and r[0] == upload_id_marker for r in rows)
        items: list[tuple[str, object]] = []
        seen_marker_upload = False
        last_common = None
        for row in rows:
            kb = bytes(row[2])
            if km is not None:
                if kb < km:
                    continue
                if kb == km:
                    if not after_id:
                        continue
                    if not seen_marker_upload:
                        seen_marker_upload = row[0] == upload_id_marker
                        continue
            if db:
                at = kb.find(db, len(pb))
                if at >= 0:
                    common = kb[:at + len(db)]
                    if common != last_common and common != km:
                        items.append(("prefix", common))
                    last_common = common
                    continue
            items.append(("upload", row))
        chosen, truncated = page(iter(items), max_uploads)
        uploads, prefixes = [], []
        next_key = next_id = None
        for kind, value in chosen:
            if kind == "upload":
                uploads.append(self._upload_from_row(value))
                next_key, next_id = uploads[-1].key, uploads[-1].upload_id
            else:
                prefixes.append(value.decode("utf-8"))
                next_key, next_id = prefixes[-1], None
        return UploadList(uploads, prefixes, truncated, next_key, next_id)


_RETRIES = 8


def _check_part_number(number: int) -> None:
    if not isinstance(number, int) or not 1 <= number <= MAX_PART_NUMBER:
        raise s3errors.invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive", "partNumber",
            str(number))


def _check_write_conditions(key: str, current_etag: str | None, if_match: str | None,
                            if_none_match: str | None) -> None:
    """Conditional writes (PutObject / CompleteMultipartUpload If-Match, If-None-Match)."""
    if if_none_match is not None and current_etag is not None:
        if if_none_match.strip() == "*" or _unquote(if_none_match) == _unquote(current_etag):
            raise s3errors.precondition_failed("If-None-Match")
    if if_match is not None:
        if current_etag is None:
            raise s3errors.no_such_key(key)
        if if_match.strip() != "*" and _unquote(if_match) != _unquote(current_etag):
            raise s3errors.precondition_failed("If-Match")
