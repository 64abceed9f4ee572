"""The database behind the store: one SQLAlchemy engine, transactions, Alembic migrations.

SQLite is the default and is used from many threads at once, so it runs in WAL mode with a
busy timeout, and every writing transaction starts with ``BEGIN IMMEDIATE``: a transaction
that first reads and then writes would otherwise fail with "database is locked" the moment
another writer commits in between, instead of waiting its turn.
"""

from __future__ import annotations

import contextlib
import contextvars
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from kamado.store.types import parse_integer, parse_number

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
# Any fixed number: Postgres advisory lock that makes concurrent upgrades take turns.
_UPGRADE_LOCK = 0x6B616D61646F


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = sa.engine.make_url(url)
        self.dialect = self.url.get_backend_name()
        if self.dialect == "sqlite":
            self.engine = self._sqlite_engine(echo)
        else:
            self.engine = sa.create_engine(self.url, echo=echo, pool_pre_ping=True,
                                           pool_size=10, max_overflow=30)
        self._writer = self.engine.execution_options(kamado_write=True)
        # The session a caller is already inside, so nested session() calls join it.
        self._current: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
            f"kamado_db_session_{id(self)}", default=None)

    def _sqlite_engine(self, echo: bool) -> sa.Engine:
        database = self.url.database or ""
        in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
        if in_memory:
            # One shared connection, or each connection would see its own empty database;
            # so an in-memory store is for single-threaded tests only.
            engine = sa.create_engine(self.url, echo=echo, poolclass=StaticPool,
                                      connect_args={"check_same_thread": False})
        else:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(self.url, echo=echo, pool_size=20, max_overflow=40,
                                      connect_args={"check_same_thread": False,
                                                    "timeout": BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            # Take transaction control away from the sqlite3 module; _on_begin issues BEGIN.
            dbapi_conn.isolation_level = None
            # Search compares hyperparameters (text) as numbers; Postgres does it with a regex.
            dbapi_conn.create_function("kamado_number", 1, parse_number, deterministic=True)
            dbapi_conn.create_function("kamado_integer", 1, parse_integer, deterministic=True)
            cur = dbapi_conn.cursor()
            if not in_memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            write = conn.get_execution_options().get("kamado_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    @contextlib.contextmanager
    def session(self, write: bool = True) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises.

        Inside an open session() of the same thread or task, joins that one instead.
        Pass ``write=False`` for a block that only reads, so SQLite does not serialise it.
        """
        current = self._current.get()
        if current is not None:
            yield current
            return
        session = Session(bind=self._writer if write else self.engine, expire_on_commit=False)
        token = self._current.set(session)
        try:
            with session.begin():
                yield session
        finally:
            self._current.reset(token)
            session.close()

    @property
    def in_session(self) -> bool:
        return self._current.get() is not None

    # --- migrations -----------------------------------------------------------------------
    def _alembic_config(self):
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        # ConfigParser interpolates '%'; a home directory may contain one.
        cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision``; a database already there is left untouched."""
        from alembic import command

        cfg = self._alembic_config()
        with self._writer.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def close(self) -> None:
        self.engine.dispose()
