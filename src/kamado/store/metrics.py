"""Metric time series: points a job reports, and the last value of each metric."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import sqlalchemy as sa

from kamado.store.database import Database
from kamado.store.tables import metric_points


@dataclass(frozen=True)
class MetricPoint:
    name: str
    value: float
    timestamp: int  # epoch milliseconds
    step: int | None = None


class MetricStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, source_arn: str, points: Iterable[MetricPoint]) -> None:
        rows = [dict(source_arn=source_arn, name=p.name, value=p.value, timestamp=p.timestamp,
                     step=p.step) for p in points]
        if rows:
            with self.db.session() as s:
                s.execute(metric_points.insert(), rows)

    def series(self, source_arn: str, name: str | None = None) -> list[MetricPoint]:
        """Every point of a source (or of one of its metrics), oldest first."""
        query = sa.select(metric_points).where(metric_points.c.source_arn == source_arn)
        if name is not None:
            query = query.where(metric_points.c.name == name)
        with self.db.session(write=False) as s:
            rows = s.execute(query.order_by(metric_points.c.id)).mappings().all()
        return [MetricPoint(r["name"], r["value"], r["timestamp"], r["step"]) for r in rows]

    def last(self, source_arn: str) -> dict[str, MetricPoint]:
        """The newest point of each metric of a source."""
        newest = sa.select(sa.func.max(metric_points.c.id)).where(
            metric_points.c.source_arn == source_arn).group_by(metric_points.c.name)
        query = sa.select(metric_points).where(metric_points.c.id.in_(newest))
        with self.db.session(write=False) as s:
            rows = s.execute(query).mappings().all()
        return {r["name"]: MetricPoint(r["name"], r["value"], r["timestamp"], r["step"])
                for r in rows}

    def delete(self, source_arn: str) -> None:
        with self.db.session() as s:
            s.execute(metric_points.delete().where(metric_points.c.source_arn == source_arn))
