"""Automatic model tuning through the SageMaker Python SDK, unchanged, against kamado:
2.x ``sagemaker.tuner.HyperparameterTuner`` over an ``Estimator`` and 3.x
``sagemaker.train.tuner.HyperparameterTuner`` over a ``ModelTrainer``, both on the built-in
XGBoost image, tuning ``eta`` and ``max_depth`` for ``validation:auc``.

What the SDK reports is checked against what boto3 reads from the same server, and the
objective values against the models themselves."""

from __future__ import annotations

import pytest
from sklearn.metrics import roc_auc_score

from tests.e2e.sdk.conftest import (SDK_V2, SDK_V3, XGB_HP, SdkRun, sdk_env, start_sdk_server,
                                    tar_members, write_sdk_config)

# Every test of this module shares the SDK runs its fixture starts: under
# `pytest -n N --dist loadgroup` they stay on one worker instead of each worker starting them.
pytestmark = pytest.mark.xdist_group("sdk-tuning")

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
TUNED = ("eta", "max_depth")
STATIC = {k: str(v) for k, v in XGB_HP.items() if k not in TUNED}


@pytest.fixture(scope="module")
def tuning(tmp_path_factory, sdk_v2_python, sdk_v3_python, cancer):
    """One server; every tuning scenario started at once (see conftest for why)."""
    tmp = tmp_path_factory.mktemp("sdk-tuning")
    server = start_sdk_server(tmp)
    env = sdk_env(server, write_sdk_config(tmp / "sagemaker-config.yaml"))
    data = {"train": str(cancer.train_dir), "validation": str(cancer.validation_dir),
            "hyperparameters": XGB_HP}
    runs = {
        "v2": SdkRun("v2 HyperparameterTuner, Bayesian, then attach", sdk_v2_python,
                     "v2_tuner.py",
                     {**data, "job_name": "sdk-v2-tuning", "attach": True,
                      "tuner": {"strategy": "Bayesian", "random_seed": 7}},
                     env, tmp / "v2"),
        "v2-random": SdkRun("v2 HyperparameterTuner, Random with early stopping",
                            sdk_v2_python, "v2_tuner.py",
                            {**data, "job_name": "sdk-v2-tuning-random",
                             "tuner": {"strategy": "Random", "early_stopping_type": "Auto"}},
                            env, tmp / "v2-random"),
        "v3": SdkRun("v3 HyperparameterTuner over a ModelTrainer", sdk_v3_python,
                     "v3_tuner.py",
                     {**data, "job_name": "sdk-v3-tuning", "tuner": {"random_seed": 11}},
                     env, tmp / "v3"),
    }
    try:
        for run in runs.values():
            run.start()
        yield server, runs
    finally:
        for run in runs.values():
            run.stop()
        server.stop()


def _boto3_summaries(server, name: str) -> dict[str, dict]:
    sm = server.client("sagemaker")
    found, token = [], None
    while True:
        page = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name, MaxResults=2,  # pages, as a client would
            **({"NextToken": token} if token else {}))
        found += page["TrainingJobSummaries"]
        token = page.get("NextToken")
        if not token:
            return {s["TrainingJobName"]: s for s in found}


def _assert_rows_match_boto3(rows: list[dict], summaries: dict[str, dict]) -> None:
    """The SDK's analytics dataframe says, row for row, what ListTrainingJobsFor... says."""
    assert sorted(r["TrainingJobName"] for r in rows) == sorted(summaries)
    for row in rows:
        s = summaries[row["TrainingJobName"]]
        assert row["TrainingJobStatus"] == s["TrainingJobStatus"]
        assert row["FinalObjectiveValue"] == \
            s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        assert set(s["TunedHyperParameters"]) == set(TUNED)
        for name in TUNED:   # the SDK turns the strings into floats
            assert row[name] == float(s["TunedHyperParameters"][name])


def _validation_auc(cancer, eta: float, max_depth: int) -> float:
    """xgboost.train on the same data, static and tuned hyperparameters."""
    import xgboost as xgb

    params = {k: v for k, v in XGB_HP.items() if k not in ("num_round", *TUNED)}
    params.update(eta=eta, max_depth=max_depth)
    history: dict = {}
    xgb.train(params, xgb.DMatrix(cancer.X_train, label=cancer.y_train),
              num_boost_round=XGB_HP["num_round"],
              evals=[(xgb.DMatrix(cancer.X_valid, label=cancer.y_valid), "validation")],
              evals_result=history, verbose_eval=False)
    return history["validation"]["auc"][-1]


def _model_auc(server, model_data: str, cancer) -> float:
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(bytearray(tar_members(server, model_data)["xgboost-model"]))
    return roc_auc_score(cancer.y_valid, booster.predict(xgb.DMatrix(cancer.X_valid)))


