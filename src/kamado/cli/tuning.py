"""``kamado tuning [JOB] [--watch]``: hyperparameter tuning jobs from the command line, through
the server's own API.

Without JOB, the tuning jobs with their status, strategy, counters and best objective. With
JOB, that job: its status, strategy, counters and best training job; its training jobs best
first, with their objective value and tuned hyperparameters; and the objective over time, a
braille chart of each job's objective (x: the jobs in the order they ended) and the best so
far. ``--watch`` redraws until the job (or, without JOB, every job) has ended.
"""

from __future__ import annotations

import math
import time
from typing import Optional

import typer
from botocore.exceptions import ClientError, EndpointConnectionError
from rich.console import Console, Group
from rich.live import Live
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from kamado.cli.client import client

console = Console()
FINAL = ("Completed", "Failed", "Stopped")
_STATUS_STYLE = {"Completed": "green", "Failed": "red", "Stopped": "yellow",
                 "InProgress": "cyan", "Stopping": "yellow"}
POLL_SECONDS = 1.0
CHART_HEIGHT = 8  # rows of braille cells: 4 dots each
CHART_WIDTH = 72  # at most, in cells of 2 dots
POINT_STYLE, BEST_STYLE = "cyan", "bold green"
# A braille cell's dots: _DOTS[column][row] (2 columns, 4 rows, row 0 at the top).
_DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]{message}[/red]", highlight=False)
    return typer.Exit(2)


def _call(fn, **kwargs) -> dict:
    try:
        return fn(**kwargs)
    except ClientError as exc:
        raise _fail(exc.response["Error"]["Message"]) from None
    except EndpointConnectionError:
        raise _fail("no kamado server answers there; start one with 'kamado server'") from None


def _status(status: str) -> Text:
    return Text(status, style=_STATUS_STYLE.get(status, ""))


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def _hyperparameter(text: str) -> str:
    """A tuned value as a person reads it: 0.0123456789 -> 0.01235, '7' stays '7'."""
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number) or number == int(number) and "." not in text and "e" not in text:
        return text
    return f"{number:.4g}"


def _seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


# --- reading ------------------------------------------------------------------------------------
def training_jobs(sm, name: str) -> list[dict]:
    """Every training job of a tuning job, oldest first."""
    found, token = [], None
    while True:
        page = _call(sm.list_training_jobs_for_hyper_parameter_tuning_job,
                     HyperParameterTuningJobName=name, MaxResults=100, SortBy="CreationTime",
                     SortOrder="Ascending", **({"NextToken": token} if token else {}))
        found += page["TrainingJobSummaries"]
        token = page.get("NextToken")
        if not token:
            return found


def _objective(job: dict) -> float | None:
    metric = job.get("FinalHyperParameterTuningJobObjectiveMetric")
    return None if metric is None else metric["Value"]


def _maximize(tuning: dict) -> bool:
    config = tuning.get("HyperParameterTuningJobConfig") or {}
    objective = config.get("HyperParameterTuningJobObjective")
    if objective is None:  # several definitions, each with its own TuningObjective
        objective = (tuning.get("TrainingJobDefinitions") or [{}])[0].get("TuningObjective") or {}
    return objective.get("Type") == "Maximize"


def _objective_name(tuning: dict) -> str:
    config = tuning.get("HyperParameterTuningJobConfig") or {}
    objective = config.get("HyperParameterTuningJobObjective")
    if objective is None:
        names = {(d.get("TuningObjective") or {}).get("MetricName")
                 for d in tuning.get("TrainingJobDefinitions") or []}
        return ", ".join(sorted(n for n in names if n))
    return objective["MetricName"]


def ranked(jobs: list[dict], maximize: bool) -> list[dict]:
    """Best first; the jobs without an objective value after them, running ones first."""
    scored = sorted((j for j in jobs if _objective(j) is not None),
                    key=lambda j: _objective(j), reverse=maximize)
    rest = [j for j in jobs if _objective(j) is None]
    rest.sort(key=lambda j: j["TrainingJobStatus"] not in ("InProgress", "Stopping"))
    return scored + rest


def history(jobs: list[dict], maximize: bool) -> tuple[list[float], list[float]]:
    """Each job's objective in the order the jobs ended, and the best so far after each."""
    done = [j for j in jobs if _objective(j) is not None]
    done.sort(key=lambda j: (j.get("TrainingEndTime") or j["CreationTime"], j["CreationTime"]))
    values = [_objective(j) for j in done]
    best, running = [], None
    for v in values:
        if running is None or (v > running if maximize else v < running):
            running = v
        best.append(running)
    return values, best


