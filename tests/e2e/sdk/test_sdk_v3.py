"""SageMaker Python SDK 3.x (what pip installs today), unchanged, trains on kamado:
ModelTrainer with the built-in XGBoost image and with SourceCode, its execution role checked
through kamado's IAM as the SDK does by default."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tests.e2e.sdk.conftest import (CONFIG_BUCKET, ROLE, SCRIPTS, XGB_HP, SdkRun, sdk_env,
                                    start_sdk_server, streamed_eval_lines, tar_members,
                                    write_sdk_config, xgboost_direct)

# Every test of this module shares the SDK runs its fixture starts: under
# `pytest -n N --dist loadgroup` they stay on one worker instead of each worker starting them.
pytestmark = pytest.mark.xdist_group("sdk-v3")

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
EXPLICIT_BUCKET = "kamado-sdk-explicit"
MISSING_ROLE = ROLE.rsplit("/", 1)[0] + "/never-created"


@pytest.fixture(scope="module")
def v3(tmp_path_factory, sdk_v3_python, cancer):
    """One server; every v3 scenario started at once (see conftest for why)."""
    tmp = tmp_path_factory.mktemp("sdk-v3")
    server = start_sdk_server(tmp)
    config = write_sdk_config(tmp / "sagemaker-config.yaml")
    # v3 validates the execution role through IAM (SimulatePrincipalPolicy, GetRole): the
    # role exists in kamado's IAM, created as a user would (start_sdk_server).
    env = sdk_env(server, config)
    data = {"train": str(cancer.train_dir), "validation": str(cancer.validation_dir)}
    runs = {
        "builtin": SdkRun("v3 ModelTrainer, built-in XGBoost", sdk_v3_python,
                          "v3_model_trainer_xgboost.py",
                          {**data, "bucket": EXPLICIT_BUCKET, "role": ROLE,
                           "base_job_name": "sdk-v3-xgboost", "hyperparameters": XGB_HP},
                          env, tmp / "builtin"),
        "source-code": SdkRun("v3 ModelTrainer, SourceCode on scikit-learn", sdk_v3_python,
                              "v3_model_trainer_script.py",
                              {**data, "source_dir": str(SCRIPTS / "sklearn_code"),
                               "base_job_name": "sdk-v3-sklearn",
                               "hyperparameters": {"C": 0.5, "max-iter": 200}},
                              env, tmp / "source-code"),
        "role-check": SdkRun("v3 role validation", sdk_v3_python, "v3_role_check.py",
                             {"roles": [ROLE, MISSING_ROLE]}, env, tmp / "role-check"),
        "endpoint": SdkRun("v3 resources: Model, EndpointConfig, Endpoint.invoke", sdk_v3_python,
                           "v3_endpoint.py",
                           {"train": data["train"], "role": ROLE, "name": "sdk-v3-endpoint",
                            "hyperparameters": XGB_HP,
                            "csv": "\n".join(",".join(repr(float(v)) for v in row)
                                             for row in cancer.X_valid[:10])},
                           env, tmp / "endpoint"),
    }
    try:
        for run in runs.values():
            run.start()
        yield server, runs
    finally:
        for run in runs.values():
            run.stop()
        server.stop()


def test_model_trainer_with_the_builtin_xgboost_image_matches_xgboost_train(v3, cancer):
    import xgboost as xgb

    server, runs = v3
    out = runs["builtin"].result()
    r = out.result
    assert r["sdk"] == "3.27.0"
    assert r["image"] == XGBOOST_IMAGE
    assert r["status"] == "Completed"
    # The SDK uploaded the local directories itself, to the Session's bucket in kamado's S3.
    s3 = server.client("s3")
    for channel in ("train", "validation"):
        uri = r["channels"][channel]
        assert uri.startswith(f"s3://{EXPLICIT_BUCKET}/sdk-v3-xgboost/{r['job_name']}/input/")
        bucket, prefix = uri[len("s3://"):].split("/", 1)
        assert s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["KeyCount"] == 1

    direct = xgboost_direct(cancer)
    # train(logs=True) streamed the job's log through the application's logging to stdout.
    rounds = streamed_eval_lines(out.stdout)
    assert [i for i, _, _ in rounds] == list(range(XGB_HP["num_round"])), out.stdout[-3000:]
    assert rounds[-1][2] == pytest.approx(direct["validation_auc"], abs=0.005)
    assert r["final_metrics"]["validation:auc"] == pytest.approx(direct["validation_auc"],
                                                                 abs=0.005)
    assert r["model_data"] == (f"s3://{EXPLICIT_BUCKET}/v3-output/{r['job_name']}"
                               "/output/model.tar.gz")
    booster = xgb.Booster()
    booster.load_model(bytearray(tar_members(server, r["model_data"])["xgboost-model"]))
    got = roc_auc_score(cancer.y_valid, booster.predict(xgb.DMatrix(cancer.X_valid)))
    want = roc_auc_score(cancer.y_valid, direct["booster"].predict(xgb.DMatrix(cancer.X_valid)))
    assert got == pytest.approx(want, abs=0.005)


def test_model_trainer_source_code_runs_the_entry_script(v3, cancer):
    import joblib

    server, runs = v3
    out = runs["source-code"].result()
    r = out.result
    assert r["entrypoint"] == ["/bin/bash"]
    assert r["status"] == "Completed", r["failure_reason"]
    assert r["error"] is None
    assert "kamado-sdk-sklearn-script: C=0.5 validation accuracy" in out.stdout
    assert r["model_data"].startswith(f"s3://{CONFIG_BUCKET}/")
    model = joblib.load(io.BytesIO(tar_members(server, r["model_data"])["model.joblib"]))
    written = json.loads(tar_members(server, r["output_data"])["predictions.json"])
    np.testing.assert_allclose(model.predict_proba(cancer.X_valid)[:, 1], written["proba"],
                               rtol=0, atol=1e-9)


def test_model_trainer_validates_the_role_with_iam(v3):
    server, runs = v3
    r = runs["role-check"].result().result
    assert r[ROLE] == {"role": ROLE, "error": None}
    # a role IAM does not know is refused by the SDK before any job is created
    assert r[MISSING_ROLE]["role"] is None
    assert r[MISSING_ROLE]["error"].startswith("RoleValidationError")


def test_endpoint_resources_and_model_builder_deploy_what_was_trained(v3, cancer):
    import xgboost as xgb

    server, runs = v3
    r = runs["endpoint"].result().result
    assert r["status"] == "InService"
    booster = xgb.Booster()
    booster.load_model(bytearray(tar_members(server, r["model_data"])["xgboost-model"]))
    expected = booster.predict(xgb.DMatrix(cancer.X_valid[:10]))
    for key in ("predictions", "builder_predictions"):  # resources, then ModelBuilder
        served = [float(v) for v in r[key].replace("\n", ",").split(",") if v.strip()]
        np.testing.assert_allclose(served, expected, rtol=0, atol=1e-6)