def test_v2_tuner_fit_best_job_and_analytics(tuning, cancer):
    server, runs = tuning
    r = runs["v2"].result().result
    sm = server.client("sagemaker")
    assert r["sdk"] == SDK_V2
    assert r["tuning_job"] == "sdk-v2-tuning" and r["status"] == "Completed"
    assert r["counters"]["Completed"] == 4

    # analytics().dataframe(): one row per training job, the tuned values as columns
    rows = r["rows"]
    assert len(rows) == 4
    assert {"FinalObjectiveValue", "TrainingJobName", "TrainingJobStatus", *TUNED} \
        <= set(r["columns"])
    _assert_rows_match_boto3(rows, _boto3_summaries(server, "sdk-v2-tuning"))
    for row in rows:
        assert 0.05 <= row["eta"] <= 0.5
        assert row["max_depth"] in (2, 3, 4, 5, 6)
        # the objective is the validation AUC that model really has
        assert row["FinalObjectiveValue"] == pytest.approx(
            _validation_auc(cancer, row["eta"], int(row["max_depth"])), abs=0.005)
    assert len({(row["eta"], row["max_depth"]) for row in rows}) == 4

    # best_training_job(): the row with the largest objective, a Completed job
    best_value = max(row["FinalObjectiveValue"] for row in rows)
    assert r["best_objective"] == {"Type": "Maximize", "MetricName": "validation:auc",
                                   "Value": best_value}
    best_row = next(row for row in rows if row["TrainingJobName"] == r["best_training_job"])
    assert best_row["FinalObjectiveValue"] == best_value
    job = sm.describe_training_job(TrainingJobName=r["best_training_job"])
    assert job["TrainingJobStatus"] == "Completed"
    assert {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}[
        "validation:auc"] == best_value
    # the best job's model scores that AUC
    assert _model_auc(server, job["ModelArtifacts"]["S3ModelArtifacts"], cancer) == \
        pytest.approx(best_value, abs=0.005)

    # HyperparameterTuner.attach(name) rebuilt the tuner and its estimator from Describe
    attached = r["attached"]
    assert attached["best_training_job"] == r["best_training_job"]
    assert (attached["strategy"], attached["max_jobs"], attached["max_parallel_jobs"]) == \
        ("Bayesian", 4, 2)
    assert attached["objective_metric_name"] == "validation:auc"
    assert attached["ranges"] == sorted(TUNED)
    assert attached["estimator_image"] == XGBOOST_IMAGE
    assert attached["estimator_hyperparameters"] == STATIC


def test_v2_best_estimator_attaches_to_the_best_job(tuning):
    """best_estimator() (and so HyperparameterTuner.deploy()) is Estimator.attach on the best
    training job, which reads DescribeTrainingJob's OutputDataConfig.KmsKeyId; AWS answers ""
    when no key was given."""
    server, runs = tuning
    r = runs["v2"].result().result
    assert r["best_estimator"]["error"] is None
    job = server.client("sagemaker").describe_training_job(
        TrainingJobName=r["best_training_job"])
    assert r["best_estimator"]["model_data"] == job["ModelArtifacts"]["S3ModelArtifacts"]


def test_v2_training_job_analytics_reads_the_best_jobs_curve(tuning):
    """TrainingJobAnalytics reads a job's metrics from CloudWatch (GetMetricStatistics in the
    /aws/sagemaker/TrainingJobs namespace), which kamado does not serve."""
    server, runs = tuning
    analytics = runs["v2"].result().result["training_job_analytics"]
    error = analytics["error"] or ""
    if "UnknownOperationException" in error and "GetMetricStatistics" in error:
        pytest.xfail("kamado serves no CloudWatch metrics API (GetMetricStatistics)")
    assert error == ""
    assert analytics["values"] and all(0.5 < v <= 1.0 for v in analytics["values"])


def test_v2_tuner_random_strategy_and_early_stopping_reach_kamado(tuning):
    server, runs = tuning
    r = runs["v2-random"].result().result
    assert r["status"] == "Completed"
    desc = server.client("sagemaker").describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="sdk-v2-tuning-random")
    config = desc["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Random"
    assert config["TrainingJobEarlyStoppingType"] == "Auto"
    assert config["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 4
    assert config["ResourceLimits"]["MaxParallelTrainingJobs"] == 2
    assert sum(desc["TrainingJobStatusCounters"].values()) == 4
    rows = r["rows"]
    assert len(rows) == 4
    _assert_rows_match_boto3(rows, _boto3_summaries(server, "sdk-v2-tuning-random"))
    best_value = max(row["FinalObjectiveValue"] for row in rows)
    assert desc["BestTrainingJob"]["TrainingJobName"] == r["best_training_job"]
    assert desc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] \
        == best_value == r["best_objective"]["Value"]


def test_v3_tuner_over_model_trainer(tuning, cancer):
    server, runs = tuning
    r = runs["v3"].result().result
    assert r["sdk"] == SDK_V3
    assert r["tuning_job"] == "sdk-v3-tuning"
    assert r["status"] == "Completed" and r["strategy"] == "Bayesian"
    assert r["completed"] == 4

    summaries = _boto3_summaries(server, "sdk-v3-tuning")
    rows = r["rows"]
    assert len(rows) == 4
    _assert_rows_match_boto3(rows, summaries)
    # HyperParameterTuningJob.get_all_training_jobs() lists the same jobs and values
    assert r["children"] == {
        name: {"status": s["TrainingJobStatus"], "tuned": s["TunedHyperParameters"],
               "objective": s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]}
        for name, s in summaries.items()}

    best_value = max(row["FinalObjectiveValue"] for row in rows)
    assert r["best_objective"] == best_value
    assert r["children"][r["best_training_job"]]["objective"] == best_value
    best = r["best_job"]
    assert best["status"] == "Completed"
    assert best["final_metrics"]["validation:auc"] == best_value
    tuned = r["children"][r["best_training_job"]]["tuned"]
    assert {k: best["hyperparameters"][k] for k in (*STATIC, *TUNED)} == {**STATIC, **tuned}
    assert _model_auc(server, best["model_data"], cancer) == pytest.approx(best_value,
                                                                           abs=0.005)
