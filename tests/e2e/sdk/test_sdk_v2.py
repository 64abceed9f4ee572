"""SageMaker Python SDK 2.x (the last release), unchanged, trains on kamado: Estimator with the
built-in XGBoost image, and the XGBoost and scikit-learn framework estimators in script mode."""

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
pytestmark = pytest.mark.xdist_group("sdk-v2")

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
EXPLICIT_BUCKET = "kamado-sdk-explicit"


@pytest.fixture(scope="module")
def v2(tmp_path_factory, sdk_v2_python, cancer):
    """One server; every v2 scenario started at once (see conftest for why)."""
    tmp = tmp_path_factory.mktemp("sdk-v2")
    server = start_sdk_server(tmp)
    env = sdk_env(server, write_sdk_config(tmp / "sagemaker-config.yaml"))
    data = {"train": str(cancer.train_dir), "validation": str(cancer.validation_dir)}
    runs = {
        "builtin": SdkRun("v2 Estimator, built-in XGBoost", sdk_v2_python,
                          "v2_xgboost_builtin.py",
                          {**data, "bucket": EXPLICIT_BUCKET, "role": ROLE,
                           "job_name": "sdk-v2-xgboost-builtin", "hyperparameters": XGB_HP},
                          env, tmp / "builtin"),
        "xgboost-script": SdkRun("v2 XGBoost framework estimator", sdk_v2_python,
                                 "v2_xgboost_framework.py",
                                 {**data, "source_dir": str(SCRIPTS / "xgboost_code"),
                                  "job_name": "sdk-v2-xgboost-script",
                                  "hyperparameters": XGB_HP},
                                 env, tmp / "xgboost-script"),
        "sklearn": SdkRun("v2 SKLearn framework estimator", sdk_v2_python, "v2_sklearn.py",
                          {**data, "source_dir": str(SCRIPTS / "sklearn_code"),
                           "job_name": "sdk-v2-sklearn",
                           "hyperparameters": {"C": 0.5, "max-iter": 200}},
                          env, tmp / "sklearn"),
        "deploy": SdkRun("v2 Estimator.deploy and Predictor.predict", sdk_v2_python,
                         "v2_deploy.py",
                         {"train": data["train"], "job_name": "sdk-v2-deploy",
                          "endpoint_name": "sdk-v2-endpoint", "hyperparameters": XGB_HP,
                          "rows": cancer.X_valid[:20].tolist()},
                         env, tmp / "deploy"),
    }
    try:
        for run in runs.values():
            run.start()
        yield server, runs
    finally:
        for run in runs.values():
            run.stop()
        server.stop()


def _assert_xgboost_model(server, model_data: str, cancer, direct: dict) -> None:
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(bytearray(tar_members(server, model_data)["xgboost-model"]))
    got = roc_auc_score(cancer.y_valid, booster.predict(xgb.DMatrix(cancer.X_valid)))
    want = roc_auc_score(cancer.y_valid, direct["booster"].predict(xgb.DMatrix(cancer.X_valid)))
    assert got == pytest.approx(want, abs=0.005)


def test_estimator_with_the_builtin_xgboost_image_matches_xgboost_train(v2, cancer):
    server, runs = v2
    out = runs["builtin"].result()
    r = out.result
    assert r["sdk"] == "2.257.7"
    assert r["image"] == XGBOOST_IMAGE            # sagemaker.image_uris.retrieve's URI
    assert r["status"] == "Completed"
    # Session.upload_data put the CSVs in kamado's S3, in the bucket the Session named.
    s3 = server.client("s3")
    for uri in (r["train"], r["validation"]):
        assert uri.startswith(f"s3://{EXPLICIT_BUCKET}/")
        bucket, prefix = uri[len("s3://"):].split("/", 1)
        assert s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["KeyCount"] == 1

    direct = xgboost_direct(cancer)
    # fit(logs=True) streamed the job's CloudWatch log to the SDK process's stdout.
    rounds = streamed_eval_lines(out.stdout)
    assert [i for i, _, _ in rounds] == list(range(XGB_HP["num_round"])), out.stdout[-3000:]
    assert rounds[-1][2] == pytest.approx(direct["validation_auc"], abs=0.005)
    assert r["final_metrics"]["validation:auc"] == pytest.approx(direct["validation_auc"],
                                                                 abs=0.005)
    assert r["model_data"] == (f"s3://{EXPLICIT_BUCKET}/xgb-output/{r['job_name']}"
                               "/output/model.tar.gz")
    _assert_xgboost_model(server, r["model_data"], cancer, direct)


def test_xgboost_framework_estimator_runs_the_entry_point(v2, cancer):
    server, runs = v2
    out = runs["xgboost-script"].result()
    r = out.result
    assert r["status"] == "Completed"
    assert r["image"] == XGBOOST_IMAGE
    # Bucket and role came from the SDK's config file; the SDK uploaded the source there.
    assert r["bucket"] == CONFIG_BUCKET and r["role"] == ROLE
    hp = r["hyperparameters"]
    assert json.loads(hp["sagemaker_program"]) == "train.py"
    assert json.loads(hp["sagemaker_submit_directory"]).startswith(f"s3://{CONFIG_BUCKET}/")

    assert "kamado-sdk-xgboost-script: saved 20 rounds" in out.stdout
    direct = xgboost_direct(cancer)
    rounds = streamed_eval_lines(out.stdout)
    assert len(rounds) == XGB_HP["num_round"], out.stdout[-3000:]
    assert rounds[-1][2] == pytest.approx(direct["validation_auc"], abs=0.005)
    assert r["model_data"].startswith(f"s3://{CONFIG_BUCKET}/")
    _assert_xgboost_model(server, r["model_data"], cancer, direct)


def test_sklearn_estimator_model_predicts_what_the_script_predicted(v2, cancer):
    import joblib

    server, runs = v2
    out = runs["sklearn"].result()
    r = out.result
    assert r["status"] == "Completed"
    assert r["image"] == SKLEARN_IMAGE and r["role"] == ROLE
    # The one-letter hyperparameter reached the script as "-C 0.5", as on SageMaker.
    assert "kamado-sdk-sklearn-script: C=0.5 validation accuracy" in out.stdout

    model = joblib.load(io.BytesIO(tar_members(server, r["model_data"])["model.joblib"]))
    written = json.loads(tar_members(server, r["output_data"])["predictions.json"])
    assert written["C"] == 0.5
    np.testing.assert_allclose(model.predict_proba(cancer.X_valid)[:, 1], written["proba"],
                               rtol=0, atol=1e-9)
    assert roc_auc_score(cancer.y_valid, written["proba"]) > 0.98


def test_deploy_and_predict_serve_what_the_trained_model_predicts(v2, cancer):
    import xgboost as xgb

    server, runs = v2
    r = runs["deploy"].result().result
    assert r["endpoint_status"] == "InService" and r["variant"] == "AllTraffic"
    booster = xgb.Booster()
    booster.load_model(bytearray(tar_members(server, r["model_data"])["xgboost-model"]))
    expected = booster.predict(xgb.DMatrix(cancer.X_valid[:20]))
    # CSVDeserializer gives one row per line of the answer
    served = [float(v) for row in r["predictions"] for v in row if v.strip()]
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-6)
    assert r["status_after_delete"] == "Deleting" or "Could not find endpoint" in \
        r["status_after_delete"]
