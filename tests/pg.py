"""A Postgres schema of one's own for a test, on the server that KAMADO_TEST_DATABASE_URL names."""

from __future__ import annotations

import contextlib
import uuid

import sqlalchemy as sa


@contextlib.contextmanager
def fresh_schema_url(base_url: str):
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
