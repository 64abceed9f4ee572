"""The newest point of each metric of each source, for Search's metric filters and sorts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from kamado.store.types import SafeName

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "final_metrics",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("source_arn", SafeName(1024), nullable=False),
        sa.Column("name", SafeName(256), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=True),
        sa.Column("point_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_final_metrics"),
        sa.UniqueConstraint("source_arn", "name", name="uq_final_metrics_source_arn_name"),
    )
    op.create_index("ix_final_metrics_name_value", "final_metrics", ["name", "value"])
    # Points recorded before this revision: the newest of each (source, metric), as
    # MetricStore.last reads them.
    op.execute(
        "INSERT INTO final_metrics (source_arn, name, value, timestamp, step, point_id) "
        "SELECT p.source_arn, p.name, p.value, p.timestamp, p.step, p.id FROM metric_points p "
        "WHERE p.id IN (SELECT max(id) FROM metric_points GROUP BY source_arn, name)")


def downgrade() -> None:
    op.drop_table("final_metrics")
