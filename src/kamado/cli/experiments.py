"""``kamado experiments [NAME]``: experiments and their runs from the command line, through the
server's own API (ListExperiments, ListTrials, ListTrialComponents and Search).

Without NAME: every experiment with its number of trials (run groups) and runs (trial
components). With NAME: the experiment's runs side by side — status, parameters, and for each
metric its final (``Last``) and average value — with the best value of each metric column
marked. Whether lower or higher is better is guessed from the metric's name (loss, error, rmse,
mae… are minimised) unless ``--minimize``/``--maximize`` say otherwise.
"""

from __future__ import annotations

import math
import re
from typing import Optional

import typer
from botocore.exceptions import ClientError, EndpointConnectionError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kamado.cli.client import client

console = Console()
BEST = "★"
_STATUS_STYLE = {"Completed": "green", "Failed": "red", "Stopped": "yellow",
                 "InProgress": "cyan", "Stopping": "yellow"}
_LOWER_IS_BETTER = re.compile(r"loss|err|rmse|mse|mae|mape|perplexity|latency|time",
                              re.IGNORECASE)


def lower_is_better(metric: str, minimize: list[str], maximize: list[str]) -> bool:
    if metric in minimize:
        return True
    if metric in maximize:
        return False
    return bool(_LOWER_IS_BETTER.search(metric))


def _fail(message: str, code: int = 2):
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(code)


def _count(pages, key: str) -> int:
    return sum(len(page[key]) for page in pages)


def list_experiments(config, endpoint_url: Optional[str], limit: int) -> None:
    sm = client(config, "sagemaker", endpoint_url)
    try:
        experiments = []
        for page in sm.get_paginator("list_experiments").paginate(
                SortBy="CreationTime", SortOrder="Descending",
                PaginationConfig={"PageSize": 100, "MaxItems": limit}):
            experiments += page["ExperimentSummaries"]
        rows = []
        for e in experiments:
            name = e["ExperimentName"]
            trials = _count(sm.get_paginator("list_trials").paginate(
                ExperimentName=name, PaginationConfig={"PageSize": 100}), "TrialSummaries")
            runs = _count(sm.get_paginator("list_trial_components").paginate(
                ExperimentName=name, PaginationConfig={"PageSize": 100}),
                "TrialComponentSummaries")
            rows.append((e, trials, runs))
    except EndpointConnectionError:
        _fail("no kamado server answers there; start one with 'kamado server'")
    table = Table(title=f"experiments ({len(rows)})")
    for col, justify in (("experiment", "left"), ("source", "left"), ("trials", "right"),
                         ("runs", "right"), ("created", "left")):
        table.add_column(col, justify=justify)
    for e, trials, runs in rows:
        source = (e.get("ExperimentSource") or {}).get("SourceArn", "")
        table.add_row(e["ExperimentName"], source.rsplit("/", 1)[-1] if source else "",
                      str(trials), str(runs), e["CreationTime"].strftime("%Y-%m-%d %H:%M:%S"))
    console.print(table)


def _runs(sm, name: str) -> list[dict]:
    found = []
    for page in sm.get_paginator("search").paginate(
            Resource="ExperimentTrialComponent",
            SearchExpression={"Filters": [{"Name": "Parents.ExperimentName",
                                           "Operator": "Equals", "Value": name}]},
            SortBy="CreationTime", SortOrder="Ascending", PaginationConfig={"PageSize": 100}):
        found += [r["TrialComponent"] for r in page["Results"]]
    return found


def _param(value: dict) -> str:
    if "NumberValue" in value:
        number = value["NumberValue"]
        return f"{number:g}" if isinstance(number, float) else str(number)
    return str(value.get("StringValue", ""))


def _number(value) -> str:
    if value is None:
        return ""
    return f"{value:.6g}"


def show_experiment(config, endpoint_url: Optional[str], name: str, sort: Optional[str],
                    minimize: list[str], maximize: list[str], all_params: bool) -> None:
    sm = client(config, "sagemaker", endpoint_url)
    try:
        experiment = sm.describe_experiment(ExperimentName=name)
        runs = _runs(sm, experiment["ExperimentName"])
    except ClientError as exc:
        _fail(exc.response["Error"]["Message"])
    except EndpointConnectionError:
        _fail("no kamado server answers there; start one with 'kamado server'")

    params = sorted({p for r in runs for p in r.get("Parameters") or {}
                     if all_params or not p.startswith("SageMaker.")})
    metrics = sorted({m["MetricName"] for r in runs for m in r.get("Metrics") or []})

    def metric(run: dict, metric_name: str, stat: str):
        for m in run.get("Metrics") or []:
            if m["MetricName"] == metric_name and m.get(stat) is not None \
                    and math.isfinite(m[stat]):
                return m[stat]
        return None

    best: dict[tuple[str, str], float] = {}
    for m in metrics:
        low = lower_is_better(m, minimize, maximize)
        for stat in ("Last", "Avg"):
            values = [v for v in (metric(r, m, stat) for r in runs) if v is not None]
            if values:
                best[(m, stat)] = min(values) if low else max(values)
    if sort:
        if sort not in metrics:
            _fail(f"no run of {name} has a metric {sort!r}; its metrics: "
                  f"{', '.join(metrics) or 'none'}")
        low = lower_is_better(sort, minimize, maximize)
        present = [r for r in runs if metric(r, sort, "Last") is not None]
        absent = [r for r in runs if metric(r, sort, "Last") is None]
        runs = sorted(present, key=lambda r: metric(r, sort, "Last"), reverse=not low) + absent

    source = (experiment.get("Source") or {}).get("SourceArn")
    console.print(f"[bold]{experiment['ExperimentName']}[/bold]"
                  + (f"  {experiment['Description']}" if experiment.get("Description") else "")
                  + (f"  (made by {source})" if source else ""))
    table = Table(title=f"runs ({len(runs)})")
    table.add_column("run", overflow="fold")
    table.add_column("trial", overflow="fold")
    table.add_column("status")
    for p in params:
        table.add_column(p, justify="right", style="dim")
    for m in metrics:
        table.add_column(f"{m} last", justify="right")
        table.add_column(f"{m} avg", justify="right")
    for r in runs:
        status = (r.get("Status") or {}).get("PrimaryStatus", "")
        trials = ", ".join(p["TrialName"] for p in r.get("Parents") or [])
        cells: list = [r.get("DisplayName") or r["TrialComponentName"], trials,
                       Text(status, style=_STATUS_STYLE.get(status, ""))]
        cells += [_param((r.get("Parameters") or {})[p]) if p in (r.get("Parameters") or {})
                  else "" for p in params]
        for m in metrics:
            for stat in ("Last", "Avg"):
                value = metric(r, m, stat)
                if value is not None and best.get((m, stat)) == value:
                    cells.append(Text(f"{BEST} {_number(value)}", style="bold green"))
                else:
                    cells.append(_number(value))
        table.add_row(*cells)
    console.print(table)
    if metrics:
        lows = [m for m in metrics if lower_is_better(m, minimize, maximize)]
        highs = [m for m in metrics if m not in lows]
        console.print(f"{BEST} best per column"
                      + (f"; lower is better for {', '.join(lows)}" if lows else "")
                      + (f"; higher is better for {', '.join(highs)}" if highs else "")
                      + " (--minimize/--maximize NAME to say otherwise)")
