"""A server killed in the middle of a search resumes it: no trial is lost or run twice."""

from __future__ import annotations

from tests.e2e.training.conftest import start_server
from tests.e2e.tuning.conftest import probe_definition, training_jobs, tuning_config, wait_tuning
from tests.e2e.tuning.test_stopping import RANGES, wait_children


def test_a_killed_server_resumes_the_search(tmp_path):
    srv = start_server(tmp_path / "a", KAMADO_MAX_CONCURRENT_JOBS="2")
    try:
        srv.client("s3").create_bucket(Bucket="data")
        sm = srv.client("sagemaker")
        sm.create_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="resumed",
            TrainingJobDefinition=probe_definition({"rounds": "4", "round_seconds": "0.25"}),
            HyperParameterTuningJobConfig=tuning_config(
                "Bayesian", ranges=RANGES, jobs=6, parallel=1, metric="validation:loss",
                kind="Minimize", RandomSeed=4))
        before = wait_children(sm, "resumed", 3)
        srv.kill()  # SIGKILL: nothing is written on the way out
        srv.start()
        sm = srv.client("sagemaker")
        job = wait_tuning(sm, "resumed")
        assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
        children = training_jobs(sm, "resumed", SortBy="CreationTime", SortOrder="Ascending")
        names = [c["TrainingJobName"] for c in children]
        before = sorted(before)  # listed by name, which carries the launch order
        assert names[:len(before)] == before and len(set(names)) == len(names) == 6
        assert len({c["TunedHyperParameters"]["x"] for c in children}) == 6
        assert job["TrainingJobStatusCounters"]["Completed"] == 6
        assert job["ObjectiveStatusCounters"]["Succeeded"] == 6
        # the job that was running when the server died ran again and finished
        interrupted = sm.describe_training_job(TrainingJobName=before[-1])
        assert "Restarting" in [t["Status"] for t in interrupted["SecondaryStatusTransitions"]]
    finally:
        srv.stop()
