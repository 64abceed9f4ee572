"""A server whose home has the probe image registered, and helpers to run jobs on it."""

from __future__ import annotations

import io
import json
import sys
import tarfile
import time
from pathlib import Path

import pytest

from kamado.images.registry import ImageRegistry
from tests.conftest import KamadoServer, wait_status

PROBE = Path(__file__).with_name("probe_image.py")
ROLE = "arn:aws:iam::000000000000:role/kamado-test"
FINAL = ("Completed", "Failed", "Stopped")


def install_probe(home: Path, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    train = directory / "train"
    train.write_text(f"#!{sys.executable}\n" + PROBE.read_text())
    train.chmod(0o755)
    ImageRegistry(home).register("probe", directory=directory)


def start_server(tmp: Path, **env: str) -> KamadoServer:
    home = tmp / "home"
    install_probe(home, tmp / "probe-image")
    return KamadoServer(home, extra_env={"KAMADO_STOP_GRACE_SECONDS": "2", **env}).start()


@pytest.fixture(scope="module")
def train_server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("training"), KAMADO_MAX_CONCURRENT_JOBS="4")
    srv.client("s3").create_bucket(Bucket="data")
    yield srv
    srv.stop()


def job_request(name: str, *, image: str = "probe", hp: dict | None = None,
                channels: dict | None = None, **extra) -> dict:
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "HyperParameters": {k: str(v) for k, v in (hp or {}).items()},
        "OutputDataConfig": {"S3OutputPath": "s3://data/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 120},
    }
    if channels:
        request["InputDataConfig"] = [
            {"ChannelName": ch, "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}}}
            if isinstance(uri, str) else {"ChannelName": ch, **uri}
            for ch, uri in channels.items()]
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(request.get(key), dict):
            request[key] = {**request[key], **value}
        else:
            request[key] = value
    return request


def wait_for(sm, name: str, statuses=FINAL, timeout: float = 120.0) -> dict:
    def status(job: dict) -> str:  # either status may be the one waited for
        secondary = job.get("SecondaryStatus")
        return secondary if secondary in statuses else job["TrainingJobStatus"]
    return wait_status(lambda: sm.describe_training_job(TrainingJobName=name), status,
                       statuses, name, timeout)


def wait_for_file(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear")
        time.sleep(0.02)


def tar_members(s3, uri: str) -> dict[str, bytes]:
    bucket, key = uri[len("s3://"):].split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def seen(s3, job: dict) -> dict:
    return json.loads(tar_members(s3, job["ModelArtifacts"]["S3ModelArtifacts"])["seen.json"])


@pytest.fixture(scope="module")
def sm(train_server):
    return train_server.client("sagemaker")


@pytest.fixture(scope="module")
def s3(train_server):
    return train_server.client("s3")
