"""The store's tables. Migrations in ``migrations/versions`` must create exactly these
(tests/unit/test_store_database.py compares the two)."""

from __future__ import annotations

import sqlalchemy as sa

from kamado.store.types import SafeName, SafeText, TaggedJSON, UTCDateTime

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

# SQLite only auto-increments INTEGER PRIMARY KEY, not BIGINT.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

ARN = 1024  # ARNs are at most 2048 in a few services; kamado's own stay well below 1024

# One row per resource of every SageMaker-style family (experiments, training jobs, ...).
# What is common to all is a column; the rest of the Describe output lives in `data`.
resources = sa.Table(
    "resources", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(12), nullable=False),
    sa.Column("region", sa.String(32), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("name", SafeName(256), nullable=False),
    # The name as uniqueness sees it: lower-cased for families whose names are case-insensitive.
    sa.Column("name_key", SafeName(256), nullable=False),
    sa.Column("arn", SafeName(ARN), nullable=False),
    sa.Column("status", sa.String(64), nullable=True),
    sa.Column("creation_time", UTCDateTime(), nullable=False),
    sa.Column("last_modified_time", UTCDateTime(), nullable=False),
    sa.Column("data", TaggedJSON(), nullable=False),
    sa.UniqueConstraint("arn"),
    sa.UniqueConstraint("account_id", "region", "type", "name_key"),
    sa.Index(None, "account_id", "region", "type", "creation_time"),
    sa.Index(None, "account_id", "region", "type", "status"),
)

tags = sa.Table(
    "tags", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("arn", SafeName(ARN), nullable=False),
    sa.Column("key", SafeName(256), nullable=False),
    sa.Column("value", SafeText(), nullable=False),
    sa.UniqueConstraint("arn", "key"),
)

# A typed link between two ARNs: trial -> trial component today, lineage edges later.
associations = sa.Table(
    "associations", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("source_arn", SafeName(ARN), nullable=False),
    sa.Column("destination_arn", SafeName(ARN), nullable=False),
    sa.Column("creation_time", UTCDateTime(), nullable=False),
    sa.Column("data", TaggedJSON(), nullable=True),
    sa.UniqueConstraint("type", "source_arn", "destination_arn"),
    sa.Index(None, "destination_arn", "type"),
)

# --- CloudWatch Logs -------------------------------------------------------------------------
# Times here are epoch milliseconds, as the Logs API speaks them.

log_groups = sa.Table(
    "log_groups", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(12), nullable=False),
    sa.Column("region", sa.String(32), nullable=False),
    sa.Column("name", SafeName(512), nullable=False),
    sa.Column("creation_time", sa.BigInteger(), nullable=False),
    sa.Column("retention_in_days", sa.Integer(), nullable=True),
    sa.Column("kms_key_id", sa.String(256), nullable=True),
    sa.Column("log_group_class", sa.String(32), nullable=False),
    sa.Column("deletion_protection", sa.Boolean(), nullable=False),
    sa.UniqueConstraint("account_id", "region", "name"),
)

log_streams = sa.Table(
    "log_streams", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("group_id", BigId, sa.ForeignKey("log_groups.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", SafeName(512), nullable=False),
    sa.Column("creation_time", sa.BigInteger(), nullable=False),
    sa.Column("first_event_timestamp", sa.BigInteger(), nullable=True),
    sa.Column("last_event_timestamp", sa.BigInteger(), nullable=True),
    sa.Column("last_ingestion_time", sa.BigInteger(), nullable=True),
    # The sequence number the next event put into this stream will get.
    sa.Column("next_sequence", sa.BigInteger(), nullable=False),
    sa.Column("stored_bytes", sa.BigInteger(), nullable=False),
    sa.UniqueConstraint("group_id", "name"),
)

log_events = sa.Table(
    "log_events", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("stream_id", BigId, sa.ForeignKey("log_streams.id", ondelete="CASCADE"), nullable=False),
    # Denormalised so that FilterLogEvents over a whole group reads one index range.
    sa.Column("group_id", BigId, sa.ForeignKey("log_groups.id", ondelete="CASCADE"), nullable=False),
    sa.Column("sequence", sa.BigInteger(), nullable=False),
    sa.Column("timestamp", sa.BigInteger(), nullable=False),
    sa.Column("ingestion_time", sa.BigInteger(), nullable=False),
    sa.Column("message", SafeText(), nullable=False),
    sa.UniqueConstraint("stream_id", "sequence"),
    sa.Index(None, "stream_id", "timestamp", "id"),
    sa.Index(None, "group_id", "timestamp", "id"),
)

# --- metrics ---------------------------------------------------------------------------------
# Time series a job reports (training metrics parsed from its log, later SageMaker Metrics'
# BatchPutMetrics); tuning reads them for early stopping and objective values.
metric_points = sa.Table(
    "metric_points", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("source_arn", SafeName(ARN), nullable=False),
    sa.Column("name", SafeName(256), nullable=False),
    sa.Column("value", sa.Float(), nullable=False),
    sa.Column("timestamp", sa.BigInteger(), nullable=False),  # epoch milliseconds
    sa.Column("step", sa.BigInteger(), nullable=True),
    sa.Index(None, "source_arn", "name", "id"),
)

# The newest point of each metric of each source, kept beside metric_points by MetricStore.put:
# what DescribeTrainingJob's FinalMetricDataList shows, and what Search filters and sorts on
# (``Metrics.<name>``) through the (name, value) index without reading every point.
final_metrics = sa.Table(
    "final_metrics", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("source_arn", SafeName(ARN), nullable=False),
    sa.Column("name", SafeName(256), nullable=False),
    sa.Column("value", sa.Float(), nullable=False),
    sa.Column("timestamp", sa.BigInteger(), nullable=False),  # epoch milliseconds
    sa.Column("step", sa.BigInteger(), nullable=True),
    sa.Column("point_id", sa.BigInteger(), nullable=False),  # the metric_points row it copies
    sa.UniqueConstraint("source_arn", "name"),
    sa.Index(None, "name", "value"),
)
