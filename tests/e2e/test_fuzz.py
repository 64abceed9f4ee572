"""Botocore-shaped fuzzing: thousands of valid and invalid requests, no 5xx, the server stays up."""

from __future__ import annotations

import os

import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError, ParamValidationError

from kamado.services.registry import implemented_operations
from tests.shapegen import ShapeGen

REQUESTS = int(os.environ.get("KAMADO_FUZZ_REQUESTS", "1500"))


def _fuzz(server, service: str, seed: int, fix=None) -> dict:
    client = server.client(service, parameter_validation=False, connect_timeout=5, read_timeout=30)
    ops = sorted(implemented_operations(service))
    gen = ShapeGen(seed, broken=0.15)
    counts = {"ok": 0, "client_error": 0, "not_sent": 0}
    for i in range(REQUESTS):
        op = client.meta.service_model.operation_model(ops[i % len(ops)])
        params = gen.structure(op.input_shape) if op.input_shape else {}
        if fix:
            fix(op, params, gen)
        try:
            client._make_api_call(op.name, params)
            counts["ok"] += 1
        except ClientError as err:
            status = err.response["ResponseMetadata"]["HTTPStatusCode"]
            assert status < 500, (op.name, params, err.response["Error"])
            assert err.response["Error"]["Code"], (op.name, params)
            counts["client_error"] += 1
        except (ParamValidationError, TypeError, ValueError, AttributeError, KeyError):
            counts["not_sent"] += 1  # botocore itself could not serialise this input
    return counts


def test_fuzz_sagemaker(server):
    counts = _fuzz(server, "sagemaker", seed=7)
    assert counts["ok"] > REQUESTS // 10
    assert counts["client_error"] > REQUESTS // 10
    assert counts["not_sent"] < REQUESTS // 2
    assert "ExperimentSummaries" in server.client("sagemaker").list_experiments()


def test_fuzz_s3(server):
    s3 = server.client("s3")
    s3.create_bucket(Bucket="fuzz-bucket")

    def fix(op, params, gen):
        # Aim half the requests at a bucket that exists so they reach deep into the provider.
        if "Bucket" in params and gen.rng.random() < 0.5:
            params["Bucket"] = "fuzz-bucket"
        for member in ("Body",):
            if member in params and not isinstance(params[member], (bytes, str)):
                params[member] = b"fuzz"

    counts = _fuzz(server, "s3", seed=11, fix=fix)
    assert counts["ok"] > REQUESTS // 20
    assert counts["client_error"] > REQUESTS // 10
    assert "Buckets" in s3.list_buckets()
