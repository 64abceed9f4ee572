"""The engine across server restarts, under a slot limit, and from the CLI."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.e2e.training.conftest import job_request, start_server, wait_for, wait_for_file


def test_a_server_killed_mid_job_requeues_it_and_it_completes(tmp_path):
    srv = start_server(tmp_path)
    try:
        srv.client("s3").create_bucket(Bucket="data")
        sm = srv.client("sagemaker")
        marker, release = tmp_path / "started", tmp_path / "release"
        sm.create_training_job(**job_request("survivor", hp={
            "mode": "block", "marker": marker, "release": release}))
        wait_for_file(marker)
        orphan = int(marker.read_text())
        srv.kill()
        marker.unlink()
        release.touch()  # the next attempt finishes at once

        srv.start()
        sm = srv.client("sagemaker")
        job = wait_for(sm, "survivor")
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        statuses = [s["Status"] for s in job["SecondaryStatusTransitions"]]
        assert statuses[:2] == ["Starting", "Downloading"]
        assert "Restarting" in statuses and statuses[-1] == "Completed"
        # The first attempt's program did not outlive its server.
        try:
            os.kill(orphan, 0)
            alive = open(f"/proc/{orphan}/cmdline").read()
        except (ProcessLookupError, FileNotFoundError):
            alive = ""
        assert "probe" not in alive and "train" not in alive
    finally:
        srv.stop()


def test_a_job_interrupted_more_often_than_its_retries_allow_fails_with_a_reason(tmp_path):
    srv = start_server(tmp_path)
    try:
        srv.client("s3").create_bucket(Bucket="data")
        marker = tmp_path / "started"
        srv.client("sagemaker").create_training_job(**job_request(
            "fragile", hp={"mode": "block", "marker": marker}))
        for _ in range(2):  # one restart is allowed (RetryStrategy absent)
            wait_for_file(marker)
            marker.unlink()
            srv.kill()
            srv.start()
        job = wait_for(srv.client("sagemaker"), "fragile")
        assert job["TrainingJobStatus"] == "Failed"
        assert job["FailureReason"].startswith("InternalServerError: kamado stopped while the job ran")
    finally:
        srv.stop()


def test_twenty_jobs_with_two_slots_run_two_at_a_time_and_all_complete(tmp_path):
    srv = start_server(tmp_path, KAMADO_MAX_CONCURRENT_JOBS="2")
    try:
        srv.client("s3").create_bucket(Bucket="data")
        sm = srv.client("sagemaker")
        log = tmp_path / "intervals.log"
        for i in range(20):
            sm.create_training_job(**job_request(f"batch-{i:02d}", hp={
                "mode": "concurrency", "log": log, "seconds": 0.2, "rounds": 1}))
        jobs = [wait_for(sm, f"batch-{i:02d}") for i in range(20)]
        assert [j["TrainingJobStatus"] for j in jobs] == ["Completed"] * 20
        running = peak = 0
        events = sorted((float(t), kind) for kind, t in
                        (line.split() for line in log.read_text().splitlines()))
        for _, kind in events:  # at equal times an end sorts before a start
            running += 1 if kind == "start" else -1
            peak = max(peak, running)
        assert peak == 2
        assert len(events) == 40
    finally:
        srv.stop()


def test_cli_lists_waits_for_and_prints_the_log_of_a_job(tmp_path):
    srv = start_server(tmp_path)
    try:
        srv.client("s3").create_bucket(Bucket="data")
        sm = srv.client("sagemaker")
        sm.create_training_job(**job_request("cli-job", hp={"rounds": 2}))
        sm.create_training_job(**job_request("cli-bad", hp={"mode": "fail", "message": "nope"}))
        env = {**srv.env(), "COLUMNS": "200"}

        def kamado(*args):
            return subprocess.run([sys.executable, "-m", "kamado.cli.main", *args], env=env,
                                  capture_output=True, text=True, timeout=120)

        waited = kamado("wait", "cli-job")
        assert waited.returncode == 0, waited.stdout + waited.stderr
        assert "Completed" in waited.stdout and "model.tar.gz" in waited.stdout
        failed = kamado("wait", "cli-bad")
        assert failed.returncode == 1 and "AlgorithmError: nope" in failed.stdout

        logs = kamado("logs", "cli-job", "--follow")
        assert logs.returncode == 0
        assert logs.stdout.splitlines()[-1] == "probe done"
        assert "[1]#011train-loss:0.5000#011validation-loss:1.0000" in logs.stdout

        listed = kamado("jobs")
        assert listed.returncode == 0
        assert "cli-job" in listed.stdout and "Completed" in listed.stdout
        assert "cli-bad" in listed.stdout and "Failed" in listed.stdout

        missing = kamado("wait", "no-such-job")
        assert missing.returncode == 2 and "does not exist" in missing.stdout
    finally:
        srv.stop()
