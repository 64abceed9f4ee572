"""Experiment tracking through the SageMaker Python SDK, unchanged, against kamado: 2.x
``sagemaker.experiments.Run`` (with a training job started inside a run) and 3.x
``sagemaker.core.experiments.Run`` with the ``TrialComponent`` resource class.

Each script logs two runs — parameters, a loss curve by step, a final accuracy, an input
artifact, a file, and the three charts (confusion matrix, ROC curve, precision-recall curve of a
logistic regression on the breast-cancer validation rows) — then resumes the first with
``load_run`` and reads everything back with ``list_runs`` and ``ExperimentAnalytics``. The test
reads the same things through boto3 and compares: parameters and metrics in
DescribeTrialComponent and BatchGetMetrics, the files and chart JSONs in S3 against what
scikit-learn computes, the lineage associations, and the SDK's dataframe row by row."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (auc, average_precision_score, confusion_matrix,
                             precision_recall_curve, roc_curve)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tests.e2e.sdk.conftest import (CONFIG_BUCKET, SDK_V2, SDK_V3, XGB_HP, SdkRun, sdk_env,
                                    start_sdk_server, write_sdk_config, xgboost_direct)

pytestmark = pytest.mark.xdist_group("sdk-experiments")

RUNS = {"run-a": {"parameters": {"learning_rate": 0.1, "batch_size": 32},
                  "losses": [0.9, 0.5, 0.3], "accuracy": 0.91},
        "run-b": {"parameters": {"learning_rate": 0.01, "batch_size": 64},
                  "losses": [0.8, 0.6, 0.45], "accuracy": 0.94}}
RESUMED_LOSS = 0.2
F1 = [0.5, 0.7, 0.75]
EXPERIMENTS = {"v2": "sdk-v2-tracking", "v3": "sdk-v3-tracking"}
V2_JOB = "sdk-v2-tracked-xgboost"


@pytest.fixture(scope="module")
def scores(cancer):
    """A real classifier's validation labels and probabilities, for the three charts."""
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200, C=0.05))
    model.fit(cancer.X_train, cancer.y_train)
    y_score = model.predict_proba(cancer.X_valid)[:, 1]
    return [int(v) for v in cancer.y_valid], [float(s) for s in y_score]


@pytest.fixture(scope="module")
def tracking(tmp_path_factory, sdk_v2_python, sdk_v3_python, cancer, scores):
    tmp = tmp_path_factory.mktemp("sdk-experiments")
    server = start_sdk_server(tmp)
    env = sdk_env(server, write_sdk_config(tmp / "sagemaker-config.yaml"))
    y_true, y_score = scores
    common = {"runs": RUNS, "resumed_loss": RESUMED_LOSS, "y_true": y_true, "y_score": y_score,
              "dataset_uri": f"s3://{CONFIG_BUCKET}/data/cancer.csv"}
    runs = {
        "v2": SdkRun("v2 Run, load_run, a training job in a run, ExperimentAnalytics",
                     sdk_v2_python, "v2_experiments.py",
                     {**common, "experiment": EXPERIMENTS["v2"], "job_name": V2_JOB,
                      "train": str(cancer.train_dir), "validation": str(cancer.validation_dir),
                      "hyperparameters": XGB_HP}, env, tmp / "v2"),
        "v3": SdkRun("v3 Run, load_run, TrialComponent resource, ExperimentAnalytics",
                     sdk_v3_python, "v3_experiments.py",
                     {**common, "experiment": EXPERIMENTS["v3"], "f1": F1}, env, tmp / "v3"),
    }
    try:
        for run in runs.values():
            run.start()
        yield server, runs
    finally:
        for run in runs.values():
            run.stop()
        server.stop()


def _component(version: str, run: str) -> str:
    return f"{EXPERIMENTS[version]}-{run}"


