"""SageMaker Metrics: ``BatchPutMetrics`` logs a trial component's time series,
``BatchGetMetrics`` reads series back, aggregated by step or by time.

Points live in ``metric_points`` under the trial component's ARN (a training job's own series,
parsed from its log, live under the job's ARN); ``DescribeTrialComponent``'s ``Metrics``
summarise both. What AWS documents is followed; where it publishes no number, kamado's is named
here:

* BatchPutMetrics: the trial component must exist (``ResourceNotFound``); at most 10 entries a
  call (the model's limit, checked by the gateway). An entry is refused in ``Errors`` — the
  rest are stored — with ``VALIDATION_ERROR`` when its value is not a finite number or its
  timestamp is more than two weeks old or more than two hours ahead (the window the SageMaker
  Python SDK tells its users the service enforces), and with ``METRIC_LIMIT_EXCEEDED`` when it
  would give the component more than :data:`MAX_METRICS_PER_COMPONENT` metric names (kamado's
  number: AWS documents the error, not the limit).
* BatchGetMetrics: each query is answered on its own (``Status`` ``Complete``, ``Truncated``
  past :data:`MAX_POINTS` x values, or ``ValidationError`` with a ``Message``) and never fails
  the call. ``ResourceArn`` is a trial component (its series and its training job's) or a
  training job. ``XAxisType`` ``IterationNumber`` gives one value per step (points logged
  without a step are left out; ``Period`` must then be ``IterationNumber``); ``Timestamp``
  gives one value per ``Period`` bucket (``OneMinute``, ``FiveMinute``, ``OneHour``) at the
  bucket's start, or per step at the step's first point with ``Period`` ``IterationNumber``.
  ``MetricStat`` is computed over each bucket (``StdDev``: population standard deviation;
  ``Last``: the newest point). Times (``Start``, ``End``, timestamp x values) are epoch
  seconds; ``Start`` and ``End`` are inclusive (a value too large to be seconds is read as
  milliseconds).
"""

from __future__ import annotations

import math
import time

from kamado.errors import ResourceNotFound
from kamado.services.base import Provider, RequestContext
from kamado.services.sagemaker import experiments
from kamado.store.metrics import MetricPoint, MetricStore

MAX_METRICS_PER_COMPONENT = 100
MAX_POINTS = 10_000
PAST_SECONDS = 14 * 24 * 3600  # two weeks
FUTURE_SECONDS = 2 * 3600  # two hours
_PERIODS = {"OneMinute": 60, "FiveMinute": 300, "OneHour": 3600}
_MS_THRESHOLD = 100_000_000_000  # epoch seconds stay below this until the year 5138


