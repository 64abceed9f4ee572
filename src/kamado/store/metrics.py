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

    def last_of(self, source_arns: Iterable[str], names: Iterable[str]) -> dict[tuple[str, str], float]:
        """The newest value of each of ``names`` for each source, keyed (source, name): one
        query for a tuning job's training jobs."""
        arns, names = list(source_arns), list(names)
        if not arns or not names:
            return {}
        newest = sa.select(sa.func.max(metric_points.c.id)).where(
            metric_points.c.source_arn.in_(arns), metric_points.c.name.in_(names)).group_by(
            metric_points.c.source_arn, metric_points.c.name)
        query = sa.select(metric_points.c.source_arn, metric_points.c.name,
                          metric_points.c.value).where(metric_points.c.id.in_(newest))
        with self.db.session(write=False) as s:
            return {(r.source_arn, r.name): r.value for r in s.execute(query)}

    def after(self, source_arn: str, name: str, after_id: int) -> list[tuple[int, MetricPoint]]:
        """Points of one metric newer than ``after_id`` (a watcher's cursor), with their ids."""
        query = sa.select(metric_points).where(
            metric_points.c.source_arn == source_arn, metric_points.c.name == name,
            metric_points.c.id > after_id).order_by(metric_points.c.id)
        with self.db.session(write=False) as s:
            rows = s.execute(query).mappings().all()
        return [(r["id"], MetricPoint(r["name"], r["value"], r["timestamp"], r["step"]))
                for r in rows]

    def delete(self, source_arn: str) -> None:
        with self.db.session() as s:
            s.execute(metric_points.delete().where(metric_points.c.source_arn == source_arn))