def _object(server, uri: str) -> bytes:
    bucket, key = uri[len("s3://"):].split("/", 1)
    return server.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def _expected_losses(run: str) -> list[float]:
    return RUNS[run]["losses"] + ([RESUMED_LOSS] if run == "run-a" else [])


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_logged_runs_read_back_through_boto3(tracking, version):
    server, runs = tracking
    r = runs[version].result().result
    assert r["sdk"] == (SDK_V2 if version == "v2" else SDK_V3)
    sm = server.client("sagemaker")
    experiment = EXPERIMENTS[version]
    assert r["loaded"] == _component(version, "run-a")  # load_run found the same run
    for run, spec in RUNS.items():
        name = _component(version, run)
        assert r["runs"][run]["experiment_config"] == {
            "ExperimentName": experiment, "TrialName": f"Default-Run-Group-{experiment}",
            "RunName": name}
        tc = sm.describe_trial_component(TrialComponentName=name)
        assert tc["Status"]["PrimaryStatus"] == "Completed"
        assert tc["StartTime"] <= tc["EndTime"]
        params = tc["Parameters"]
        assert params["learning_rate"] == {"NumberValue": spec["parameters"]["learning_rate"]}
        assert params["batch_size"] == {"NumberValue": spec["parameters"]["batch_size"]}
        assert params["optimizer"] == {"StringValue": "adam"}
        assert ("resumed" in params) == (run == "run-a")
        assert tc["InputArtifacts"]["dataset"] == {"Value": f"s3://{CONFIG_BUCKET}/data/cancer.csv",
                                                   "MediaType": "text/csv"}
        notes = tc["OutputArtifacts"]["notes"]
        assert notes["MediaType"] == "text/plain"
        assert _object(server, notes["Value"]) == b"kamado experiment notes\n"

        metrics = {m["MetricName"]: m for m in tc["Metrics"]}
        losses = _expected_losses(run)
        loss = metrics["loss"]
        assert (loss["Count"], loss["Min"], loss["Max"], loss["Last"]) == (
            len(losses), min(losses), max(losses), losses[-1])
        assert loss["Avg"] == pytest.approx(np.mean(losses))
        assert loss["StdDev"] == pytest.approx(np.std(losses))
        assert metrics["accuracy"]["Last"] == spec["accuracy"]

        # The series by step, as SageMaker Metrics serves it.
        series = server.client("sagemaker-metrics").batch_get_metrics(MetricQueries=[
            {"MetricName": "loss", "ResourceArn": tc["TrialComponentArn"], "MetricStat": "Avg",
             "Period": "IterationNumber", "XAxisType": "IterationNumber"}])[
            "MetricQueryResults"][0]
        assert series["Status"] == "Complete"
        assert series["XAxisValues"] == list(range(len(losses)))
        assert series["MetricValues"] == pytest.approx(losses)
        # A run is tagged as one (list_runs tells runs from other components by it).
        assert {"Key": "sagemaker:trial-component-source", "Value": "run"} in sm.list_tags(
            ResourceArn=tc["TrialComponentArn"])["Tags"]
    assert sorted(t["TrialComponentName"] for t in sm.list_trial_components(
        TrialName=f"Default-Run-Group-{experiment}")["TrialComponentSummaries"]) == sorted(
        [_component(version, run) for run in RUNS]
        + ([f"{V2_JOB}-aws-training-job", _component(version, "xgboost")]
           if version == "v2" else []))


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_charts_are_json_in_s3_and_lineage_artifacts_of_the_run(tracking, scores, version):
    server, runs = tracking
    runs[version].result()
    sm = server.client("sagemaker")
    y_true, y_score = scores
    y_pred = [int(s >= 0.5) for s in y_score]
    for run in RUNS:
        tc = sm.describe_trial_component(TrialComponentName=_component(version, run))
        links = sm.list_associations(SourceArn=tc["TrialComponentArn"])["AssociationSummaries"]
        produced = {a["DestinationType"]: a for a in links}
        assert sorted(produced) == ["ConfusionMatrix", "PrecisionRecallCurve", "ROCCurve"]
        assert all(a["AssociationType"] == "Produced" for a in links)
        charts = {}
        for kind, link in produced.items():
            artifact = sm.describe_artifact(ArtifactArn=link["DestinationArn"])
            assert artifact["ArtifactType"] == kind
            uri = artifact["Source"]["SourceUri"]
            assert uri.startswith(f"s3://{CONFIG_BUCKET}/trial-component-artifacts/"
                                  f"{_component(version, run)}/")
            charts[kind] = json.loads(_object(server, uri))
            etag = server.client("s3").head_object(Bucket=CONFIG_BUCKET,
                                                   Key=uri.split("/", 3)[3])["ETag"]
            assert artifact["Source"]["SourceTypes"] == [{"SourceIdType": "S3ETag",
                                                          "Value": etag}]
        assert charts["ConfusionMatrix"]["confusionMatrix"] == \
            confusion_matrix(y_true, y_pred).tolist()
        fpr, tpr, _ = roc_curve(y_true, y_score)
        roc = charts["ROCCurve"]
        assert roc["falsePositiveRate"] == pytest.approx(fpr.tolist())
        assert roc["truePositiveRate"] == pytest.approx(tpr.tolist())
        assert roc["areaUnderCurve"] == pytest.approx(auc(fpr, tpr))
        precision, recall, _ = precision_recall_curve(y_true, y_score, pos_label=1)
        pr = charts["PrecisionRecallCurve"]
        assert pr["precision"] == pytest.approx(precision.tolist())
        assert pr["recall"] == pytest.approx(recall.tolist())
        assert pr["averagePrecisionScore"] == pytest.approx(
            average_precision_score(y_true, y_score, pos_label=1, average="micro"))


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_list_runs_and_experiment_analytics_compare_the_runs(tracking, version):
    server, runs = tracking
    r = runs[version].result().result
    sm = server.client("sagemaker")
    expected_runs = sorted(RUNS) + (["xgboost"] if version == "v2" else [])
    assert r["list_runs"] == expected_runs
    rows = {row["TrialComponentName"]: row for row in r["rows"]}
    expected_rows = [_component(version, run) for run in expected_runs]
    if version == "v2":
        expected_rows.append(f"{V2_JOB}-aws-training-job")
    assert sorted(rows) == sorted(expected_rows)
    for column in ("learning_rate", "batch_size", "optimizer", "loss - Last", "loss - Avg",
                   "loss - Min", "loss - Count", "accuracy - Last", "dataset - Value",
                   "notes - Value", "Trials", "Experiments"):
        assert column in r["columns"]
    for run, spec in RUNS.items():
        row = rows[_component(version, run)]
        tc = sm.describe_trial_component(TrialComponentName=_component(version, run))
        metrics = {m["MetricName"]: m for m in tc["Metrics"]}
        assert row["learning_rate"] == spec["parameters"]["learning_rate"]
        assert row["batch_size"] == spec["parameters"]["batch_size"]
        assert row["optimizer"] == "adam"
        for stat in ("Min", "Max", "Avg", "StdDev", "Last", "Count"):
            assert row[f"loss - {stat}"] == pytest.approx(metrics["loss"][stat])
        assert row["accuracy - Last"] == spec["accuracy"]
        assert row["Trials"] == [f"Default-Run-Group-{EXPERIMENTS[version]}"]
        assert row["Experiments"] == [EXPERIMENTS[version]]
    # The comparison the dataframe is for: run-b has the better accuracy, run-a the lower loss.
    best_accuracy = max(RUNS, key=lambda run: rows[_component(version, run)]["accuracy - Last"])
    lowest_loss = min(RUNS, key=lambda run: rows[_component(version, run)]["loss - Last"])
    assert (best_accuracy, lowest_loss) == ("run-b", "run-a")
    if version == "v2":  # parameter_names / metric_names narrow the columns
        columns = set(r["filtered_columns"])
        assert {"learning_rate", "loss - Last", "loss - Avg"} <= columns
        assert not {"batch_size", "optimizer", "accuracy - Last", "eta"} & columns


