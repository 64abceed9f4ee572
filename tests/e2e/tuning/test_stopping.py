"""Early stopping, Hyperband, completion criteria, retries, failures, StopHyperParameterTuningJob
and warm start, on the probe image whose loss curve its hyperparameters set (built to trigger
each rule whatever order the sampler picks)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.e2e.training.conftest import wait_for
from tests.e2e.tuning.conftest import probe_definition, training_jobs, tuning_config, wait_tuning

RANGES = {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]}


def probe_search(sm, name: str, tmp_path, static: dict, *, strategy: str = "Random",
                 jobs: int = 6, parallel: int = 1, **config) -> None:
    static = {"counter": str(tmp_path / f"{name}.count"), **static}
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, TrainingJobDefinition=probe_definition(static),
        HyperParameterTuningJobConfig=tuning_config(
            strategy, ranges=RANGES, jobs=jobs, parallel=parallel, metric="validation:loss",
            kind="Minimize", **config))


def test_early_stopping_stops_jobs_worse_than_the_median(sm, tmp_path):
    # Three good jobs finish; every later one reports a loss 10x worse from its first round.
    probe_search(sm, "early", tmp_path, {"good_jobs": "3", "rounds": "10",
                                         "round_seconds": "0.2"},
                 jobs=5, TrainingJobEarlyStoppingType="Auto")
    job = wait_tuning(sm, "early")
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["TrainingJobStatusCounters"]["Completed"] == 3
    assert job["TrainingJobStatusCounters"]["Stopped"] == 2
    assert job["ObjectiveStatusCounters"]["Succeeded"] == 5  # a stopped job keeps its objective
    stopped = training_jobs(sm, "early", StatusEquals="Stopped")
    for child in stopped:
        described = sm.describe_training_job(TrainingJobName=child["TrainingJobName"])
        points = [m for m in described["FinalMetricDataList"] if m["MetricName"] == "validation:loss"]
        # stopped before its last round (which would report 2 * scale / 10)
        assert points and points[0]["Value"] > 2 * 10 / 10
    assert job["BestTrainingJob"]["TrainingJobStatus"] == "Completed"


def test_hyperband_stops_under_performing_jobs(sm, tmp_path):
    probe_search(sm, "hyperband-probe", tmp_path, {"good_jobs": "2", "rounds": "9",
                                                   "round_seconds": "0.15"},
                 strategy="Hyperband", jobs=8,
                 StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 9}})
    job = wait_tuning(sm, "hyperband-probe")
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["TrainingJobStatusCounters"]["Stopped"] >= 1
    assert job["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] \
        == pytest.approx(2 / 9, abs=1e-3)  # a good job that ran all nine rounds


def test_target_objective_value_ends_the_search(sm, tmp_path):
    probe_search(sm, "target", tmp_path, {}, jobs=6,
                 TuningJobCompletionCriteria={"TargetObjectiveMetricValue": 1.0})
    job = wait_tuning(sm, "target")
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["TrainingJobStatusCounters"]["Completed"] == 1  # 2/3 <= 1.0 at once


def test_best_objective_not_improving_ends_the_search(sm, tmp_path):
    probe_search(sm, "stale", tmp_path, {"good_jobs": "1"}, jobs=8,
                 TuningJobCompletionCriteria={
                     "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 3}})
    job = wait_tuning(sm, "stale")
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["TrainingJobStatusCounters"]["Completed"] == 4
    assert job["TuningJobCompletionDetails"]["NumberOfTrainingJobsObjectiveNotImproving"] == 3


def test_convergence_ends_the_search(sm, tmp_path):
    probe_search(sm, "converged", tmp_path, {}, jobs=15, TuningJobCompletionCriteria={
        "ConvergenceDetected": {"CompleteOnConvergence": "Enabled"}})
    job = wait_tuning(sm, "converged")
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["TrainingJobStatusCounters"]["Completed"] == 10  # every job the same loss
    assert "ConvergenceDetectedTime" in job["TuningJobCompletionDetails"]


def test_a_job_failing_for_an_internal_reason_is_retried(sm, tmp_path):
    probe_search(sm, "retry", tmp_path, {"fail_counts": "1",
                                         "message": "InternalServerError: the host went away"},
                 jobs=2)
    job = wait_tuning(sm, "retry")
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["TrainingJobStatusCounters"]["RetryableError"] == 1
    assert job["TrainingJobStatusCounters"]["Completed"] == 2
    children = training_jobs(sm, "retry", SortBy="CreationTime", SortOrder="Ascending")
    assert len(children) == 3
    assert children[0]["TrainingJobStatus"] == "Failed"
    assert children[0]["TunedHyperParameters"] == children[1]["TunedHyperParameters"]


def test_a_search_whose_jobs_all_fail_fails_with_their_reason(sm, tmp_path):
    probe_search(sm, "failing", tmp_path, {"fail_counts": ",".join(map(str, range(1, 20))),
                                           "message": "ClientError: bad input column"},
                 jobs=10, parallel=1)
    job = wait_tuning(sm, "failing")
    assert job["HyperParameterTuningJobStatus"] == "Failed"
    assert "bad input column" in job["FailureReason"]
    assert job["TrainingJobStatusCounters"]["NonRetryableError"] == 3
    assert job["ObjectiveStatusCounters"]["Failed"] == 3
    # jobs that returned no objective are not listed when sorting by it, as AWS documents
    assert training_jobs(sm, "failing", SortBy="FinalObjectiveMetricValue") == []
    assert len(training_jobs(sm, "failing")) == 3


def test_stopping_a_tuning_job_stops_its_training_jobs(sm, tmp_path):
    marker, release = tmp_path / "running", tmp_path / "release"
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="stopped", TrainingJobDefinition=probe_definition(
            {"mode": "block", "marker": str(marker), "release": str(release)}),
        HyperParameterTuningJobConfig=tuning_config(
            ranges=RANGES, jobs=4, parallel=2, metric="validation:loss", kind="Minimize"))
    wait_tuning(sm, "stopped", statuses=("InProgress",))
    running = wait_children(sm, "stopped", 2)
    for child in running:
        wait_for(sm, child, statuses=("Training",))
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="stopped")
    job = wait_tuning(sm, "stopped")
    assert job["HyperParameterTuningJobStatus"] == "Stopped"
    assert job["TrainingJobStatusCounters"]["Stopped"] == 2
    for child in training_jobs(sm, "stopped"):
        assert child["TrainingJobStatus"] == "Stopped"
    with pytest.raises(ClientError) as err:
        sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="stopped")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    sm.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName="stopped")
    with pytest.raises(ClientError):
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="stopped")
    # the training jobs stay, as on AWS
    assert sm.describe_training_job(TrainingJobName=running[0])["TrainingJobStatus"] == "Stopped"


def wait_children(sm, name: str, count: int, timeout: float = 60.0) -> list[str]:
    from tests.conftest import wait_status

    job = wait_status(lambda: {"n": len(training_jobs(sm, name)), "jobs": training_jobs(sm, name)},
                      lambda r: "enough" if r["n"] >= count else "waiting", ("enough",), name,
                      timeout)
    return [c["TrainingJobName"] for c in job["jobs"]]


def test_warm_start_carries_the_parents_results(sm, tmp_path):
    probe_search(sm, "parent", tmp_path, {}, jobs=2)
    parent = wait_tuning(sm, "parent")
    assert parent["HyperParameterTuningJobStatus"] == "Completed"
    # The child search only finds worse models; its overall best is the parent's.
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="child", TrainingJobDefinition=probe_definition(
            {"scale": "5"}),
        HyperParameterTuningJobConfig=tuning_config(
            "Bayesian", ranges=RANGES, jobs=2, parallel=1, metric="validation:loss",
            kind="Minimize"),
        WarmStartConfig={"ParentHyperParameterTuningJobs": [
            {"HyperParameterTuningJobName": "parent"}], "WarmStartType": "TransferLearning"})
    child = wait_tuning(sm, "child")
    assert child["HyperParameterTuningJobStatus"] == "Completed", child.get("FailureReason")
    assert child["BestTrainingJob"]["TrainingJobName"].startswith("child-")
    overall = child["OverallBestTrainingJob"]
    assert overall["TrainingJobName"] == parent["BestTrainingJob"]["TrainingJobName"]
    assert overall["TuningJobName"] == "parent"
    assert child["WarmStartConfig"]["WarmStartType"] == "TransferLearning"
