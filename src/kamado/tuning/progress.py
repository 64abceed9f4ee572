"""What a tuning job reports of its training jobs: status counters, objective counters, the
best job and each job's summary, as DescribeHyperParameterTuningJob and
ListTrainingJobsForHyperParameterTuningJob answer them.

A training job that failed for an internal reason (``InternalServerError``…) is a
``RetryableError`` and the tuning job runs its hyperparameters again; any other failure is a
``NonRetryableError``. A job stopped early still has an objective value (its last one) and
counts as ``Succeeded`` for the objective, as SageMaker counts it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

RETRYABLE = ("InternalServerError", "CapacityError")


@dataclass
class Child:
    name: str
    arn: str
    status: str  # the training job's status
    creation_time: dt.datetime
    definition: str | None
    tuned: dict[str, str]
    objective_name: str
    objective_type: str  # "Maximize" or "Minimize"
    objective: float | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    failure: str | None = None
    trial: int = 0
    retried: bool = False  # a later job ran its hyperparameters again

    @property
    def retryable(self) -> bool:
        return self.status == "Failed" and (self.failure or "").startswith(RETRYABLE)

    @property
    def objective_status(self) -> str:
        if self.status in ("InProgress", "Stopping"):
            return "Pending"
        if self.status in ("Completed", "Stopped") and self.objective is not None:
            return "Succeeded"
        return "Failed"


def better(a: float, b: float | None, maximize: bool) -> bool:
    return b is None or (a > b if maximize else a < b)


def objectives(children: list[Child]) -> list[float]:
    """The objective values of the jobs that have one, in the order the jobs ended."""
    done = [c for c in children if c.objective_status == "Succeeded"]
    done.sort(key=lambda c: (c.end or c.creation_time, c.creation_time))
    return [c.objective for c in done]


def not_improving(values: list[float], maximize: bool) -> int:
    """How many jobs have ended since the last one that improved the best objective."""
    best, count = None, 0
    for v in values:
        if better(v, best, maximize):
            best, count = v, 0
        else:
            count += 1
    return count


def converged(values: list[float], maximize: bool, *, least: int = 10) -> bool:
    """ConvergenceDetected: at least ``least`` objectives, and the best of the later half is
    within 0.1% of their spread of the best of the earlier half — the search has stopped
    finding better models."""
    if len(values) < least:
        return False
    half = len(values) // 2
    pick = max if maximize else min
    early, late = pick(values[:half]), pick(values)
    spread = max(values) - min(values)
    gain = (late - early) if maximize else (early - late)
    return gain <= 0.001 * spread


def counters(children: list[Child]) -> tuple[dict, dict]:
    """TrainingJobStatusCounters and ObjectiveStatusCounters."""
    status = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0,
              "Stopped": 0}
    objective = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for c in children:
        if c.status in ("InProgress", "Stopping"):
            status["InProgress"] += 1
        elif c.status == "Failed":
            status["RetryableError" if c.retryable else "NonRetryableError"] += 1
        else:
            status[c.status] = status.get(c.status, 0) + 1
        objective[c.objective_status] += 1
    return status, objective


def best(children: list[Child]) -> Child | None:
    found = None
    for c in children:
        if c.objective_status != "Succeeded":
            continue
        if found is None or better(c.objective, found.objective, c.objective_type == "Maximize"):
            found = c
    return found


def summary(child: Child, tuning_name: str | None = None) -> dict:
    """A HyperParameterTrainingJobSummary."""
    out = {"TrainingJobName": child.name, "TrainingJobArn": child.arn,
           "CreationTime": child.creation_time, "TrainingJobStatus": child.status,
           "TunedHyperParameters": dict(child.tuned), "ObjectiveStatus": child.objective_status}
    if child.definition:
        out["TrainingJobDefinitionName"] = child.definition
    if tuning_name:
        out["TuningJobName"] = tuning_name
    if child.start:
        out["TrainingStartTime"] = child.start
    if child.end:
        out["TrainingEndTime"] = child.end
    if child.failure:
        out["FailureReason"] = child.failure
    if child.objective is not None:
        out["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": child.objective_type, "MetricName": child.objective_name,
            "Value": child.objective}
    return out
