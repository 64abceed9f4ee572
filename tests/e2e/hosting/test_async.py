"""Asynchronous inference through boto3: InvokeEndpointAsync, results and failures in S3,
notifications where SNS would have them, and queued requests surviving a killed server."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from botocore.exceptions import ClientError

from tests.conftest import KamadoServer
from tests.e2e.hosting.conftest import (BUCKET, ROLE, XGBOOST, create_model, csv_rows, deploy,
                                        script_model, wait_endpoint)
from tests.e2e.hosting.test_serverless import GATED, SKLEARN

TOPICS = {"SuccessTopic": "arn:aws:sns:us-east-1:000000000000:async-ok",
          "ErrorTopic": "arn:aws:sns:us-east-1:000000000000:async-failed"}
def async_config(prefix: str, concurrency: int = 2) -> dict:
    return {"ClientConfig": {"MaxConcurrentInvocationsPerInstance": concurrency},
            "OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/{prefix}/out",
                             "S3FailurePath": f"s3://{BUCKET}/{prefix}/failed",
                             "NotificationConfig": {**TOPICS, "IncludeInferenceResponseIn": [
                                 "SUCCESS_NOTIFICATION_TOPIC"]}}}


def read_when_there(s3, uri: str, timeout: float = 60) -> bytes:
    bucket, key = uri[len("s3://"):].split("/", 1)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "NoSuchKey"
        assert time.monotonic() < deadline, f"nothing at {uri}"
        time.sleep(0.05)  # polling S3, as a client of async inference does


def notifications(server, topic: str, want: int, timeout: float = 30) -> list[dict]:
    logs = server.client("logs")
    deadline = time.monotonic() + timeout
    while True:
        try:
            events = logs.filter_log_events(logGroupName=f"/kamado/sns/{topic}")["events"]
        except ClientError:
            events = []
        if len(events) >= want:
            return [json.loads(e["message"]) for e in events]
        assert time.monotonic() < deadline, f"{len(events)} of {want} notifications on {topic}"
        time.sleep(0.05)


def test_async_results_failures_and_notifications(host, cancer_xgboost):
    sm, runtime, s3 = (host.client("sagemaker"), host.client("sagemaker-runtime"),
                       host.client("s3"))
    create_model(sm, "async-xgb", XGBOOST, cancer_xgboost.model_data)
    endpoint = deploy(sm, "async-xgb", [{"model": "async-xgb"}],
                      AsyncInferenceConfig=async_config("async-xgb"))
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    assert endpoint["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"].endswith("/out")
    rows = cancer_xgboost.X[:10]
    s3.put_object(Bucket=BUCKET, Key="async-xgb/in/rows.csv", Body=csv_rows(rows))
    answer = runtime.invoke_endpoint_async(EndpointName="async-xgb", ContentType="text/csv",
                                           InputLocation=f"s3://{BUCKET}/async-xgb/in/rows.csv",
                                           InferenceId="first")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert answer["InferenceId"] == "first"
    assert answer["OutputLocation"] == f"s3://{BUCKET}/async-xgb/out/first.out"
    assert answer["FailureLocation"] == f"s3://{BUCKET}/async-xgb/failed/first-error.out"
    served = np.array([float(v) for v in read_when_there(s3, answer["OutputLocation"])
                       .decode().replace("\n", ",").split(",") if v.strip()])
    sync = runtime.invoke_endpoint(EndpointName="async-xgb", ContentType="text/csv",
                                   Body=csv_rows(rows))["Body"].read().decode()
    np.testing.assert_allclose(served, [float(v) for v in sync.replace("\n", ",").split(",")
                                        if v.strip()], atol=1e-9)
    ok = notifications(host, "async-ok", 1)[0]
    assert ok["invocationStatus"] == "Completed" and ok["inferenceId"] == "first"
    assert ok["responseParameters"]["outputLocation"] == answer["OutputLocation"]
    assert ok["requestParameters"]["endpointName"] == "async-xgb"
    assert "inferenceResponse" in ok

    s3.put_object(Bucket=BUCKET, Key="async-xgb/in/bad.csv", Body=b"x,y,z\n")
    bad = runtime.invoke_endpoint_async(EndpointName="async-xgb", ContentType="text/csv",
                                        InputLocation=f"s3://{BUCKET}/async-xgb/in/bad.csv")
    assert read_when_there(s3, bad["FailureLocation"])  # the model's error message
    missing = runtime.invoke_endpoint_async(
        EndpointName="async-xgb", ContentType="text/csv",
        InputLocation=f"s3://{BUCKET}/async-xgb/in/never-uploaded.csv")
    failed = {n["inferenceId"]: n for n in notifications(host, "async-failed", 2)}
    assert failed[bad["InferenceId"]]["invocationStatus"] == "Failed"
    assert "Received server error" in failed[bad["InferenceId"]]["failureReason"] or \
        "(415)" in failed[bad["InferenceId"]]["failureReason"]
    assert "Failed to download" in failed[missing["InferenceId"]]["failureReason"]

    create_model(sm, "sync-only", XGBOOST, cancer_xgboost.model_data)
    deploy(sm, "sync-only", [{"model": "sync-only"}])
    with pytest.raises(ClientError) as e:
        runtime.invoke_endpoint_async(EndpointName="sync-only", ContentType="text/csv",
                                      InputLocation=f"s3://{BUCKET}/async-xgb/in/rows.csv")
    assert e.value.response["Error"]["Code"] == "ValidationError"


def test_queued_requests_survive_a_killed_server_and_run_once(tmp_path):
    server = KamadoServer(tmp_path / "home").start()
    gate = tmp_path / "gate"
    gate.mkdir()
    try:
        s3, sm = server.client("s3"), server.client("sagemaker")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="counting/model.tar.gz", Body=script_model(GATED))
        sm.create_model(ModelName="counting", ExecutionRoleArn=ROLE, PrimaryContainer={
            "Image": SKLEARN, "ModelDataUrl": f"s3://{BUCKET}/counting/model.tar.gz",
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "GATE_DIR": str(gate)}})
        deploy(sm, "counting", [{"model": "counting"}],
               AsyncInferenceConfig=async_config("counting", concurrency=1))
        runtime = server.client("sagemaker-runtime")
        for name in ("wait", "a", "b", "c"):
            s3.put_object(Bucket=BUCKET, Key=f"counting/in/{name}", Body=name.encode())
        answers = {}
        for name in ("wait", "a", "b", "c"):
            answers[name] = runtime.invoke_endpoint_async(
                EndpointName="counting", ContentType="text/plain", InferenceId=name,
                InputLocation=f"s3://{BUCKET}/counting/in/{name}")
        deadline = time.monotonic() + 30
        while not (gate / "entered").exists():  # "wait" is in the model; a, b, c are queued
            assert time.monotonic() < deadline
            time.sleep(0.02)
        server.kill()
        (gate / "entered").unlink()
        server.start()
        wait_endpoint(server.client("sagemaker"), "counting")
        deadline = time.monotonic() + 30
        while not (gate / "entered").exists():  # "wait" was taken up again after the restart
            assert time.monotonic() < deadline
            time.sleep(0.02)
        (gate / "open").touch()
        s3 = server.client("s3")
        for name, answer in answers.items():
            assert read_when_there(s3, answer["OutputLocation"]) == f"echo:{name}".encode()
        assert sorted((gate / "done.log").read_text().split()) == ["a", "b", "c", "wait"]
    finally:
        server.stop()
