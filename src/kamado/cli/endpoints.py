"""``kamado endpoints``: each endpoint with its status and, per variant, the traffic it served
(AWS's metric names), read from the server's API and its ``/metrics`` page."""

from __future__ import annotations

import re
import urllib.request
from typing import Optional

import typer
from botocore.exceptions import EndpointConnectionError
from rich.console import Console
from rich.table import Table

from kamado.cli.client import client

console = Console()
_STATUS_STYLE = {"InService": "green", "Failed": "red", "Creating": "cyan", "Updating": "cyan",
                 "RollingBack": "yellow", "Deleting": "yellow"}
_SAMPLE = re.compile(r'^(sagemaker_endpoint_[a-z0-9_]+?)(?:_total)?\{([^}]*)\} (\S+)$')


def scrape(url: str) -> dict[tuple[str, str], dict[str, float]]:
    """(endpoint, variant) -> {metric[:quantile]: value} from a Prometheus text page."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    out: dict[tuple[str, str], dict[str, float]] = {}
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        name = m.group(1)[len("sagemaker_endpoint_"):]
        if "quantile" in labels:
            name += ":" + labels["quantile"]
        out.setdefault((labels["endpoint"], labels["variant"]), {})[name] = float(m.group(3))
    return out


def _ms(micros: float | None) -> str:
    return "" if micros is None else f"{micros / 1000:.2f}"


def list_endpoints(config, endpoint_url: Optional[str]) -> None:
    sm = client(config, "sagemaker", endpoint_url)
    try:
        endpoints = sm.list_endpoints(MaxResults=100)["Endpoints"]
        metrics = scrape((endpoint_url or config.endpoint_url).rstrip("/") + "/metrics")
    except (EndpointConnectionError, OSError):
        console.print("[red]no kamado server answers there; start one with 'kamado server'[/red]")
        raise typer.Exit(2) from None
    table = Table(title=f"endpoints ({len(endpoints)})")
    for col in ("endpoint", "status", "variant", "weight", "instances", "Invocations",
                "4XX", "5XX", "ModelLatency p50/p99 ms", "OverheadLatency p50 ms"):
        table.add_column(col, justify="left" if col in ("endpoint", "status", "variant")
                         else "right")
    for summary in endpoints:
        name, status = summary["EndpointName"], summary["EndpointStatus"]
        styled = f"[{_STATUS_STYLE.get(status, 'white')}]{status}[/]"
        variants = sm.describe_endpoint(EndpointName=name).get("ProductionVariants") or [{}]
        for i, v in enumerate(variants):
            m = metrics.get((name, v.get("VariantName", "")), {})
            latency = m.get("model_latency_microseconds:0.5")
            table.add_row(
                name if i == 0 else "", styled if i == 0 else "", v.get("VariantName", ""),
                f"{v.get('CurrentWeight', v.get('DesiredWeight', '')):g}" if v else "",
                str(v.get("CurrentInstanceCount", v.get("DesiredInstanceCount", ""))),
                f"{m.get('invocations', 0):.0f}", f"{m.get('invocation_4xx_errors', 0):.0f}",
                f"{m.get('invocation_5xx_errors', 0):.0f}",
                "" if latency is None else
                f"{_ms(latency)} / {_ms(m.get('model_latency_microseconds:0.99'))}",
                _ms(m.get("overhead_latency_microseconds:0.5")))
    console.print(table)