# --- the chart ----------------------------------------------------------------------------------
def chart(values: list[float], best: list[float], width: int = CHART_WIDTH,
          height: int = CHART_HEIGHT) -> Text:
    """Each value as a ``•`` and the best so far as a braille step line: x is the job's place in
    ``values``, y its value, on axes labelled with the range and the jobs' numbers. A job that
    set a new best sits on the line, drawn in the line's colour."""
    if not values:
        return Text("no training job has reported its objective yet", style="dim")
    low, high = min(values), max(values)
    if high == low:
        pad = abs(high) * 0.01 or 1.0
        low, high = low - pad, high + pad
    columns, rows = None, height * 4
    # The top and bottom rows hold the extremes; the middle label is its row's centre value.
    middle = high - (4 * (height // 2) + 1.5) / (rows - 1) * (high - low)
    decimals = max(0, 1 - math.floor(math.log10((high - low) / height)))
    if decimals <= 6 and max(abs(high), abs(low)) < 1e7:
        labels = [f"{v:.{decimals}f}" for v in (high, middle, low)]
    else:
        labels = [f"{v:.4g}" for v in (high, middle, low)]
    label_width = max(len(s) for s in labels)
    width = max(8, width - label_width - 2)
    columns = width * 2
    n = len(values)

    def x_of(i: int) -> int:
        return 0 if n == 1 else round(i * (columns - 1) / (n - 1))

    def y_of(v: float) -> int:  # 0 at the top
        return (rows - 1) - round((v - low) / (high - low) * (rows - 1))

    cells = [[0] * width for _ in range(height)]
    for i in range(n):  # the best so far: flat until the next job, then a step
        x0, y0 = x_of(i), y_of(best[i])
        x1 = x_of(i + 1) if i + 1 < n else x0
        points = [(x, y0) for x in range(x0, x1 + 1)]
        if i + 1 < n:
            y1 = y_of(best[i + 1])
            points += [(x1, y) for y in range(min(y0, y1), max(y0, y1) + 1)]
        for x, y in points:
            cells[y // 4][x // 2] |= _DOTS[x % 2][y % 4]
    marks: dict[tuple[int, int], bool] = {}  # cell -> whether a job there set a new best
    for i, v in enumerate(values):
        cell = (y_of(v) // 4, x_of(i) // 2)
        marks[cell] = marks.get(cell, False) or (v == best[i] and (i == 0 or v != best[i - 1]))

    out = Text()
    label_rows = {0: labels[0], height // 2: labels[1], height - 1: labels[2]}
    for r in range(height):
        out.append(label_rows.get(r, "").rjust(label_width) + " ┤", style="dim")
        for c in range(width):
            if (r, c) in marks:
                out.append("•", style=BEST_STYLE if marks[(r, c)] else POINT_STYLE)
            elif cells[r][c]:
                out.append(chr(0x2800 + cells[r][c]), style=BEST_STYLE)
            else:
                out.append(" ")
        out.append("\n")
    out.append(" " * label_width + " └" + "─" * width + "\n", style="dim")
    span = x_of(n - 1) // 2 + 1  # the cells from the first job to the last
    middle = "jobs in the order they ended"
    last = str(n) if n > 1 else ""
    gap = span - 1 - len(last)
    axis = "1" + (middle.center(gap) if gap >= len(middle) + 2 else " " * gap) + last
    out.append(" " * (label_width + 2) + axis + "\n", style="dim")
    out.append(" " * (label_width + 2))
    out.append("• ", style=POINT_STYLE)
    out.append("a job's objective   ")
    out.append("⠒⠒ ", style=BEST_STYLE)
    out.append("best so far")
    return out


# --- one tuning job -----------------------------------------------------------------------------
def _overview(tuning: dict, jobs: list[dict]) -> Table:
    config = tuning["HyperParameterTuningJobConfig"]
    limits = config.get("ResourceLimits") or {}
    status = tuning["HyperParameterTuningJobStatus"]
    counters = tuning.get("TrainingJobStatusCounters") or {}
    objective_counters = tuning.get("ObjectiveStatusCounters") or {}
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    headline = Text(tuning["HyperParameterTuningJobName"], style="bold")
    headline.append("  ")
    headline.append_text(_status(status))
    grid.add_row("tuning job", headline)
    direction = "maximize" if _maximize(tuning) else "minimize"
    strategy = config["Strategy"]
    if config.get("RandomSeed") is not None:
        strategy += f" (seed {config['RandomSeed']})"
    if config.get("TrainingJobEarlyStoppingType") == "Auto":
        strategy += ", early stopping"
    grid.add_row("strategy", f"{strategy}; {direction} {_objective_name(tuning)}")
    total = limits.get("MaxNumberOfTrainingJobs")
    started = len({j["TrainingJobName"] for j in jobs})
    grid.add_row("training jobs",
                 f"{started}" + (f" of {total}" if total else "")
                 + f", {limits.get('MaxParallelTrainingJobs', 1)} at a time:  "
                 + "  ".join(f"{k} {v}" for k, v in counters.items() if v))
    grid.add_row("objective", "  ".join(f"{k} {v}" for k, v in objective_counters.items()))
    runtime = (tuning.get("ConsumedResources") or {}).get("RuntimeInSeconds")
    created = tuning["CreationTime"].strftime("%Y-%m-%d %H:%M:%S")
    grid.add_row("time", f"created {created}, ran {_seconds(runtime)}"
                 + ("" if status in FINAL else " so far"))
    best = tuning.get("BestTrainingJob")
    if best:
        line = Text(best["TrainingJobName"], style="bold")
        line.append(f"  {_number(_objective(best))}", style=BEST_STYLE)
        tuned = best.get("TunedHyperParameters") or {}
        if tuned:
            line.append("  " + " ".join(f"{k}={_hyperparameter(v)}" for k, v in tuned.items()),
                        style="dim")
        grid.add_row("best", line)
    overall = tuning.get("OverallBestTrainingJob")
    if overall and overall.get("TrainingJobName") != (best or {}).get("TrainingJobName"):
        grid.add_row("overall best", f"{overall['TrainingJobName']} "
                     f"({overall.get('TuningJobName', '')})  {_number(_objective(overall))}")
    stale = (tuning.get("TuningJobCompletionDetails") or {}).get(
        "NumberOfTrainingJobsObjectiveNotImproving")
    if stale:
        grid.add_row("not improving", f"for the last {stale} training jobs")
    if tuning.get("FailureReason"):
        grid.add_row("failure", Text(tuning["FailureReason"], style="red"))
    return grid


def jobs_table(tuning: dict, jobs: list[dict], top: int, width: int) -> Table:
    """The training jobs best first: a column per tuned hyperparameter when they fit in
    ``width``, else one column of ``name=value`` pairs."""
    table = _jobs_table(tuning, jobs, top, split=True)
    if Measurement.get(console, console.options.update_width(10_000), table).maximum > width:
        table = _jobs_table(tuning, jobs, top, split=False)
    return table


def _jobs_table(tuning: dict, jobs: list[dict], top: int, split: bool) -> Table:
    maximize = _maximize(tuning)
    order = ranked(jobs, maximize)
    shown = order if top <= 0 else order[:top]
    names: list[str] = []
    for j in jobs:
        for key in j.get("TunedHyperParameters") or {}:
            if key not in names:
                names.append(key)
    definitions = any(j.get("TrainingJobDefinitionName") for j in jobs)
    best = (tuning.get("BestTrainingJob") or {}).get("TrainingJobName")
    table = Table(title=f"training jobs, best first ({len(jobs)})", title_justify="left")
    table.add_column("#", justify="right", style="dim")
    table.add_column("training job", no_wrap=True,
                     min_width=max((len(j["TrainingJobName"]) for j in shown), default=12))
    table.add_column("status", no_wrap=True)
    table.add_column(_objective_name(tuning) or "objective", justify="right", no_wrap=True)
    if definitions:
        table.add_column("definition")
    if split:
        for key in names:
            table.add_column(key, justify="right", no_wrap=True)
    else:
        table.add_column("tuned hyperparameters")
    for rank, j in enumerate(shown, start=1):
        value = _objective(j)
        is_best = j["TrainingJobName"] == best
        cells = [str(rank) if value is not None else "",
                 Text(j["TrainingJobName"], style="bold" if is_best else ""),
                 _status(j["TrainingJobStatus"]),
                 Text(_number(value), style=BEST_STYLE if is_best else "")]
        if definitions:
            cells.append(j.get("TrainingJobDefinitionName", ""))
        tuned = j.get("TunedHyperParameters") or {}
        if split:
            cells += [_hyperparameter(tuned[k]) if k in tuned else "" for k in names]
        else:
            cells.append(" ".join(f"{k}={_hyperparameter(tuned[k])}" for k in names
                                  if k in tuned))
        table.add_row(*cells)
    if len(shown) < len(order):
        table.caption = f"{len(order) - len(shown)} more not shown; --top 0 shows all"
        table.caption_justify = "left"
    return table


def job_view(tuning: dict, jobs: list[dict], top: int, width: int) -> Group:
    values, best = history(jobs, _maximize(tuning))
    graph = Panel(chart(values, best, width=min(CHART_WIDTH, width - 4)),
                  title="objective over time", title_align="left", expand=False)
    return Group(_overview(tuning, jobs), Text(""), graph,
                 jobs_table(tuning, jobs, top, width))


def show_job(config, endpoint_url: Optional[str], name: str, watch: bool, top: int) -> None:
    sm = client(config, "sagemaker", endpoint_url)

    def read() -> tuple[dict, list[dict]]:
        tuning = _call(sm.describe_hyper_parameter_tuning_job, HyperParameterTuningJobName=name)
        return tuning, training_jobs(sm, name)

    tuning, jobs = read()
    if not watch:
        console.print(job_view(tuning, jobs, top, console.width))
        return
    try:
        with Live(job_view(tuning, jobs, top, console.width), console=console,
                  refresh_per_second=4, transient=False) as live:
            while tuning["HyperParameterTuningJobStatus"] not in FINAL:
                time.sleep(POLL_SECONDS)
                tuning, jobs = read()
                live.update(job_view(tuning, jobs, top, console.width))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    status = tuning["HyperParameterTuningJobStatus"]
    if status == "Failed":
        raise typer.Exit(1)
    if status == "Stopped":
        raise typer.Exit(2)


# --- every tuning job ---------------------------------------------------------------------------
# Without JOB: the columns in the order they go when the terminal is too narrow for all.
_OPTIONAL = ("runtime", "created", "failed", "running", "objective")


def _list_rows(sm, summaries: list[dict]) -> list[dict]:
    rows = []
    for s in summaries:
        name = s["HyperParameterTuningJobName"]
        counters = s.get("TrainingJobStatusCounters") or {}
        done = sum(counters.get(k, 0) for k in ("Completed", "Stopped", "RetryableError",
                                                 "NonRetryableError"))
        limit = (s.get("ResourceLimits") or {}).get("MaxNumberOfTrainingJobs")
        failed = counters.get("RetryableError", 0) + counters.get("NonRetryableError", 0)
        try:  # the summary has neither the objective nor the best job; the description has
            detail = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        except ClientError:  # deleted meanwhile
            detail = {}
        best = detail.get("BestTrainingJob") or {}
        rows.append({
            "name": name, "status": _status(s["HyperParameterTuningJobStatus"]),
            "strategy": s.get("Strategy", ""),
            "objective": (("max " if _maximize(detail) else "min ") + _objective_name(detail)
                          if detail else ""),
            "jobs": f"{done}" + (f"/{limit}" if limit else ""),
            "running": str(counters.get("InProgress", 0) or ""), "failed": str(failed or ""),
            "best": _number(_objective(best)) if best else "",
            "created": s["CreationTime"].strftime("%m-%d %H:%M"),
            "runtime": _seconds((detail.get("ConsumedResources") or {}).get("RuntimeInSeconds"))})
    return rows


def _list_table(sm, summaries: list[dict], width: int) -> Table:
    rows = _list_rows(sm, summaries)
    columns = ["name", "status", "strategy", "objective", "jobs", "running", "failed", "best",
               "created", "runtime"]
    for drop in (None,) + _OPTIONAL:
        if drop:
            columns.remove(drop)
        table = Table(title=f"hyperparameter tuning jobs ({len(summaries)})")
        for col in columns:
            table.add_column(col, no_wrap=True, justify="right" if col in (
                "jobs", "running", "failed", "best", "runtime") else "left")
        for row in rows:
            table.add_row(*(row[col] for col in columns))
        if Measurement.get(console, console.options.update_width(10_000),
                           table).maximum <= width:
            break
    return table


def list_tuning_jobs(config, endpoint_url: Optional[str], status: Optional[str], limit: int,
                     watch: bool) -> None:
    sm = client(config, "sagemaker", endpoint_url)
    kwargs = {"MaxResults": min(max(limit, 1), 100), "SortBy": "CreationTime",
              "SortOrder": "Descending"}
    if status:
        kwargs["StatusEquals"] = status

    def read() -> list[dict]:
        return _call(sm.list_hyper_parameter_tuning_jobs,
                     **kwargs)["HyperParameterTuningJobSummaries"]

    summaries = read()
    if not watch:
        console.print(_list_table(sm, summaries, console.width))
        return
    try:
        with Live(_list_table(sm, summaries, console.width), console=console, refresh_per_second=4,
                  transient=False) as live:
            while any(s["HyperParameterTuningJobStatus"] not in FINAL for s in summaries):
                time.sleep(POLL_SECONDS)
                summaries = read()
                live.update(_list_table(sm, summaries, console.width))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
