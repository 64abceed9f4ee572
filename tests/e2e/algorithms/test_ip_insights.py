"""The built-in IP Insights through boto3: entities that each use a few home subnets; the
validation discriminator AUC, served dot products (own addresses above random ones) against
the library called directly, verbose answers, batch transform, and the errors AWS's algorithm
gives."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from botocore.exceptions import ClientError

from kamado.algorithms.ip_insights import discriminator_auc, fit, load_model, validate
from tests.e2e.algorithms.conftest import (deploy, final_metrics, invoke, model_members,
                                           train, transform, upload)

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/ipinsights:1"
HP = {"num_entity_vectors": "400", "vector_dim": "16", "epochs": "6", "learning_rate": "0.01",
      "mini_batch_size": "500", "batch_metrics_publish_interval": "5"}


def dotted(ips: np.ndarray) -> list[str]:
    ips = np.asarray(ips, np.uint64)
    return [".".join(str(int(ip) >> s & 255) for s in (24, 16, 8, 0)) for ip in ips]


def logins(rows: int, seed: int, entities: int = 200):
    """(entity ids, addresses as text): each entity logs in from one to three home /24
    subnets (the same for every seed)."""
    homes = np.random.default_rng(99)
    subnets = [homes.integers(0, 1 << 24, size=homes.integers(1, 4)) for _ in range(entities)]
    rng = np.random.default_rng(seed)
    who = rng.integers(entities, size=rows)
    nets = np.array([rng.choice(subnets[w]) for w in who], np.uint64)
    ips = (nets << np.uint64(8)) | rng.integers(1, 255, rows).astype(np.uint64)
    return [f"user-{w}" for w in who], dotted(ips)


def csv_of(entities, ips) -> bytes:
    return "".join(f"{e},{ip}\n" for e, ip in zip(entities, ips)).encode()


def parsed(ips: list[str]) -> np.ndarray:
    from kamado.algorithms.ip_insights import parse_ipv4

    return parse_ipv4(ips)


@pytest.fixture(scope="module")
def data():
    return logins(6000, 1), logins(1500, 2)


@pytest.fixture(scope="module")
def job(sm, s3, data):
    (entities, ips), (v_entities, v_ips) = data
    channels = upload(s3, "ipi-logins", {"train": csv_of(entities, ips),
                                         "validation": csv_of(v_entities, v_ips)}, "text/csv")
    return train(sm, "ipi-logins", IMAGE, channels, HP)


def test_ip_insights_tells_own_addresses_from_random_ones(sm, s3, rt, data, job):
    (entities, ips), (v_entities, v_ips) = data
    direct = fit(entities, parsed(ips), validate(HP))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model_algo-1"
        path.write_bytes(model_members(s3, job)["model_algo-1"])
        trained = load_model(path)
    np.testing.assert_allclose(trained.E, direct.E, rtol=1e-5, atol=1e-6)

    auc = discriminator_auc(direct, v_entities, parsed(v_ips), validate(HP))
    final = final_metrics(job)
    assert final["validation:discriminator_auc"] == pytest.approx(auc, abs=1e-6)
    assert auc >= 0.9
    assert final["train:progress"] == 100
    assert 0.5 < final["train:binary_classification_accuracy"] <= 1
    assert {"train:throughput", "train:binary_classification_cross_entropy",
            "train:binary_classification_accuracy:epoch"} <= set(final)

    endpoint = deploy(sm, "ipi-logins", IMAGE, job)
    own = v_entities[:20], v_ips[:20]
    strangers = dotted(np.random.default_rng(5).integers(0, 1 << 32, 20, dtype=np.uint64))
    answer = invoke(rt, endpoint, csv_of(own[0], own[1]) + csv_of(own[0], strangers),
                    "text/csv", "application/json")
    dots = np.array([p["dot_product"] for p in answer["predictions"]])
    expected = direct.dot_products(own[0] + own[0], parsed(own[1] + strangers))
    np.testing.assert_allclose(dots, expected, rtol=1e-4, atol=1e-5)
    assert (dots[:20] > dots[20:]).mean() >= 0.9
    assert np.median(dots[:20]) > np.median(dots[20:])

    request = {"instances": [{"data": {"features": {"values": [own[0][0], own[1][0]]}}},
                             {"features": [own[0][1], strangers[1]]}]}
    answer = invoke(rt, endpoint, json.dumps(request).encode(), "application/json",
                    "application/json; verbose=True")
    first, second = answer["predictions"]
    assert set(first) == {"dot_product", "entity_embedding", "ip_embedding"}
    assert first["dot_product"] == pytest.approx(expected[0], rel=1e-4)
    assert second["dot_product"] == pytest.approx(expected[21], rel=1e-4)
    assert len(first["entity_embedding"]) == len(first["ip_embedding"]) == 16
    assert np.dot(first["entity_embedding"], first["ip_embedding"]) == \
        pytest.approx(first["dot_product"], rel=1e-4)
    lines = invoke(rt, endpoint, b'{"features": ["user-1", "10.0.0.1"]}\n'
                   b'{"data": {"features": {"values": ["user-2", "10.0.0.2"]}}}\n',
                   "application/jsonlines", "application/jsonlines")
    assert [set(json.loads(line)) for line in lines.decode().splitlines()] == \
        [{"dot_product"}] * 2

    out = transform(sm, s3, "ipi-transform", endpoint, csv_of(v_entities, v_ips), "text/csv",
                    "Line", accept="application/jsonlines")
    got = [json.loads(line)["dot_product"] for line in out.decode().splitlines()]
    np.testing.assert_allclose(got, direct.dot_products(v_entities, parsed(v_ips)),
                               rtol=1e-4, atol=1e-5)

    with pytest.raises(ClientError) as e:
        rt.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv",
                           Body=b"user-1, 10.0.0.1\nuser-2, 10.0.0\n")
    assert e.value.response["OriginalStatusCode"] == 400
    assert "Record 2" in e.value.response["Error"]["Message"]
    assert "'10.0.0'" in e.value.response["Error"]["Message"]


@pytest.mark.parametrize("case, hp, body, content_type, message", [
    ("ip", {}, b"user-1,10.0.0.1\nuser-2,10.0.0.300\n", "text/csv",
     "file data, line 2: '10.0.0.300' is not an IPv4 address"),
    ("fields", {}, b"user-1,10.0.0.1,x\n", "text/csv", "line 1 has 3 fields"),
    ("recordio", {}, b"user-1,10.0.0.1\n", "application/x-recordio-protobuf", "text/csv"),
    ("dim", {"vector_dim": "2"}, b"user-1,10.0.0.1\n", "text/csv", "vector_dim"),
    ("missing", {"num_entity_vectors": None}, b"user-1,10.0.0.1\n", "text/csv",
     "num_entity_vectors is required"),
])
def test_bad_input_fails_the_job_with_a_client_error(sm, s3, case, hp, body, content_type,
                                                     message):
    channels = upload(s3, f"ipi-bad-{case}", {"train": body}, content_type)
    settings = {k: v for k, v in {**HP, **hp}.items() if v is not None}
    job = train(sm, f"ipi-bad-{case}", IMAGE, channels, settings, expect="Failed")
    assert job["FailureReason"].startswith("ClientError: ")
    assert message in job["FailureReason"]
