"""The SageMaker Python SDK 2.x, unchanged, runs a batch transform on kamado."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from sklearn.datasets import load_breast_cancer

from tests.e2e.hosting.conftest import booster_model, csv_rows
from tests.e2e.sdk import venvs
from tests.e2e.sdk.conftest import (RESULT, ROLE, SDK_V2, sdk_env, start_sdk_server,
                                    write_sdk_config)

SCRIPT = Path(__file__).with_name("sdk_transformer.py")


@pytest.fixture(scope="module")
def sdk_python() -> Path:
    try:
        return venvs.sdk_python(SDK_V2)
    except venvs.SdkVenvError as exc:
        pytest.skip(f"the SDK {SDK_V2} venv cannot be built here: {exc}")


def test_model_transformer_transforms_a_csv(tmp_path, sdk_python):
    X, y = load_breast_cancer(return_X_y=True)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3},
                        xgb.DMatrix(X, label=y), num_boost_round=10)
    (tmp_path / "model.tar.gz").write_bytes(booster_model(booster))
    (tmp_path / "rows.csv").write_bytes(csv_rows(X[:60]))

    server = start_sdk_server(tmp_path)
    try:
        env = sdk_env(server, write_sdk_config(tmp_path / "sagemaker-config.yaml"))
        done = subprocess.run(
            [str(sdk_python), str(SCRIPT), json.dumps({
                "model": str(tmp_path / "model.tar.gz"), "input": str(tmp_path / "rows.csv"),
                "role": ROLE, "job_name": "sdk-transform"})],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    finally:
        server.stop()
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    assert lines, done.stderr[-3000:]
    result = json.loads(lines[-1][len(RESULT):])
    assert result["status"] == "Completed"
    served = np.array([float(v) for v in result["output"].split()])
    np.testing.assert_allclose(served, booster.predict(xgb.DMatrix(X[:60])), rtol=0, atol=1e-6)
