"""Counters, the best job and the completion criteria's arithmetic."""

from __future__ import annotations

import datetime as dt

from kamado.tuning.progress import Child, best, converged, counters, not_improving, objectives, summary

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def child(name, status, objective=None, failure=None, end=0, kind="Maximize") -> Child:
    return Child(name, f"arn:{name}", status, T0, None, {"eta": "0.1"}, "validation:auc", kind,
                 objective, T0, T0 + dt.timedelta(seconds=end), failure)


def test_counters_follow_statuses_and_failure_kinds():
    kids = [child("a", "Completed", 0.9), child("b", "Stopped", 0.8), child("c", "InProgress"),
            child("d", "Failed", failure="InternalServerError: lost"),
            child("e", "Failed", failure="AlgorithmError: bad"), child("f", "Completed")]
    status, objective = counters(kids)
    assert status == {"Completed": 2, "InProgress": 1, "RetryableError": 1,
                      "NonRetryableError": 1, "Stopped": 1}
    assert objective == {"Succeeded": 2, "Pending": 1, "Failed": 3}
    assert best(kids).name == "a"
    assert best([child("x", "Completed", 0.3, kind="Minimize"),
                 child("y", "Completed", 0.2, kind="Minimize")]).name == "y"


def test_summary_carries_the_objective():
    s = summary(child("a", "Completed", 0.9), "tune")
    assert s["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "Type": "Maximize", "MetricName": "validation:auc", "Value": 0.9}
    assert s["TuningJobName"] == "tune" and s["ObjectiveStatus"] == "Succeeded"


def test_objectives_come_in_the_order_jobs_ended():
    kids = [child("late", "Completed", 0.5, end=9), child("early", "Completed", 0.7, end=1)]
    assert objectives(kids) == [0.7, 0.5]
    assert not_improving([0.5, 0.7, 0.6, 0.65], maximize=True) == 2
    assert not_improving([0.5, 0.4, 0.3], maximize=False) == 0


def test_convergence_needs_ten_values_and_no_gain():
    assert not converged([1.0] * 9, maximize=True)
    assert converged([1.0] * 10, maximize=True)
    rising = [0.1 * i for i in range(12)]
    assert not converged(rising, maximize=True)
    assert converged(rising[::-1], maximize=True)  # the best came first
