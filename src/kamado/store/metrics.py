"""Metric time series: points a job reports, and the last value of each metric.

Beside the points, ``final_metrics`` keeps the newest point of each (source, metric), written
in the same transaction as the points: Search filters and sorts training jobs on it.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from typing import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from kamado.store.database import Database
from kamado.store.tables import final_metrics, metric_points

# source ARN -> metric name -> newest point, while a MetricStore.preloaded() block runs.
_PRELOADED: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "kamado_preloaded_metrics", default=None)


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
                self._keep_finals(s, source_arn, {r["name"] for r in rows})

    def _keep_finals(self, s, source_arn: str, names: set[str]) -> None:
        """Copy the newest point of each of ``names`` into final_metrics; a row already there
        from a newer point (a concurrent writer) is left as it is."""
        newest = sa.select(sa.func.max(metric_points.c.id)).where(
            metric_points.c.source_arn == source_arn,
            metric_points.c.name.in_(sorted(names))).group_by(metric_points.c.name)
        points = sa.select(metric_points.c.source_arn, metric_points.c.name,
                           metric_points.c.value, metric_points.c.timestamp,
                           metric_points.c.step, metric_points.c.id).where(
            metric_points.c.id.in_(newest))
        insert = (postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert)(
            final_metrics).from_select(
            ["source_arn", "name", "value", "timestamp", "step", "point_id"], points)
        s.execute(insert.on_conflict_do_update(
            index_elements=["source_arn", "name"],
            set_={"value": insert.excluded.value, "timestamp": insert.excluded.timestamp,
                  "step": insert.excluded.step, "point_id": insert.excluded.point_id},
            where=final_metrics.c.point_id < insert.excluded.point_id))

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
        preloaded = _PRELOADED.get()
        if preloaded is not None and source_arn in preloaded:
            return dict(preloaded[source_arn])
        newest = sa.select(sa.func.max(metric_points.c.id)).where(
            metric_points.c.source_arn == source_arn).group_by(metric_points.c.name)
        query = sa.select(metric_points).where(metric_points.c.id.in_(newest))
        with self.db.session(write=False) as s:
            rows = s.execute(query).mappings().all()
        return {r["name"]: MetricPoint(r["name"], r["value"], r["timestamp"], r["step"])
                for r in rows}

    @contextlib.contextmanager
    def preloaded(self, source_arns: Iterable[str]) -> Iterator[None]:
        """Within the block, :meth:`last` of any of ``source_arns`` answers from one query
        made here (final_metrics): Search renders a page of training jobs through
        DescribeTrainingJob without a metrics query per job."""
        arns = sorted(set(source_arns))
        found: dict[str, dict[str, MetricPoint]] = {arn: {} for arn in arns}
        if arns:
            query = sa.select(final_metrics).where(final_metrics.c.source_arn.in_(arns))
            with self.db.session(write=False) as s:
                for r in s.execute(query).mappings():
                    found[r["source_arn"]][r["name"]] = MetricPoint(
                        r["name"], r["value"], r["timestamp"], r["step"])
        outer = _PRELOADED.get()
        token = _PRELOADED.set({**(outer or {}), **found})
        try:
            yield
        finally:
            _PRELOADED.reset(token)

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
            s.execute(final_metrics.delete().where(final_metrics.c.source_arn == source_arn))

    # --- experiments: summaries, windows and limits over several sources -----------------------
    def summaries(self, source_arns: Iterable[str]) -> dict[tuple[str, str], "MetricSummary"]:
        """Per (source, metric name): count, min, max, mean, population standard deviation and
        the newest point (latest timestamp, then latest written). One aggregate query and one
        window query for any number of sources (a trial component page, a Search)."""
        arns = sorted(set(source_arns))
        if not arns:
            return {}
        mp = metric_points
        value = mp.c.value
        aggregate = sa.select(
            mp.c.source_arn, mp.c.name, sa.func.count().label("n"),
            sa.func.min(value).label("lo"), sa.func.max(value).label("hi"),
            sa.func.avg(value).label("mean"), sa.func.sum(value * value).label("squares"),
        ).where(mp.c.source_arn.in_(arns)).group_by(mp.c.source_arn, mp.c.name)
        ranked = sa.select(
            mp.c.source_arn, mp.c.name, mp.c.value, mp.c.timestamp,
            sa.func.row_number().over(partition_by=(mp.c.source_arn, mp.c.name),
                                      order_by=(mp.c.timestamp.desc(), mp.c.id.desc()))
            .label("rank")).where(mp.c.source_arn.in_(arns)).subquery()
        newest = sa.select(ranked.c.source_arn, ranked.c.name, ranked.c.value,
                           ranked.c.timestamp).where(ranked.c.rank == 1)
        with self.db.session(write=False) as s:
            stats = s.execute(aggregate).all()
            last = {(r.source_arn, r.name): (r.value, r.timestamp) for r in s.execute(newest)}
        out = {}
        for r in stats:
            n, mean = int(r.n), float(r.mean)
            variance = max(0.0, float(r.squares) / n - mean * mean) if n > 1 else 0.0
            value_, ts = last[(r.source_arn, r.name)]
            out[(r.source_arn, r.name)] = MetricSummary(
                r.source_arn, r.name, n, float(r.lo), float(r.hi), mean, variance ** 0.5,
                float(value_), int(ts))
        return out

    def window(self, source_arns: Iterable[str], name: str, start_ms: int | None = None,
               end_ms: int | None = None) -> list[MetricPoint]:
        """One metric's points from several sources, oldest first (by timestamp, then as
        written), optionally only those with ``start_ms <= timestamp < end_ms``."""
        arns = sorted(set(source_arns))
        if not arns:
            return []
        mp = metric_points
        query = sa.select(mp).where(mp.c.source_arn.in_(arns), mp.c.name == name)
        if start_ms is not None:
            query = query.where(mp.c.timestamp >= start_ms)
        if end_ms is not None:
            query = query.where(mp.c.timestamp < end_ms)
        with self.db.session(write=False) as s:
            rows = s.execute(query.order_by(mp.c.timestamp, mp.c.id)).mappings().all()
        return [MetricPoint(r["name"], r["value"], r["timestamp"], r["step"]) for r in rows]

    def names(self, source_arn: str) -> set[str]:
        """The distinct metric names a source has points for."""
        query = sa.select(metric_points.c.name).where(
            metric_points.c.source_arn == source_arn).distinct()
        with self.db.session(write=False) as s:
            return {r.name for r in s.execute(query)}


@dataclass(frozen=True)
class MetricSummary:
    source_arn: str
    name: str
    count: int
    min: float
    max: float
    avg: float
    std_dev: float
    last: float
    last_timestamp: int  # epoch milliseconds
