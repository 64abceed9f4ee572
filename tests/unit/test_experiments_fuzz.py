"""Random model-valid requests straight into the providers: every failure is an AWS client
error (4xx), never a crash. The gateway's fuzz test does the same through HTTP."""

from __future__ import annotations

import pytest

from kamado.services.sagemaker.experiments import Experiments
from kamado.services.sagemaker.tags import Tags
from tests.conftest_store import ctx, db, db_url, fuzz, platform, resources  # noqa: F401


@pytest.mark.parametrize("seed", [1, 2])
def test_sagemaker_providers_never_crash(platform, ctx, seed):
    counts = fuzz([Experiments(platform), Tags(platform)], "sagemaker", ctx, seed=seed, rounds=400)
    assert counts["ok"] > 100 and counts["client_error"] > 20
