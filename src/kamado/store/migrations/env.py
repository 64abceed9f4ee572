"""Alembic environment: kamado always hands in an open connection (see Database.upgrade)."""

from alembic import context

from kamado.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("kamado's migrations run through kamado.store.database.Database.upgrade()")

context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
