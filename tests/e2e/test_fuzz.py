"""Botocore-shaped fuzzing: thousands of valid and invalid requests, no 5xx, the server stays up."""

from __future__ import annotations

import os

from botocore.exceptions import (ClientError, FlexibleChecksumError, MissingDependencyException,
                                 ParamValidationError)

from kamado.services.registry import implemented_operations
from tests.shapegen import ShapeGen, aim_at_pool

REQUESTS = int(os.environ.get("KAMADO_FUZZ_REQUESTS", "1500"))


def _fuzz(server, service: str, seed: int, fix=None) -> dict:
    client = server.client(service, parameter_validation=False, connect_timeout=5, read_timeout=30)
    ops = sorted(implemented_operations(service))
    gen = ShapeGen(seed, broken=0.05)
    counts = {"ok": 0, "client_error": 0, "not_sent": 0}
    for i in range(REQUESTS):
        op = client.meta.service_model.operation_model(ops[i % len(ops)])
        params = gen.params(op.input_shape)
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
        except (ParamValidationError, MissingDependencyException, FlexibleChecksumError, TypeError,
                ValueError, AttributeError, KeyError):
            counts["not_sent"] += 1  # botocore itself could not serialise this input
    return counts


def test_fuzz_sagemaker(server):
    account = server.client("sts").get_caller_identity()["Account"]
    prefix = f"arn:aws:sagemaker:{server.region}:{account}:"
    counts = _fuzz(server, "sagemaker", seed=7, fix=lambda op, params, gen: aim_at_pool(
        params, gen.rng, prefix))
    assert counts["ok"] > REQUESTS // 10
    assert counts["client_error"] > REQUESTS // 10
    assert counts["not_sent"] < REQUESTS // 2
    assert "ExperimentSummaries" in server.client("sagemaker").list_experiments()


def test_fuzz_s3(server):
    s3 = server.client("s3")
    s3.create_bucket(Bucket="fuzz-bucket")

    def fix(op, params, gen):
        # Aim half the requests at a bucket that exists so they reach deep into the provider;
        # most names botocore's bucket-name check would stop are replaced by ones it sends.
        if "Bucket" in params and gen.rng.random() < 0.9:
            params["Bucket"] = gen.rng.choice(
                ["fuzz-bucket"] * 5 + ["fuzz-other", "missing-bucket", "Bad_Name", "a..b", "xy"])
        if "Body" in params and not isinstance(params["Body"], (bytes, str)):
            params["Body"] = b"fuzz"
        # A declared length longer than the body makes any HTTP server wait for the rest
        # (kamado answers RequestTimeout after 20 s, as S3 does); botocore computes the real one.
        params.pop("ContentLength", None)

    counts = _fuzz(server, "s3", seed=11, fix=fix)
    assert counts["ok"] > REQUESTS // 10
    assert counts["not_sent"] < REQUESTS // 4
    assert counts["client_error"] > REQUESTS // 10
    assert "Buckets" in s3.list_buckets()
