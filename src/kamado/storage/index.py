"""The object store's metadata index: one SQLite file under the store's root.

It is kept apart from the platform's main database on purpose: the blobs are local files, so
their index lives (and is backed up, moved, deleted) with them. Keys are stored as their UTF-8
bytes in BLOB columns, so SQLite's ordering is S3's: UTF-8 byte order.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    owner TEXT,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    modified INTEGER NOT NULL,
    content_type TEXT,
    metadata TEXT NOT NULL,
    headers TEXT NOT NULL,
    checksums TEXT NOT NULL,
    checksum_type TEXT,
    part_sizes TEXT,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    initiated REAL NOT NULL,
    content_type TEXT,
    metadata TEXT NOT NULL,
    headers TEXT NOT NULL,
    checksum_algorithm TEXT,
    checksum_type TEXT
);
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket, key, initiated);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    modified INTEGER NOT NULL,
    checksums TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
"""


class Index:
    """One connection shared by every thread, serialized by a lock.

    The statements are short (the bytes move outside the lock), so one connection is simpler
    than a pool and loses nothing. Other processes may open the same file: WAL lets them read
    while one writes, and write transactions start IMMEDIATE so they queue instead of failing.
    """

    def __init__(self, path: Path, fsync: bool = True) -> None:
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None,
                                     timeout=30.0)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # FULL: once a commit returns, the row survives power loss — the old blob is deleted
        # right after, so a commit that could roll back would leave a row without its bytes.
        # NORMAL (object_fsync off) still survives a killed process, as SQLite documents.
        self._conn.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
        # Every statement is IF NOT EXISTS, so two processes opening a new store both succeed.
        self._conn.executescript(_SCHEMA)
        self._conn.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('schema', ?)",
                           (SCHEMA_VERSION,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def read(self, sql: str, params=()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def one(self, sql: str, params=()) -> tuple | None:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    @contextmanager
    def transaction(self):
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
