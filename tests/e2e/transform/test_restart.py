"""A kamado server killed in the middle of a transform job: the next start ends the job's
orphaned model servers and runs the job again, to Completed."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import xgboost as xgb
from sklearn.datasets import load_breast_cancer

from tests.conftest import KamadoServer
from tests.e2e.hosting.conftest import XGBOOST, booster_model, create_model, csv_rows
from tests.e2e.transform.conftest import keys_under, wait_job


def model_servers(home) -> set[int]:
    """The pids of processes working in a job directory under ``home`` (a model server's
    working directory is its /opt/ml)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if cwd.startswith(str(home / "jobs") + "/"):
            found.add(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def server(tmp_path):
    srv = KamadoServer(tmp_path / "home").start()
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


def test_a_job_interrupted_by_a_restart_runs_again(server, tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3},
                        xgb.DMatrix(X, label=y), num_boost_round=10)
    s3, sm = server.client("s3"), server.client("sagemaker")
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="model.tar.gz", Body=booster_model(booster))
    create_model(sm, "m", XGBOOST, "s3://data/model.tar.gz")
    rows = np.tile(X[:100], (3, 1))
    for i in range(4):
        s3.put_object(Bucket="data", Key=f"in/{i}.csv", Body=csv_rows(rows))
    sm.create_transform_job(
        TransformJobName="interrupted", ModelName="m", BatchStrategy="SingleRecord",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                        "S3Uri": "s3://data/in/"}},
                        "ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": "s3://data/out/"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    deadline = time.monotonic() + 60
    while not keys_under(s3, "out/", bucket="data"):
        assert time.monotonic() < deadline, "no output object appeared"
        time.sleep(0.05)  # polling S3 for the first object's output
    assert sm.describe_transform_job(TransformJobName="interrupted")[
        "TransformJobStatus"] == "InProgress"
    orphans = model_servers(server.home)
    assert orphans
    server.kill()

    again = KamadoServer(server.home).start()
    try:
        sm = again.client("sagemaker")
        job = wait_job(sm, "interrupted", timeout=90)
        assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
        assert not [pid for pid in orphans if alive(pid)]
        streams = again.client("logs").describe_log_streams(
            logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix="interrupted/")
        servers = [s["logStreamName"] for s in streams["logStreams"]
                   if not s["logStreamName"].endswith("/data-log")]
        assert len(servers) == 2, servers  # one instance before the restart, one after
        s3 = again.client("s3")
        assert keys_under(s3, "out/", bucket="data") == [f"out/{i}.csv.out" for i in range(4)]
        served = np.array([float(v) for v in s3.get_object(Bucket="data", Key="out/3.csv.out")[
            "Body"].read().split()])
        np.testing.assert_allclose(served, booster.predict(xgb.DMatrix(rows)), rtol=0,
                                   atol=1e-6)
    finally:
        again.stop()