def test_v2_training_job_in_a_run_is_a_component_of_the_run_group(tracking, cancer):
    server, runs = tracking
    r = runs["v2"].result().result
    sm = server.client("sagemaker")
    experiment = EXPERIMENTS["v2"]
    # The SDK passed the run's ExperimentConfig to CreateTrainingJob.
    assert r["job_experiment_config"] == {"ExperimentName": experiment,
                                          "TrialName": f"Default-Run-Group-{experiment}",
                                          "RunName": _component("v2", "xgboost")}
    job = sm.describe_training_job(TrainingJobName=V2_JOB)
    assert job["TrainingJobStatus"] == "Completed"
    tc = sm.describe_trial_component(TrialComponentName=f"{V2_JOB}-aws-training-job")
    assert tc["Source"] == {"SourceArn": job["TrainingJobArn"],
                            "SourceType": "SageMakerTrainingJob"}
    assert tc["OutputArtifacts"]["SageMaker.ModelArtifact"]["Value"] == \
        job["ModelArtifacts"]["S3ModelArtifacts"]
    assert {k: tc["Parameters"][k]["StringValue"] for k in XGB_HP} == \
        {k: str(v) for k, v in XGB_HP.items()}
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    metrics = {m["MetricName"]: m for m in tc["Metrics"]}
    assert metrics["validation:auc"]["Last"] == final["validation:auc"]
    assert metrics["validation:auc"]["Count"] == XGB_HP["num_round"]
    # ... and the number is the model's: xgboost.train on the same rows agrees.
    assert final["validation:auc"] == pytest.approx(xgboost_direct(cancer)["validation_auc"],
                                                    abs=1e-5)
    row = {row["TrialComponentName"]: row for row in r["rows"]}[f"{V2_JOB}-aws-training-job"]
    assert row["validation:auc - Last"] == final["validation:auc"]
    assert row["SourceArn"] == job["TrainingJobArn"]
    assert row["Trials"] == [f"Default-Run-Group-{experiment}"]


def test_v3_trial_component_resource_puts_and_gets_metrics(tracking):
    server, runs = tracking
    r = runs["v3"].result().result
    name = _component("v3", "run-a")
    assert r["resource"]["name"] == name and r["resource"]["status"] == "Completed"
    assert {"learning_rate", "batch_size", "optimizer", "resumed"} <= set(
        r["resource"]["parameters"])
    assert r["resource"]["metrics"] == ["accuracy", "loss"]
    f1, loss = r["batch_get"]
    assert (f1["status"], f1["x"], f1["y"]) == ("Complete", [1, 2, 3], pytest.approx(F1))
    assert (loss["status"], loss["x"]) == ("Complete", [0, 1, 2, 3])
    assert loss["y"] == pytest.approx(_expected_losses("run-a"))
    tc = server.client("sagemaker").describe_trial_component(TrialComponentName=name)
    assert {m["MetricName"]: m["Count"] for m in tc["Metrics"]}["f1"] == len(F1)
    assert r["rows"] and "f1 - Avg" in r["columns"]
