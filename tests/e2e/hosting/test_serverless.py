"""Serverless endpoints: an instance starts on the first request (ModelSetupTime), requests
beyond MaxConcurrency are throttled, idle instances stop, provisioned concurrency stays warm."""

from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import ClientError

from tests.conftest import KamadoServer
from tests.e2e.hosting.conftest import ROLE, script_model, wait_endpoint
from tests.e2e.hosting.test_metrics import sample, scrape
from tests.e2e.hosting.test_traffic import model_server_pids

SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
# A model whose predict waits at a gate the test opens (requests in flight on demand) and logs
# each prediction it finishes (how often a request really ran).
GATED = '''
import os, time
from pathlib import Path

def model_fn(model_dir):
    return Path(os.environ["GATE_DIR"])

def input_fn(body, content_type):
    return body.decode()

def predict_fn(data, gate):
    if data == "wait":
        (gate / "entered").touch()
        deadline = time.monotonic() + 60
        while not (gate / "open").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    with open(gate / "done.log", "a") as log:
        log.write(data + "\\n")
    return "echo:" + data

def output_fn(prediction, accept):
    return prediction
'''


@pytest.fixture(scope="module")
def cold(tmp_path_factory):
    """A server whose serverless instances stop after one idle second."""
    tmp = tmp_path_factory.mktemp("serverless")
    server = KamadoServer(tmp / "home", extra_env={"KAMADO_SERVERLESS_IDLE_SECONDS": "1"}).start()
    s3 = server.client("s3")
    s3.create_bucket(Bucket="serverless")
    s3.put_object(Bucket="serverless", Key="gated/model.tar.gz", Body=script_model(GATED))
    gate = tmp / "gate"
    gate.mkdir()
    server.client("sagemaker").create_model(ModelName="gated", ExecutionRoleArn=ROLE,
                                            PrimaryContainer={
        "Image": SKLEARN, "ModelDataUrl": "s3://serverless/gated/model.tar.gz",
        "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "GATE_DIR": str(gate)}})
    yield server, gate
    server.stop()


def serverless(sm, name: str, **config) -> dict:
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "gated",
        "ServerlessConfig": {"MemorySizeInMB": 2048, **config}}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return wait_endpoint(sm, name)


def call(runtime, name: str, body: str) -> str:
    return runtime.invoke_endpoint(EndpointName=name, ContentType="text/plain",
                                   Body=body.encode())["Body"].read().decode()


def wait_until(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_cold_start_throttling_and_idle_stop(cold):
    server, gate = cold
    sm, runtime = server.client("sagemaker"), server.client("sagemaker-runtime")
    endpoint = serverless(sm, "cold", MaxConcurrency=1)
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    variant = endpoint["ProductionVariants"][0]
    assert variant["CurrentServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 1}
    assert "CurrentInstanceCount" not in variant
    assert model_server_pids(server, "cold") == []  # nothing runs before the first request

    assert call(runtime, "cold", "first") == "echo:first"
    setup = sample(scrape(server), "sagemaker_endpoint_model_setup_time_microseconds_count",
                   "cold", "AllTraffic")
    assert setup == 1

    (gate / "open").unlink(missing_ok=True)
    held = {}
    worker = threading.Thread(target=lambda: held.setdefault("answer", call(runtime, "cold",
                                                                            "wait")))
    worker.start()
    wait_until(lambda: (gate / "entered").exists(), "the first request never reached the model")
    with pytest.raises(ClientError) as e:
        call(runtime, "cold", "second")
    assert e.value.response["Error"]["Code"] == "ThrottlingException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    (gate / "open").touch()
    worker.join(30)
    assert held["answer"] == "echo:wait"

    wait_until(lambda: model_server_pids(server, "cold") == [], "the idle instance never stopped")
    assert call(runtime, "cold", "again") == "echo:again"  # a second cold start
    assert sample(scrape(server), "sagemaker_endpoint_model_setup_time_microseconds_count",
                  "cold", "AllTraffic") == 2


def test_provisioned_concurrency_is_warm_and_stays_up(cold):
    server, gate = cold
    sm, runtime = server.client("sagemaker"), server.client("sagemaker-runtime")
    serverless(sm, "warm", MaxConcurrency=2, ProvisionedConcurrency=1)
    assert len(model_server_pids(server, "warm")) >= 1
    assert call(runtime, "warm", "hi") == "echo:hi"
    assert sample(scrape(server), "sagemaker_endpoint_model_setup_time_microseconds_count",
                  "warm", "AllTraffic") is None  # no cold start was needed
    time.sleep(1.5)  # longer than the idle period: a provisioned instance must outlive it
    assert len(model_server_pids(server, "warm")) >= 1


def test_serverless_configs_are_checked(cold):
    server, _ = cold
    sm = server.client("sagemaker")
    with pytest.raises(ClientError) as e:
        sm.create_endpoint_config(EndpointConfigName="bad-mem", ProductionVariants=[{
            "VariantName": "v", "ModelName": "gated",
            "ServerlessConfig": {"MemorySizeInMB": 1500, "MaxConcurrency": 1}}])
    assert "MemorySizeInMB" in str(e.value)
    with pytest.raises(ClientError) as e:
        sm.create_endpoint_config(EndpointConfigName="bad-pc", ProductionVariants=[{
            "VariantName": "v", "ModelName": "gated",
            "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1,
                                 "ProvisionedConcurrency": 2}}])
    assert "ProvisionedConcurrency" in str(e.value)


def test_an_invocation_past_the_timeout_is_a_model_error(tmp_path):
    """Not serverless-specific: the gated model makes a request that never finishes in time."""
    server = KamadoServer(tmp_path / "home",
                          extra_env={"KAMADO_INVOCATION_TIMEOUT_SECONDS": "1"}).start()
    gate = tmp_path / "gate"
    gate.mkdir()
    try:
        s3, sm = server.client("s3"), server.client("sagemaker")
        s3.create_bucket(Bucket="serverless")
        s3.put_object(Bucket="serverless", Key="gated/model.tar.gz", Body=script_model(GATED))
        sm.create_model(ModelName="slow", ExecutionRoleArn=ROLE, PrimaryContainer={
            "Image": SKLEARN, "ModelDataUrl": "s3://serverless/gated/model.tar.gz",
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "GATE_DIR": str(gate)}})
        sm.create_endpoint_config(EndpointConfigName="slow", ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "slow", "InstanceType": "ml.m5.large",
            "InitialInstanceCount": 1}])
        sm.create_endpoint(EndpointName="slow", EndpointConfigName="slow")
        assert wait_endpoint(sm, "slow")["EndpointStatus"] == "InService"
        with pytest.raises(ClientError) as e:
            call(server.client("sagemaker-runtime"), "slow", "wait")
        response = e.value.response
        assert response["Error"]["Code"] == "ModelError"
        assert response["OriginalStatusCode"] == 0
        assert "Your invocation timed out while waiting for a response from container primary" \
            in response["Error"]["Message"]
        (gate / "open").touch()
    finally:
        server.stop()
