"""`kamado tuning [JOB] [--watch]` against a real server with a finished tuning job: the job's
overview, its training jobs best first, and the objective over time as a braille chart."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.e2e.tuning.conftest import tuning_config, wait_tuning, xgboost_definition

NAME = "cli-tuned"
JOBS = 6


def kamado(server, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kamado.cli.main", *args],
                          env={**server.env(), "COLUMNS": "200"}, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def finished(tuning_server, sm):
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=NAME,
        HyperParameterTuningJobConfig=tuning_config(jobs=JOBS, parallel=2, RandomSeed=7),
        TrainingJobDefinition=xgboost_definition())
    job = wait_tuning(sm, NAME, statuses=("Completed",))
    assert job["TrainingJobStatusCounters"]["Completed"] == JOBS
    return job


def _rows(stdout: str) -> list[list[str]]:
    """The cells of each body row of the Rich tables in ``stdout``."""
    return [[c.strip() for c in line.strip().strip("│").split("│")]
            for line in stdout.splitlines() if line.startswith("│ ") and line.count("│") > 3]


def test_a_finished_job_shows_its_best_job_first_and_the_chart(tuning_server, finished):
    best = finished["BestTrainingJob"]
    value = best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    out = kamado(tuning_server, "tuning", NAME)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "Completed" in text and "Bayesian (seed 7)" in text
    assert f"{JOBS} of {JOBS}, 2 at a time" in text
    assert re.search(rf"best\s+{best['TrainingJobName']}\s+{value:.6g}", text)

    # The table: every training job, the best one first with its value and tuned values.
    rows = [r for r in _rows(text) if r[1].startswith(f"{NAME}-")]
    assert len(rows) == JOBS
    first = rows[0]
    assert first[:4] == ["1", best["TrainingJobName"], "Completed", f"{value:.6g}"]
    header = next(line for line in text.splitlines() if "training job" in line and "┃" in line)
    assert "validation:auc" in header and "eta" in header and "max_depth" in header
    tuned = best["TunedHyperParameters"]
    assert sorted(first[4:]) == sorted([tuned["max_depth"], f"{float(tuned['eta']):.4g}"])
    values = [float(r[3]) for r in rows]
    assert values == sorted(values, reverse=True)  # Maximize: best first

    # The chart: braille for the best-so-far line, a marker per job, axes from 1 to JOBS.
    assert "objective over time" in text
    chart = text[text.index("objective over time"):text.index("training jobs, best first")]
    assert re.search("[\u2801-\u28ff]", chart), chart
    assert 1 <= chart.count("•") - 1 <= JOBS  # one is the legend's; markers may share a cell
    assert re.search(rf"1\s+jobs in the order they ended\s+{JOBS}\b", chart), chart
    top_label = re.search(r"│\s*([0-9.]+) ┤", chart).group(1)
    assert abs(float(top_label) - max(values)) < 1e-3


def test_the_list_and_watch(tuning_server, finished):
    out = kamado(tuning_server, "tuning")
    assert out.returncode == 0, out.stderr
    row = next(r for r in _rows(out.stdout) if r[0] == NAME)
    value = finished["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    assert row[1:5] == ["Completed", "Bayesian", "max validation:auc", f"{JOBS}/{JOBS}"]
    assert f"{value:.6g}" in row

    # --watch on a job that has ended draws it once and exits with its status's code.
    watched = kamado(tuning_server, "tuning", NAME, "--watch", "--top", "2")
    assert watched.returncode == 0, watched.stderr
    assert finished["BestTrainingJob"]["TrainingJobName"] in watched.stdout
    assert f"{JOBS - 2} more not shown" in watched.stdout

    missing = kamado(tuning_server, "tuning", "no-such-tuning-job")
    assert missing.returncode == 2
    assert "can't find a tuning job" in missing.stdout
