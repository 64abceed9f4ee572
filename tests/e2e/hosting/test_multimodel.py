"""Multi-model endpoints through boto3: XGBoost models trained on kamado, copied under one S3
prefix, served by TargetModel from one endpoint — loaded on first use, evicted least recently
used under a small KAMADO_MME_MEMORY_MB, unloaded after each call with ModelCacheSetting
Disabled — and AWS's errors for a missing model and a misplaced TargetModel."""

from __future__ import annotations

import io
import os
import re
import tarfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import xgboost as xgb
from botocore.exceptions import ClientError
from sklearn.datasets import load_breast_cancer

from tests.conftest import KamadoServer
from tests.e2e.hosting.conftest import (BUCKET, ROLE, XGBOOST, create_model, csv_rows, deploy,
                                        train)

PADDING = 450 * 1024  # two padded models fit the 1 MB budget, three do not


@pytest.fixture(scope="module")
def mme_host(tmp_path_factory):
    server = KamadoServer(tmp_path_factory.mktemp("mme") / "home",
                          extra_env={"KAMADO_STOP_GRACE_SECONDS": "2",
                                     "KAMADO_MME_MEMORY_MB": "1"}).start()
    server.client("s3").create_bucket(Bucket=BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def archives(mme_host) -> dict[str, bytes]:
    """Three XGBoost models of different shapes, trained side by side: their model.tar.gz."""
    X, y = load_breast_cancer(return_X_y=True)
    shapes = {"m1": (4, 2), "m2": (8, 3), "m3": (12, 4)}
    with ThreadPoolExecutor(3) as pool:
        uris = dict(zip(shapes, pool.map(lambda item: train(
            mme_host, f"mme-{item[0]}", XGBOOST, X, y,
            {"objective": "binary:logistic", "num_round": item[1][0],
             "max_depth": item[1][1]}), shapes.items())))
    s3 = mme_host.client("s3")
    out = {}
    for name, uri in uris.items():
        bucket, key = uri[len("s3://"):].split("/", 1)
        out[name] = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return out


@pytest.fixture(scope="module")
def boosters(archives, tmp_path_factory) -> dict[str, xgb.Booster]:
    out = {}
    for name, data in archives.items():
        into = tmp_path_factory.mktemp(name)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(into, filter="data")
        out[name] = xgb.Booster(model_file=str(into / "xgboost-model"))
    return out


ROWS = load_breast_cancer(return_X_y=True)[0][:20]


def padded(archive: bytes) -> bytes:
    """The same model with a file of incompressible bytes beside it: bigger on disk."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(archive)) as src, \
            tarfile.open(fileobj=buf, mode="w:gz") as dst:
        for member in src.getmembers():
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        info = tarfile.TarInfo("padding.bin")
        info.size = PADDING
        dst.addfile(info, io.BytesIO(os.urandom(PADDING)))
    return buf.getvalue()


def mme_model(sm, name: str, prefix: str, **container) -> None:
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": XGBOOST, "Mode": "MultiModel", "ModelDataUrl": f"s3://{BUCKET}/{prefix}/",
        **container})


def predict(runtime, endpoint: str, target: str) -> np.ndarray:
    answer = runtime.invoke_endpoint(EndpointName=endpoint, TargetModel=target,
                                     ContentType="text/csv", Body=csv_rows(ROWS))
    return np.array([float(v) for v in answer["Body"].read().decode().split()
                     for v in v.split(",") if v])


def log_lines(host, endpoint: str, pattern: str, count: int, timeout: float = 10) -> list[str]:
    """The endpoint's log lines that match, once there are ``count`` of them (lines reach the
    Logs API within a flush interval)."""
    logs = host.client("logs")
    deadline = time.monotonic() + timeout
    while True:
        try:
            events = logs.filter_log_events(
                logGroupName=f"/aws/sagemaker/Endpoints/{endpoint}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []  # the stream's first lines are not flushed yet
        found = [e["message"] for e in events if re.search(pattern, e["message"])]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)  # polling the Logs API against the deadline


def error(exc) -> tuple[str, int, str]:
    r = exc.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


def test_each_target_model_answers_with_its_own_predictions(mme_host, archives, boosters):
    s3, sm = mme_host.client("s3"), mme_host.client("sagemaker")
    runtime = mme_host.client("sagemaker-runtime")
    for name in ("m1", "m2"):
        s3.put_object(Bucket=BUCKET, Key=f"mme/model-{name}.tar.gz", Body=archives[name])
    mme_model(sm, "mme", "mme")
    assert sm.describe_model(ModelName="mme")["PrimaryContainer"]["Mode"] == "MultiModel"
    endpoint = deploy(sm, "mme", [{"model": "mme"}])
    assert endpoint["EndpointStatus"] == "InService", endpoint.get("FailureReason")

    timings = {}
    for name in ("m1", "m2"):
        started = time.perf_counter()
        served = predict(runtime, "mme", f"model-{name}.tar.gz")
        cold = time.perf_counter() - started
        started = time.perf_counter()
        again = predict(runtime, "mme", f"model-{name}.tar.gz")
        timings[name] = (cold * 1000, (time.perf_counter() - started) * 1000)
        direct = boosters[name].predict(xgb.DMatrix(ROWS))
        np.testing.assert_allclose(served, direct, rtol=0, atol=1e-6)
        np.testing.assert_allclose(again, direct, rtol=0, atol=1e-6)
    assert not np.allclose(predict(runtime, "mme", "model-m1.tar.gz"),
                           predict(runtime, "mme", "model-m2.tar.gz"))
    print("cold / warm invocation, ms:", {k: f"{c:.1f} / {w:.1f}" for k, (c, w) in
                                          timings.items()})

    # one load each, each wait reported in the log stream and the metrics
    waits = log_lines(mme_host, "mme", r"ModelLoadingWaitTime \d+ microseconds", 2)
    assert sorted(re.search(r"for model (\S+)", w).group(1) for w in waits) == \
        ["model-m1.tar.gz", "model-m2.tar.gz"]
    with urllib.request.urlopen(f"{mme_host.endpoint}/metrics", timeout=10) as response:
        page = response.read().decode()
    count = re.search(r'^sagemaker_endpoint_model_loading_wait_time_microseconds_count\{[^}]*'
                      r'endpoint="mme"[^}]*\} (\d+)$', page, re.M)
    assert count and int(count.group(1)) == 2

    # a model put under the prefix later is served at once, without updating the endpoint
    s3.put_object(Bucket=BUCKET, Key="mme/later/model-m3.tar.gz", Body=archives["m3"])
    np.testing.assert_allclose(predict(runtime, "mme", "later/model-m3.tar.gz"),
                               boosters["m3"].predict(xgb.DMatrix(ROWS)), rtol=0, atol=1e-6)

    # a TargetModel with nothing under it: AWS's ValidationError, the endpoint unharmed
    with pytest.raises(ClientError) as e:
        predict(runtime, "mme", "model-none.tar.gz")
    code, status, message = error(e)
    assert (code, status) == ("ValidationError", 400)
    assert message.startswith(f"Failed to download model data(bucket: {BUCKET}, key: "
                              "mme/model-none.tar.gz)")
    # a TargetModel is a key under the prefix, never a path on the instance
    with pytest.raises(ClientError) as e:
        predict(runtime, "mme", "../../model-m1.tar.gz")
    assert error(e)[:2] == ("ValidationError", 400)
    assert "key: mme/../../model-m1.tar.gz)" in error(e)[2]
    # a multi-model endpoint needs a TargetModel
    with pytest.raises(ClientError) as e:
        runtime.invoke_endpoint(EndpointName="mme", ContentType="text/csv", Body=csv_rows(ROWS))
    assert error(e)[:2] == ("ValidationError", 400)
    assert "target model header" in error(e)[2]
    np.testing.assert_allclose(predict(runtime, "mme", "model-m1.tar.gz"),
                               boosters["m1"].predict(xgb.DMatrix(ROWS)), rtol=0, atol=1e-6)


def test_target_model_on_a_single_model_endpoint_is_refused(mme_host, archives):
    s3, sm = mme_host.client("s3"), mme_host.client("sagemaker")
    s3.put_object(Bucket=BUCKET, Key="single/model.tar.gz", Body=archives["m1"])
    create_model(sm, "single", XGBOOST, f"s3://{BUCKET}/single/model.tar.gz")
    assert deploy(sm, "single", [{"model": "single"}])["EndpointStatus"] == "InService"
    with pytest.raises(ClientError) as e:
        predict(mme_host.client("sagemaker-runtime"), "single", "model.tar.gz")
    assert error(e) == ("ValidationError", 400, "Endpoint single is not a multi-model endpoint "
                        "and does not support target model header.")


def test_least_recently_used_models_are_unloaded_past_the_memory_budget(mme_host, archives,
                                                                          boosters):
    s3, sm = mme_host.client("s3"), mme_host.client("sagemaker")
    runtime = mme_host.client("sagemaker-runtime")
    for name in ("m1", "m2", "m3"):
        s3.put_object(Bucket=BUCKET, Key=f"mme-big/{name}.tar.gz", Body=padded(archives[name]))
    mme_model(sm, "mme-lru", "mme-big")
    assert deploy(sm, "mme-lru", [{"model": "mme-lru"}])["EndpointStatus"] == "InService"

    for name in ("m1", "m2", "m1", "m3", "m2"):
        np.testing.assert_allclose(predict(runtime, "mme-lru", f"{name}.tar.gz"),
                                   boosters[name].predict(xgb.DMatrix(ROWS)), rtol=0, atol=1e-6)
    # m3 displaced m2 (m1 had been used since), then m2 displaced m1
    unloaded = log_lines(mme_host, "mme-lru", r"unloaded \(least recently used\)", 2)
    assert [re.search(r"model (\S+) unloaded", u).group(1) for u in unloaded] == \
        ["m2.tar.gz", "m1.tar.gz"]
    loads = log_lines(mme_host, "mme-lru", r"loaded \(0\.4\d MB\)", 4)
    assert [re.search(r"model (\S+) loaded", u).group(1) for u in loads] == \
        ["m1.tar.gz", "m2.tar.gz", "m3.tar.gz", "m2.tar.gz"]


def test_cache_disabled_unloads_after_each_invocation(mme_host, archives, boosters):
    s3, sm = mme_host.client("s3"), mme_host.client("sagemaker")
    runtime = mme_host.client("sagemaker-runtime")
    s3.put_object(Bucket=BUCKET, Key="mme-nocache/m2.tar.gz", Body=archives["m2"])
    mme_model(sm, "mme-nocache", "mme-nocache",
              MultiModelConfig={"ModelCacheSetting": "Disabled"})
    assert sm.describe_model(ModelName="mme-nocache")["PrimaryContainer"][
        "MultiModelConfig"] == {"ModelCacheSetting": "Disabled"}
    assert deploy(sm, "mme-nocache", [{"model": "mme-nocache"}])["EndpointStatus"] == \
        "InService"
    for _ in range(2):
        np.testing.assert_allclose(predict(runtime, "mme-nocache", "m2.tar.gz"),
                                   boosters["m2"].predict(xgb.DMatrix(ROWS)), rtol=0, atol=1e-6)
    assert len(log_lines(mme_host, "mme-nocache", r"ModelCacheSetting Disabled", 2)) == 2
    assert len(log_lines(mme_host, "mme-nocache", r"ModelLoadingWaitTime", 2)) == 2

