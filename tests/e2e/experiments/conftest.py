"""A server with the probe image registered and a bucket with a small channel, and helpers for
the experiment tests (jobs that report known losses, names, waiting for a component)."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import wait_status
from tests.e2e.training.conftest import job_request, start_server

# What the probe image prints for round i (tests/e2e/training/probe_image.py):
# train-loss scale/(i+1), validation-loss 2*scale/(i+1).
LOSS_DEFINITIONS = [{"Name": "train:loss", "Regex": r"train-loss:([0-9.]+)"},
                    {"Name": "validation:loss", "Regex": r"validation-loss:([0-9.]+)"}]


def probe_losses(rounds: int, scale: float = 1.0) -> dict[str, list[float]]:
    """The series a probe job reports, rounded as it prints them (%.4f)."""
    return {"train:loss": [round(scale / (i + 1), 4) for i in range(rounds)],
            "validation:loss": [round(2.0 * scale / (i + 1), 4) for i in range(rounds)]}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def loss_job(name: str, rounds: int = 3, hp: dict | None = None, **extra) -> dict:
    """A probe job with the train/validation loss metric definitions and a train channel."""
    request = job_request(name, hp={"rounds": rounds, **(hp or {})},
                          channels={"train": "s3://data/exp/train/"}, **extra)
    request["AlgorithmSpecification"]["MetricDefinitions"] = LOSS_DEFINITIONS
    return request


def wait_component(sm, name: str, ready, what: str, timeout: float = 60.0) -> dict:
    """Poll DescribeTrialComponent (as a client does) until ``ready(component)``."""
    return wait_status(lambda: sm.describe_trial_component(TrialComponentName=name),
                       lambda tc: bool(ready(tc)), (True,), what, timeout)


@pytest.fixture(scope="module")
def exp_server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("experiments"), KAMADO_MAX_CONCURRENT_JOBS="4")
    s3 = srv.client("s3")
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="exp/train/part-0.csv", Body=b"1,2,3\n")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def sm(exp_server):
    return exp_server.client("sagemaker")


@pytest.fixture(scope="module")
def metrics(exp_server):
    return exp_server.client("sagemaker-metrics")


@pytest.fixture(scope="module")
def s3(exp_server):
    return exp_server.client("s3")
