"""What happens around the requests: shadow variants, data capture, a model server killed
mid-traffic, a kamado server restarted under an endpoint, and deletion."""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from botocore.exceptions import ClientError

from tests.conftest import KamadoServer
from tests.e2e.hosting.conftest import (BUCKET, XGBOOST, create_model, csv_rows, deploy,
                                        wait_endpoint)


@pytest.fixture(scope="module")
def sm(host):
    return host.client("sagemaker")


@pytest.fixture(scope="module")
def runtime(host):
    return host.client("sagemaker-runtime")


def captured(s3, prefix: str, want: int, timeout: float = 30) -> list[dict]:
    """The captured records under ``prefix`` once there are ``want`` of them."""
    deadline = time.monotonic() + timeout
    while True:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get(
            "Contents", [])]
        records = [json.loads(line) for key in keys for line in
                   s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()]
        if len(records) >= want:
            return records
        assert time.monotonic() < deadline, f"{len(records)} of {want} records under {prefix}"
        time.sleep(0.1)  # capture is written in batches about every second


def test_capture_records_input_and_output_and_the_shadow_answers(host, sm, runtime,
                                                                 cancer_xgboost):
    create_model(sm, "cap-prod", XGBOOST, cancer_xgboost.model_data)
    create_model(sm, "cap-shadow", XGBOOST, cancer_xgboost.model_data)
    endpoint = deploy(sm, "cap", [{"model": "cap-prod", "VariantName": "Prod"}],
                      ShadowProductionVariants=[{
                          "VariantName": "Shadow", "ModelName": "cap-shadow",
                          "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
                      DataCaptureConfig={
                          "EnableCapture": True, "InitialSamplingPercentage": 100,
                          "DestinationS3Uri": f"s3://{BUCKET}/capture",
                          "CaptureOptions": [{"CaptureMode": "Input"},
                                             {"CaptureMode": "Output"}]})
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")
    assert endpoint["DataCaptureConfig"]["CaptureStatus"] == "Started"
    assert endpoint["ShadowProductionVariants"][0]["VariantName"] == "Shadow"
    rows = [csv_rows(cancer_xgboost.X[i:i + 1]) for i in range(3)]
    answers = [runtime.invoke_endpoint(EndpointName="cap", ContentType="text/csv", Body=r,
                                       InferenceId=f"req-{i}") for i, r in enumerate(rows)]
    assert {a["InvokedProductionVariant"] for a in answers} == {"Prod"}
    prod = captured(host.client("s3"), "capture/cap/Prod/", 3)
    shadow = captured(host.client("s3"), "capture/cap/Shadow/", 3)
    by_id = {r["eventMetadata"]["inferenceId"]: r for r in prod}
    assert sorted(by_id) == ["req-0", "req-1", "req-2"]
    record = by_id["req-1"]["captureData"]
    assert record["endpointInput"] == {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": rows[1].decode(), "encoding": "CSV"}
    assert record["endpointOutput"]["mode"] == "OUTPUT"
    assert float(record["endpointOutput"]["data"]) == pytest.approx(
        float(answers[1]["Body"].read()), abs=1e-6)
    assert {r["eventMetadata"]["inferenceId"] for r in shadow} == {"req-0", "req-1", "req-2"}
    key = host.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="capture/cap/Prod/")[
        "Contents"][0]["Key"]
    # <endpoint>/<variant>/yyyy/mm/dd/HH/MM-SS-mmm-uuid.jsonl
    parts = key.split("/")
    assert len(parts) == 8 and parts[-1].endswith(".jsonl") and len(parts[3]) == 4


def model_server_pids(host, endpoint: str) -> list[int]:
    """The model-server processes of an endpoint: they run in its instances' directories."""
    pids = []
    for proc in os.listdir("/proc"):
        if not proc.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{proc}/cwd")
            state = open(f"/proc/{proc}/stat").read().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if f"/endpoints/{endpoint}/" in cwd and "/i-" in cwd and state != "Z":
            pids.append(int(proc))
    return pids


def test_a_killed_model_server_comes_back_and_traffic_keeps_flowing(host, sm, runtime,
                                                                    cancer_xgboost):
    create_model(sm, "crash", XGBOOST, cancer_xgboost.model_data)
    deploy(sm, "crash", [{"model": "crash", "InitialInstanceCount": 2}])
    body = csv_rows(cancer_xgboost.X[:1])
    expected = float(runtime.invoke_endpoint(EndpointName="crash", ContentType="text/csv",
                                             Body=body)["Body"].read())
    pids = model_server_pids(host, "crash")
    assert len(pids) >= 2

    def call(_):
        return float(runtime.invoke_endpoint(EndpointName="crash", ContentType="text/csv",
                                             Body=body)["Body"].read())
    with ThreadPoolExecutor(4) as pool:
        running = [pool.submit(call, i) for i in range(40)]
        os.kill(pids[0], signal.SIGKILL)
        results = [f.result() for f in running]
    assert results == [expected] * 40
    deadline = time.monotonic() + 30
    while len(model_server_pids(host, "crash")) < 2:  # the killed one is started again
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert sm.describe_endpoint(EndpointName="crash")["ProductionVariants"][0][
        "CurrentInstanceCount"] == 2
    logs = host.client("logs")
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/Endpoints/crash")[
        "logStreams"]
    assert len(streams) >= 2 and all(s["logStreamName"].startswith("AllTraffic/i-")
                                     for s in streams)


def test_delete_endpoint_stops_its_servers(host, sm, runtime, cancer_xgboost):
    create_model(sm, "gone", XGBOOST, cancer_xgboost.model_data)
    deploy(sm, "gone", [{"model": "gone"}])
    assert model_server_pids(host, "gone")
    sm.delete_endpoint(EndpointName="gone")
    deadline = time.monotonic() + 60
    while True:
        try:
            sm.describe_endpoint(EndpointName="gone")
        except ClientError as exc:
            assert "Could not find endpoint" in str(exc)
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert not model_server_pids(host, "gone")
    with pytest.raises(ClientError) as e:
        runtime.invoke_endpoint(EndpointName="gone", ContentType="text/csv", Body=b"1")
    assert e.value.response["Error"]["Code"] == "ValidationError"


def test_endpoints_come_back_after_the_server_is_killed(tmp_path, cancer_xgboost, host):
    server = KamadoServer(tmp_path / "home").start()
    try:
        s3, sm = server.client("s3"), server.client("sagemaker")
        s3.create_bucket(Bucket=BUCKET)
        body = host.client("s3").get_object(Bucket=BUCKET, Key=cancer_xgboost.model_data.split(
            f"s3://{BUCKET}/", 1)[1])["Body"].read()
        s3.put_object(Bucket=BUCKET, Key="m/model.tar.gz", Body=body)
        create_model(sm, "survivor", XGBOOST, f"s3://{BUCKET}/m/model.tar.gz")
        assert deploy(sm, "survivor", [{"model": "survivor"}])["EndpointStatus"] == "InService"
        rows = csv_rows(cancer_xgboost.X[:2])
        before = server.client("sagemaker-runtime").invoke_endpoint(
            EndpointName="survivor", ContentType="text/csv", Body=rows)["Body"].read()
        server.kill()
        server.start()
        endpoint = wait_endpoint(server.client("sagemaker"), "survivor")
        assert endpoint["EndpointStatus"] == "InService"
        after = server.client("sagemaker-runtime").invoke_endpoint(
            EndpointName="survivor", ContentType="text/csv", Body=rows)["Body"].read()
        assert after == before
    finally:
        server.stop()


def test_linear_learner_regressor_answers_what_the_trained_model_predicts(
        host, sm, runtime, diabetes_linear, tmp_path):
    from kamado.algorithms.linear_learner import load_model
    from tests.e2e.hosting.conftest import model_files

    create_model(sm, "diabetes", "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
                 diabetes_linear.model_data)
    deploy(sm, "diabetes", [{"model": "diabetes"}])
    rows = diabetes_linear.X[:5]
    answer = runtime.invoke_endpoint(EndpointName="diabetes", ContentType="text/csv",
                                     Accept="application/json", Body=csv_rows(rows))
    served = [p["score"] for p in json.loads(answer["Body"].read())["predictions"]]
    model = load_model(model_files(host, diabetes_linear.model_data, tmp_path))
    expected = [p["score"] for p in model.predict(rows)]
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-6)
