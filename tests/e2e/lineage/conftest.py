"""A server for the lineage tests, and helpers: one query, and an error's code."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from tests.conftest import KamadoServer


@pytest.fixture(scope="module")
def lineage_server(tmp_path_factory):
    server = KamadoServer(tmp_path_factory.mktemp("lineage") / "home",
                          extra_env={"KAMADO_STOP_GRACE_SECONDS": "2"}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sm(lineage_server):
    return lineage_server.client("sagemaker")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def refused(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]