class Metrics(Provider):
    service = "sagemaker-metrics"

    def __init__(self, platform) -> None:
        super().__init__(platform)
        self.resources = platform.resources
        self.store = MetricStore(platform.db)

    # --- BatchPutMetrics --------------------------------------------------------------------------
    def batch_put_metrics(self, request: dict, ctx: RequestContext) -> dict:
        tc = self.resources.get(ctx, experiments.COMPONENT, request["TrialComponentName"])
        known = self.store.names(tc.arn)
        now = time.time()
        points, errors = [], []
        for index, entry in enumerate(request["MetricData"]):
            value = entry["Value"]
            when = entry["Timestamp"].timestamp()
            if (not isinstance(value, (int, float)) or not math.isfinite(value)
                    or not now - PAST_SECONDS <= when <= now + FUTURE_SECONDS):
                errors.append({"Code": "VALIDATION_ERROR", "MetricIndex": index})
                continue
            name = entry["MetricName"]
            if name not in known and len(known) >= MAX_METRICS_PER_COMPONENT:
                errors.append({"Code": "METRIC_LIMIT_EXCEEDED", "MetricIndex": index})
                continue
            known.add(name)
            points.append(MetricPoint(name, float(value), int(round(when * 1000)),
                                      entry.get("Step")))
        self.store.put(tc.arn, points)
        return {"Errors": errors} if errors else {}

    # --- BatchGetMetrics --------------------------------------------------------------------------
    def batch_get_metrics(self, request: dict, ctx: RequestContext) -> dict:
        return {"MetricQueryResults": [self._query(ctx, q) for q in request["MetricQueries"]]}

    def _sources(self, ctx, arn: str) -> list[str]:
        resource = (self.resources.get_by_arn(ctx, arn, missing_ok=True)
                    or self.resources.get_by_arn(ctx, arn.lower(), missing_ok=True))
        if resource is None:
            raise ResourceNotFound(f"{arn} does not exist in account {ctx.account_id}, "
                                   f"region {ctx.region}.")
        if resource.type == experiments.COMPONENT:
            source = resource.data.get("Source") or {}
            if source.get("SourceType") == experiments.TRAINING_SOURCE and source.get("SourceArn"):
                return [resource.arn, source["SourceArn"]]
            return [resource.arn]
        if resource.type == experiments.TRAINING_JOB:
            return [resource.arn]
        raise ResourceNotFound(f"{arn} is a {resource.type}, which has no metrics; ask for a "
                               "trial component or a training job.")

    def _query(self, ctx, q: dict) -> dict:
        def refused(message: str) -> dict:
            return {"Status": "ValidationError", "Message": message[:2048], "XAxisValues": [],
                    "MetricValues": []}
        axis, period = q["XAxisType"], q["Period"]
        if axis == "IterationNumber" and period != "IterationNumber":
            return refused(f"Period {period} needs XAxisType Timestamp; with XAxisType "
                           "IterationNumber, use Period IterationNumber.")
        start, end = _ms(q.get("Start")), _ms(q.get("End"), end=True)
        if start is not None and end is not None and start >= end:
            return refused("Start must not be later than End.")
        try:
            sources = self._sources(ctx, q["ResourceArn"])
        except ResourceNotFound as exc:
            return refused(exc.message)
        points = self.store.window(sources, q["MetricName"], start, end)
        buckets: dict[int, list[MetricPoint]] = {}
        if period == "IterationNumber":
            for p in points:
                if p.step is not None:
                    buckets.setdefault(int(p.step), []).append(p)
            xs = sorted(buckets)
            x_values = [x if axis == "IterationNumber" else buckets[x][0].timestamp // 1000
                        for x in xs]
        else:
            width = _PERIODS[period] * 1000
            for p in points:
                buckets.setdefault(p.timestamp // width, []).append(p)
            xs = sorted(buckets)
            x_values = [x * width // 1000 for x in xs]
        values = [_stat(q["MetricStat"], buckets[x]) for x in xs]
        if len(xs) > MAX_POINTS:
            return {"Status": "Truncated",
                    "Message": f"The query has {len(xs)} values; the first {MAX_POINTS} are "
                               "returned. Narrow it with Start and End or a longer Period.",
                    "XAxisValues": x_values[:MAX_POINTS], "MetricValues": values[:MAX_POINTS]}
        return {"Status": "Complete", "XAxisValues": x_values, "MetricValues": values}


def _ms(value, end: bool = False) -> int | None:
    """Epoch seconds (inclusive) as the store's epoch milliseconds bound."""
    if value is None:
        return None
    ms = int(value) if value >= _MS_THRESHOLD else int(value) * 1000
    return ms + (1000 if end and value < _MS_THRESHOLD else 1 if end else 0)


def _stat(stat: str, points: list[MetricPoint]) -> float:
    values = [p.value for p in points]
    n = len(values)
    if stat == "Count":
        return float(n)
    if stat == "Min":
        return min(values)
    if stat == "Max":
        return max(values)
    mean = sum(values) / n
    if stat == "Avg":
        return mean
    if stat == "StdDev":
        return math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    return max(enumerate(points), key=lambda ip: (ip[1].timestamp, ip[0]))[1].value  # Last
