"""``kamado jobs``, ``kamado logs JOB [-f]`` and ``kamado wait JOB``: training jobs from the
command line, through the server's own API."""

from __future__ import annotations

import time
from typing import Optional

import typer
from botocore.exceptions import ClientError, EndpointConnectionError
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from kamado.cli.client import client

console = Console()
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
FINAL = ("Completed", "Failed", "Stopped")
_STATUS_STYLE = {"Completed": "green", "Failed": "red", "Stopped": "yellow",
                 "InProgress": "cyan", "Stopping": "yellow"}
POLL_SECONDS = 0.5


def _sagemaker(config, endpoint_url):
    return client(config, "sagemaker", endpoint_url)


def _describe(sm, name: str) -> dict:
    try:
        return sm.describe_training_job(TrainingJobName=name)
    except ClientError as exc:
        console.print(f"[red]{exc.response['Error']['Message']}[/red]")
        raise typer.Exit(2) from None
    except EndpointConnectionError:
        console.print("[red]no kamado server answers there; start one with 'kamado server'[/red]")
        raise typer.Exit(2) from None


def _duration(job: dict) -> str:
    start = job.get("TrainingStartTime") or job.get("CreationTime")
    if start is None:
        return ""
    end = job.get("TrainingEndTime")
    stop = end.timestamp() if end else time.time()
    return f"{max(0.0, stop - start.timestamp()):.1f}s"


def list_jobs(config, endpoint_url: Optional[str], status: Optional[str], limit: int) -> None:
    sm = _sagemaker(config, endpoint_url)
    kwargs = {"MaxResults": min(limit, 100), "SortBy": "CreationTime", "SortOrder": "Descending"}
    if status:
        kwargs["StatusEquals"] = status
    try:
        jobs = sm.list_training_jobs(**kwargs)["TrainingJobSummaries"]
    except EndpointConnectionError:
        console.print("[red]no kamado server answers there; start one with 'kamado server'[/red]")
        raise typer.Exit(2) from None
    table = Table(title=f"training jobs ({len(jobs)})")
    for col in ("name", "status", "secondary", "created", "ended"):
        table.add_column(col)
    for j in jobs:
        style = _STATUS_STYLE.get(j["TrainingJobStatus"], "")
        table.add_row(j["TrainingJobName"], Text(j["TrainingJobStatus"], style=style),
                      j.get("SecondaryStatus", ""),
                      j["CreationTime"].strftime("%Y-%m-%d %H:%M:%S"),
                      j["TrainingEndTime"].strftime("%H:%M:%S") if j.get("TrainingEndTime") else "")
    console.print(table)


def _events(logs, name: str, start_ms: int, token: Optional[str]):
    kwargs = {"logGroupName": LOG_GROUP, "logStreamNamePrefix": f"{name}/",
              "startTime": start_ms}
    if token:
        kwargs["nextToken"] = token
    try:
        page = logs.filter_log_events(**kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return [], None
        raise
    return page.get("events", []), page.get("nextToken")


def show_logs(config, endpoint_url: Optional[str], name: str, follow: bool) -> None:
    sm, logs = _sagemaker(config, endpoint_url), client(config, "logs", endpoint_url)
    _describe(sm, name)
    seen: set[str] = set()
    start_ms = 0
    while True:
        token = None
        while True:
            events, token = _events(logs, name, start_ms, token)
            for e in events:
                if e["eventId"] in seen:
                    continue
                seen.add(e["eventId"])
                start_ms = max(start_ms, e["timestamp"])
                console.print(e["message"], markup=False, highlight=False, soft_wrap=True)
            if not token:
                break
        if not follow:
            return
        job = _describe(sm, name)
        if job["TrainingJobStatus"] in FINAL:
            # One more read: lines written between the last read and the final status.
            events, _ = _events(logs, name, start_ms, None)
            for e in events:
                if e["eventId"] not in seen:
                    console.print(e["message"], markup=False, highlight=False, soft_wrap=True)
            return
        time.sleep(POLL_SECONDS)


def _panel(job: dict) -> Table:
    table = Table.grid(padding=(0, 2))
    status = job["TrainingJobStatus"]
    table.add_row(Text(job["TrainingJobName"], style="bold"),
                  Text(status, style=_STATUS_STYLE.get(status, "")),
                  job.get("SecondaryStatus", ""), _duration(job))
    steps = job.get("SecondaryStatusTransitions") or []
    if steps:
        table.add_row("", "", Text(steps[-1].get("StatusMessage", ""), style="dim"), "")
    for metric in job.get("FinalMetricDataList") or []:
        table.add_row("", "", f"{metric['MetricName']} = {metric['Value']:.6g}", "")
    return table


def wait(config, endpoint_url: Optional[str], name: str, timeout: Optional[float]) -> None:
    sm = _sagemaker(config, endpoint_url)
    deadline = None if timeout is None else time.monotonic() + timeout
    job = _describe(sm, name)
    with Live(_panel(job), console=console, refresh_per_second=8, transient=False) as live:
        while job["TrainingJobStatus"] not in FINAL:
            if deadline is not None and time.monotonic() > deadline:
                console.print(f"[yellow]still {job['TrainingJobStatus']} after {timeout:g}s[/yellow]")
                raise typer.Exit(3)
            time.sleep(POLL_SECONDS)
            job = _describe(sm, name)
            live.update(_panel(job))
    status = job["TrainingJobStatus"]
    if status == "Failed":
        console.print(f"[red]{job.get('FailureReason', '')}[/red]", markup=False)
        raise typer.Exit(1)
    if status == "Stopped":
        raise typer.Exit(2)
    artifacts = (job.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    if artifacts:
        console.print(f"model  {artifacts}")
