"""`kamado tuning`'s pure parts: training jobs best first, the objective in the order jobs
ended, and the braille chart drawn from it."""

from __future__ import annotations

import datetime as dt

from rich.console import Console

from kamado.cli.tuning import chart, history, ranked

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def job(name: str, status: str = "Completed", value: float | None = None, ended: int | None = None,
        created: int = 0) -> dict:
    out = {"TrainingJobName": name, "TrainingJobStatus": status,
           "CreationTime": T0 + dt.timedelta(seconds=created)}
    if ended is not None:
        out["TrainingEndTime"] = T0 + dt.timedelta(seconds=ended)
    if value is not None:
        out["FinalHyperParameterTuningJobObjectiveMetric"] = {"Value": value}
    return out


def render(text, width: int = 80) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(text)
    return console.export_text()


def test_ranked_puts_the_best_first_then_running_then_failed():
    jobs = [job("a", value=0.5), job("b", "Failed"), job("c", value=0.9), job("d", "InProgress"),
            job("e", value=0.7)]
    assert [j["TrainingJobName"] for j in ranked(jobs, maximize=True)] == ["c", "e", "a", "d", "b"]
    assert [j["TrainingJobName"] for j in ranked(jobs, maximize=False)] == ["a", "e", "c", "d", "b"]


def test_history_follows_the_order_jobs_ended():
    jobs = [job("a", value=3.0, ended=30, created=0), job("b", value=1.0, ended=10, created=1),
            job("c", "InProgress", created=2), job("d", value=2.0, ended=20, created=3)]
    assert history(jobs, maximize=False) == ([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
    assert history(jobs, maximize=True) == ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])


def test_chart_draws_points_the_best_line_and_the_axes():
    values, best = [3.0, 2.0, 4.0, 1.0], [3.0, 2.0, 2.0, 1.0]
    lines = render(chart(values, best, width=40, height=8)).splitlines()
    plot = lines[:8]
    assert plot[0].startswith("4.00 ┤") and plot[-1].startswith("1.00 ┤")
    assert sum(line.count("•") for line in plot) == 4
    assert all(any("\u2800" < ch <= "\u28ff" for ch in line) for line in plot[2:7])
    # The last job, the new best, is the rightmost mark on the bottom row.
    assert plot[-1].rstrip().endswith("•")
    assert lines[8].lstrip().startswith("└")
    assert lines[9].split() == ["1", "jobs", "in", "the", "order", "they", "ended", "4"]
    assert all(len(line.rstrip()) <= 40 for line in lines[:10])


def test_chart_of_one_value_and_of_none():
    lines = render(chart([0.5], [0.5], width=30)).splitlines()
    assert sum(line.count("•") for line in lines[:8]) == 1
    assert "no training job has reported" in render(chart([], []))
