"""The first schema: resources, tags, associations and the CloudWatch Logs tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from kamado.store.types import SafeName, SafeText, TaggedJSON, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("name", SafeName(256), nullable=False),
        sa.Column("name_key", SafeName(256), nullable=False),
        sa.Column("arn", SafeName(1024), nullable=False),
        sa.Column("status", sa.String(64), nullable=True),
        sa.Column("creation_time", UTCDateTime(), nullable=False),
        sa.Column("last_modified_time", UTCDateTime(), nullable=False),
        sa.Column("data", TaggedJSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_resources"),
        sa.UniqueConstraint("arn", name="uq_resources_arn"),
        sa.UniqueConstraint("account_id", "region", "type", "name_key",
                            name="uq_resources_account_id_region_type_name_key"),
    )
    op.create_index("ix_resources_account_id_region_type_creation_time", "resources",
                    ["account_id", "region", "type", "creation_time"])
    op.create_index("ix_resources_account_id_region_type_status", "resources",
                    ["account_id", "region", "type", "status"])

    op.create_table(
        "tags",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("arn", SafeName(1024), nullable=False),
        sa.Column("key", SafeName(256), nullable=False),
        sa.Column("value", SafeText(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tags"),
        sa.UniqueConstraint("arn", "key", name="uq_tags_arn_key"),
    )

    op.create_table(
        "associations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("source_arn", SafeName(1024), nullable=False),
        sa.Column("destination_arn", SafeName(1024), nullable=False),
        sa.Column("creation_time", UTCDateTime(), nullable=False),
        sa.Column("data", TaggedJSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_associations"),
        sa.UniqueConstraint("type", "source_arn", "destination_arn",
                            name="uq_associations_type_source_arn_destination_arn"),
    )
    op.create_index("ix_associations_destination_arn_type", "associations",
                    ["destination_arn", "type"])

    op.create_table(
        "log_groups",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", SafeName(512), nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("retention_in_days", sa.Integer(), nullable=True),
        sa.Column("kms_key_id", sa.String(256), nullable=True),
        sa.Column("log_group_class", sa.String(32), nullable=False),
        sa.Column("deletion_protection", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_log_groups"),
        sa.UniqueConstraint("account_id", "region", "name",
                            name="uq_log_groups_account_id_region_name"),
    )

    op.create_table(
        "log_streams",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("group_id", BigId, nullable=False),
        sa.Column("name", SafeName(512), nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("first_event_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("last_event_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("last_ingestion_time", sa.BigInteger(), nullable=True),
        sa.Column("next_sequence", sa.BigInteger(), nullable=False),
        sa.Column("stored_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_log_streams"),
        sa.ForeignKeyConstraint(["group_id"], ["log_groups.id"], ondelete="CASCADE",
                                name="fk_log_streams_group_id_log_groups"),
        sa.UniqueConstraint("group_id", "name", name="uq_log_streams_group_id_name"),
    )

    op.create_table(
        "log_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("stream_id", BigId, nullable=False),
        sa.Column("group_id", BigId, nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("ingestion_time", sa.BigInteger(), nullable=False),
        sa.Column("message", SafeText(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_log_events"),
        sa.ForeignKeyConstraint(["stream_id"], ["log_streams.id"], ondelete="CASCADE",
                                name="fk_log_events_stream_id_log_streams"),
        sa.ForeignKeyConstraint(["group_id"], ["log_groups.id"], ondelete="CASCADE",
                                name="fk_log_events_group_id_log_groups"),
        sa.UniqueConstraint("stream_id", "sequence", name="uq_log_events_stream_id_sequence"),
    )
    op.create_index("ix_log_events_stream_id_timestamp_id", "log_events",
                    ["stream_id", "timestamp", "id"])
    op.create_index("ix_log_events_group_id_timestamp_id", "log_events",
                    ["group_id", "timestamp", "id"])


def downgrade() -> None:
    for table in ("log_events", "log_streams", "log_groups", "associations", "tags", "resources"):
        op.drop_table(table)
