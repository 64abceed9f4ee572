"""`kamado experiments [NAME]` against a real server: experiments with their trial and run
counts, and one experiment's runs side by side with the best value of each metric marked."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from tests.e2e.experiments.conftest import loss_job, unique
from tests.e2e.training.conftest import wait_for

BEST = "★"


def kamado(server, *args: str, width: int = 250) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kamado.cli.main", *args],
                          env={**server.env(), "COLUMNS": str(width)}, capture_output=True,
                          text=True, timeout=60)


def rows(stdout: str) -> list[list[str]]:
    """The cells of each body row of the Rich tables in ``stdout``."""
    return [[c.strip() for c in line.strip().strip("│").split("│")]
            for line in stdout.splitlines() if line.startswith("│ ") and line.count("│") > 3]


def header(stdout: str) -> list[str]:
    line = next(line for line in stdout.splitlines() if line.startswith("┃"))
    return [c.strip() for c in line.strip().strip("┃").split("┃")]


RUNS = {  # run -> (lr, optimizer, losses, accuracy)
    "alpha": (0.1, "adam", [0.9, 0.5, 0.4], 0.90),
    "beta": (0.01, "sgd", [0.8, 0.3, 0.35], 0.95),
    "gamma": (0.5, "adam", [0.7, 0.6, 0.2], None),
}


@pytest.fixture(scope="module")
def experiment(sm, metrics):
    name = unique("cli-exp")
    sm.create_experiment(ExperimentName=name)
    sm.create_trial(TrialName=f"{name}-group", ExperimentName=name)
    now = dt.datetime.now(dt.timezone.utc)
    for run, (lr, opt, losses, accuracy) in RUNS.items():
        tc = f"{name}-{run}"
        sm.create_trial_component(TrialComponentName=tc, DisplayName=run,
                                  Status={"PrimaryStatus": "Completed"},
                                  Parameters={"lr": {"NumberValue": lr},
                                              "optimizer": {"StringValue": opt}})
        data = [{"MetricName": "loss", "Value": v, "Step": i, "Timestamp": now}
                for i, v in enumerate(losses)]
        if accuracy is not None:
            data.append({"MetricName": "accuracy", "Value": accuracy, "Timestamp": now})
        metrics.batch_put_metrics(TrialComponentName=tc, MetricData=data)
        sm.associate_trial_component(TrialComponentName=tc, TrialName=f"{name}-group")
    # A training job filed in the experiment: a run (and a trial) of its own.
    job = unique("cli-job")
    sm.create_training_job(**loss_job(job, rounds=2, ExperimentConfig={"ExperimentName": name}))
    wait_for(sm, job)
    return name, job


def test_experiments_lists_trial_and_run_counts(exp_server, experiment):
    name, _ = experiment
    out = kamado(exp_server, "experiments")
    assert out.returncode == 0, out.stderr
    mine = [r for r in rows(out.stdout) if r[0] == name]
    assert len(mine) == 1
    assert mine[0][2:4] == ["2", "4"]  # the group and the job's own trial; 3 runs + the job
    assert header(out.stdout)[:4] == ["experiment", "source", "trials", "runs"]


def test_one_experiment_compares_its_runs(exp_server, experiment):
    name, job = experiment
    out = kamado(exp_server, "experiments", name)
    assert out.returncode == 0, out.stderr
    columns = header(out.stdout)
    assert columns[:3] == ["run", "trial", "status"]
    assert {"lr", "optimizer", "loss last", "loss avg", "accuracy last", "accuracy avg",
            "train:loss last", "validation:loss avg"} <= set(columns)
    assert not any(c.startswith("SageMaker.") for c in columns)  # unless --all-params
    table = {r[0]: dict(zip(columns, r)) for r in rows(out.stdout)}
    assert set(table) == {*RUNS, f"{job}-aws-training-job"}
    for run, (lr, opt, losses, accuracy) in RUNS.items():
        row = table[run]
        assert (row["trial"], row["status"], row["optimizer"]) == (
            f"{name}-group", "Completed", opt)
        assert float(row["lr"]) == lr
        assert float(row["loss last"].lstrip(BEST)) == losses[-1]
        assert float(row["loss avg"].lstrip(BEST)) == pytest.approx(sum(losses) / 3, rel=1e-5)
        assert (row["accuracy last"] == "") == (accuracy is None)
    # Lower is better for a loss, higher for an accuracy: one mark per column, on the best.
    marked = {c: [run for run, row in table.items() if row[c].startswith(BEST)]
              for c in ("loss last", "loss avg", "accuracy last")}
    assert marked == {"loss last": ["gamma"], "loss avg": ["beta"], "accuracy last": ["beta"]}
    job_row = table[f"{job}-aws-training-job"]
    assert job_row["status"] == "Completed" and job_row["trial"] == f"{job}-aws-trial"
    assert float(job_row["train:loss last"].lstrip(BEST)) == 0.5
    assert "lower is better for loss" in out.stdout


def test_sorting_and_the_direction_of_better(exp_server, experiment):
    name, _ = experiment
    out = kamado(exp_server, "experiments", name, "--sort", "accuracy")
    assert out.returncode == 0, out.stderr
    order = [r[0] for r in rows(out.stdout)]
    assert order[:2] == ["beta", "alpha"]  # best first; runs without accuracy after
    out = kamado(exp_server, "experiments", name, "--sort", "loss", "--maximize", "loss",
                 "--all-params", width=500)
    columns = header(out.stdout)
    table = [dict(zip(columns, r)) for r in rows(out.stdout)]
    assert [r["run"] for r in table][:3] == ["alpha", "beta", "gamma"]  # 0.4, 0.35, 0.2
    assert table[0]["loss last"].startswith(BEST)
    assert "SageMaker.InstanceType" in columns


def test_what_cannot_be_shown(exp_server, experiment):
    name, _ = experiment
    out = kamado(exp_server, "experiments", unique("missing"))
    assert out.returncode == 2 and "does not exist" in out.stdout
    out = kamado(exp_server, "experiments", name, "--sort", "f1")
    assert out.returncode == 2 and "no run" in out.stdout and "loss" in out.stdout
