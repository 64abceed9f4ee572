"""Fixtures for the store and the providers built on it, on SQLite and, when
KAMADO_TEST_DATABASE_URL names a Postgres server, on Postgres too (a fresh schema per test).

Test modules import the fixtures they use: ``from tests.conftest_store import ...``.
"""

from __future__ import annotations

import os
import random
from types import SimpleNamespace

import pytest

from kamado.config import Config
from kamado.errors import AwsError
from kamado.gateway.models import service_model
from kamado.services.base import RequestContext
from kamado.store.database import Database
from kamado.store.logs import LogStore
from kamado.store.resources import Resources

PG_URL = os.environ.get("KAMADO_TEST_DATABASE_URL", "")

BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=[
        pytest.mark.postgres,
        pytest.mark.skipif(not PG_URL, reason="KAMADO_TEST_DATABASE_URL not set")]),
]


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kamado.db'}"
        return
    from tests.pg import fresh_schema_url

    with fresh_schema_url(PG_URL) as url:
        yield url


@pytest.fixture
def db(db_url):
    database = Database(db_url)
    database.upgrade()
    yield database
    database.close()


@pytest.fixture
def resources(db):
    return Resources(db)


@pytest.fixture
def platform(db, resources, tmp_path):
    """Just what providers reach for: the store and the configuration."""
    return SimpleNamespace(db=db, resources=resources, logs=LogStore(db),
                           config=Config.load(home=tmp_path / "home"))


@pytest.fixture
def ctx():
    return RequestContext(account_id="000000000000", region="us-east-1")


@pytest.fixture
def west():
    return RequestContext(account_id="000000000000", region="eu-west-1")


def code_of(exc_info) -> str:
    return exc_info.value.code


def fuzz(providers, service: str, ctx, seed: int, rounds: int) -> dict[str, int]:
    """Call the providers with random model-valid requests (tests/shapegen.py); any error
    must be an AWS client error. Returns how many calls succeeded and how many were refused."""
    from tests.shapegen import ShapeGen, aim_at_pool

    model = service_model(service)
    handlers = {}
    for provider in providers:
        for op, method in type(provider).operations(model.operation_names).items():
            handlers[op] = getattr(provider, method)
    gen, rng = ShapeGen(seed), random.Random(seed)
    counts = {"ok": 0, "client_error": 0}
    ops = sorted(handlers)
    for i in range(rounds):
        op = model.operation_model(ops[i % len(ops)])
        request = gen.params(op.input_shape)
        aim_at_pool(request, rng, f"arn:aws:sagemaker:{ctx.region}:{ctx.account_id}:")
        try:
            handlers[op.name](request, ctx)
            counts["ok"] += 1
        except AwsError as err:
            assert err.status < 500, (op.name, request, err)
            counts["client_error"] += 1
    return counts
