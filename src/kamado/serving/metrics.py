"""Endpoint metrics under AWS's names (Invocations, Invocation4XXErrors, Invocation5XXErrors,
InvocationModelErrors, ModelLatency, OverheadLatency, ModelSetupTime, ModelLoadingWaitTime),
kept per endpoint variant in memory and shown as a Prometheus text page (``GET /metrics``) and
by ``kamado endpoints``.

Latencies are summaries: p50/p90/p99 over the last ``WINDOW`` samples, plus count and sum, in
microseconds as CloudWatch reports them.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

WINDOW = 2048
QUANTILES = (0.5, 0.9, 0.99)
COUNTERS = {
    "Invocations": "InvokeEndpoint requests sent to the variant",
    "Invocation4XXErrors": "requests the model answered with a 4xx status",
    "Invocation5XXErrors": "requests the model answered with a 5xx status (or not at all)",
    "InvocationModelErrors": "requests that ended in a ModelError",
}
LATENCIES = {
    "ModelLatency": "microseconds the model's containers took to answer",
    "OverheadLatency": "microseconds kamado added to the model's time",
    "ModelSetupTime": "microseconds a serverless instance took to start (cold start)",
    "ModelLoadingWaitTime": "microseconds a multi-model request waited for its model to load",
}


@dataclass
class Latency:
    count: int = 0
    total: float = 0.0
    recent: deque = field(default_factory=lambda: deque(maxlen=WINDOW))

    def add(self, micros: float) -> None:
        self.count += 1
        self.total += micros
        self.recent.append(micros)

    def quantile(self, q: float) -> float | None:
        if not self.recent:
            return None
        ordered = sorted(self.recent)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class VariantMetrics:
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    latencies: dict[str, Latency] = field(
        default_factory=lambda: {name: Latency() for name in LATENCIES})


class EndpointMetrics:
    def __init__(self) -> None:
        self._variants: dict[tuple[str, str, str, str], VariantMetrics] = {}
        self._lock = threading.Lock()

    def _of(self, scope, endpoint: str, variant: str) -> VariantMetrics:
        key = (scope.account_id, scope.region, endpoint, variant)
        found = self._variants.get(key)
        if found is None:
            with self._lock:
                found = self._variants.setdefault(key, VariantMetrics())
        return found

    def count(self, scope, endpoint: str, variant: str, name: str, n: int = 1) -> None:
        metrics = self._of(scope, endpoint, variant)
        with self._lock:
            metrics.counters[name] += n

    def observe(self, scope, endpoint: str, variant: str, name: str, seconds: float) -> None:
        metrics = self._of(scope, endpoint, variant)
        with self._lock:
            metrics.latencies[name].add(seconds * 1e6)

    def forget(self, scope, endpoint: str) -> None:
        with self._lock:
            for key in [k for k in self._variants
                        if k[:3] == (scope.account_id, scope.region, endpoint)]:
                del self._variants[key]

    def snapshot(self) -> dict[tuple[str, str, str, str], dict]:
        """(account, region, endpoint, variant) -> {metric: value or {quantiles, count, sum}}."""
        with self._lock:
            items = list(self._variants.items())
            out = {}
            for key, m in items:
                values: dict = dict(m.counters)
                for name, lat in m.latencies.items():
                    values[name] = {"count": lat.count, "sum": lat.total,
                                    **{q: lat.quantile(q) for q in QUANTILES}}
                out[key] = values
        return out

    def prometheus(self) -> str:
        lines = []
        snapshot = self.snapshot()
        for name, doc in COUNTERS.items():
            metric = f"sagemaker_endpoint_{_snake(name)}_total"
            lines += [f"# HELP {metric} {name}: {doc}", f"# TYPE {metric} counter"]
            for key, values in sorted(snapshot.items()):
                lines.append(f"{metric}{{{_labels(key)}}} {values[name]}")
        for name, doc in LATENCIES.items():
            metric = f"sagemaker_endpoint_{_snake(name)}_microseconds"
            lines += [f"# HELP {metric} {name}: {doc}", f"# TYPE {metric} summary"]
            for key, values in sorted(snapshot.items()):
                summary = values[name]
                if not summary["count"]:
                    continue
                for q in QUANTILES:
                    lines.append(f'{metric}{{{_labels(key)},quantile="{q}"}} {summary[q]:.1f}')
                lines.append(f"{metric}_sum{{{_labels(key)}}} {summary['sum']:.1f}")
                lines.append(f"{metric}_count{{{_labels(key)}}} {summary['count']}")
        return "\n".join(lines) + "\n"


_PROMETHEUS = {"Invocations": "invocations", "Invocation4XXErrors": "invocation_4xx_errors",
               "Invocation5XXErrors": "invocation_5xx_errors",
               "InvocationModelErrors": "invocation_model_errors",
               "ModelLatency": "model_latency", "OverheadLatency": "overhead_latency",
               "ModelSetupTime": "model_setup_time",
               "ModelLoadingWaitTime": "model_loading_wait_time"}


def _snake(name: str) -> str:
    return _PROMETHEUS[name]


def _labels(key: tuple[str, str, str, str]) -> str:
    account, region, endpoint, variant = key
    return (f'account="{account}",region="{region}",endpoint="{endpoint}",'
            f'variant="{variant}"')
