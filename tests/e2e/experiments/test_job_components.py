"""Every training job is a trial component, as on SageMaker: ``<job>-aws-training-job``, with
the job as its source, its hyperparameters, channels, image and model, its status and times as
the job has them, and summaries of its metric series; filed where the job's ExperimentConfig
or tuning job says; gone with the job when DeleteTrainingJob removes it."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.e2e.experiments.conftest import loss_job, probe_losses, unique, wait_component
from tests.e2e.training.conftest import wait_for, wait_for_file
from tests.e2e.tuning.conftest import probe_definition, tuning_config, wait_tuning

XGB_LIKE_IMAGE = "probe"


def code(exc_info) -> str:
    return exc_info.value.response["Error"]["Code"]


def summary(values: list[float]) -> dict:
    return {"Count": len(values), "Min": min(values), "Max": max(values), "Last": values[-1],
            "Avg": pytest.approx(sum(values) / len(values)),
            "StdDev": pytest.approx(statistics.pstdev(values), abs=1e-9)}


def metrics_of(tc: dict) -> dict[str, dict]:
    return {m["MetricName"]: m for m in tc["Metrics"]}


def test_every_training_job_is_a_trial_component(sm):
    name = unique("plain")
    request = loss_job(name, rounds=3, hp={"lr": "0.25"})
    request["InputDataConfig"][0]["ContentType"] = "text/csv"
    arn = sm.create_training_job(**request)["TrainingJobArn"]
    job = wait_for(sm, name)
    assert job["TrainingJobStatus"] == "Completed"

    tc = sm.describe_trial_component(TrialComponentName=f"{name}-aws-training-job")
    assert tc["DisplayName"] == f"{name}-aws-training-job"
    assert tc["Source"] == {"SourceArn": arn, "SourceType": "SageMakerTrainingJob"}
    assert tc["Parameters"]["lr"] == {"StringValue": "0.25"}
    assert tc["Parameters"]["rounds"] == {"StringValue": "3"}
    assert tc["Parameters"]["SageMaker.InstanceType"] == {"StringValue": "ml.m5.large"}
    assert tc["Parameters"]["SageMaker.InstanceCount"] == {"NumberValue": 1.0}
    assert tc["Parameters"]["SageMaker.VolumeSizeInGB"] == {"NumberValue": 1.0}
    assert tc["InputArtifacts"] == {
        "train": {"Value": "s3://data/exp/train/", "MediaType": "text/csv"},
        "SageMaker.ImageUri": {"Value": XGB_LIKE_IMAGE}}
    assert tc["OutputArtifacts"]["SageMaker.ModelArtifact"]["Value"] == \
        job["ModelArtifacts"]["S3ModelArtifacts"]
    assert tc["Status"]["PrimaryStatus"] == "Completed"
    assert tc["Status"]["Message"] == \
        "Status: Completed, exit message: null, failure reason: null"
    assert tc["StartTime"] == job["TrainingStartTime"]
    assert tc["EndTime"] == job["TrainingEndTime"]

    # Metrics summarise the job's series: the values the probe printed, per metric.
    got = metrics_of(tc)
    for metric, values in probe_losses(3).items():
        assert {k: got[metric][k] for k in summary(values)} == summary(values)
        assert got[metric]["SourceArn"] == arn
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert {m: got[m]["Last"] for m in final} == final

    # An unassigned run: listed, found by its source, in no trial.
    assert [t["TrialComponentName"] for t in sm.list_trial_components(
        SourceArn=arn)["TrialComponentSummaries"]] == [f"{name}-aws-training-job"]
    assert sm.list_trials(TrialComponentName=f"{name}-aws-training-job")["TrialSummaries"] == []


def test_the_component_follows_a_running_job(sm, tmp_path):
    name = unique("running")
    marker, release = tmp_path / "started", tmp_path / "release"
    sm.create_training_job(**loss_job(name, rounds=2, hp={
        "mode": "block", "marker": str(marker), "release": str(release)}))
    wait_for_file(marker)
    component = f"{name}-aws-training-job"
    tc = wait_component(sm, component, lambda c: metrics_of(c).get("train:loss", {}).get(
        "Count") == 2, "the running job's two rounds")
    assert tc["Status"]["PrimaryStatus"] == "InProgress"
    assert "EndTime" not in tc
    assert metrics_of(tc)["train:loss"]["Last"] == 0.5
    assert [s["Status"]["PrimaryStatus"] for s in sm.list_trial_components(
        SourceArn=tc["Source"]["SourceArn"])["TrialComponentSummaries"]] == ["InProgress"]

    Path(release).write_text("go")
    job = wait_for(sm, name)
    tc = sm.describe_trial_component(TrialComponentName=component)
    assert tc["Status"]["PrimaryStatus"] == job["TrainingJobStatus"] == "Completed"
    assert tc["EndTime"] == job["TrainingEndTime"]
    summaries = sm.list_trial_components(SourceArn=tc["Source"]["SourceArn"])[
        "TrialComponentSummaries"]
    assert [(s["Status"]["PrimaryStatus"], s["EndTime"]) for s in summaries] == [
        ("Completed", job["TrainingEndTime"])]


def test_failed_and_stopped_jobs_show_in_their_components(sm, tmp_path):
    failed = unique("failing")
    sm.create_training_job(**loss_job(failed, hp={"mode": "fail", "message": "bad data"}))
    job = wait_for(sm, failed)
    assert job["TrainingJobStatus"] == "Failed"
    tc = sm.describe_trial_component(TrialComponentName=f"{failed}-aws-training-job")
    assert tc["Status"]["PrimaryStatus"] == "Failed"
    assert tc["Status"]["Message"] == ("Status: Failed, exit message: null, failure reason: "
                                       + job["FailureReason"])
    assert "bad data" in job["FailureReason"]

    stopped = unique("stopped")
    marker = tmp_path / "stop-started"
    sm.create_training_job(**loss_job(stopped, hp={"mode": "block", "marker": str(marker)}))
    wait_for_file(marker)
    sm.stop_training_job(TrainingJobName=stopped)
    job = wait_for(sm, stopped)
    assert job["TrainingJobStatus"] == "Stopped"
    tc = sm.describe_trial_component(TrialComponentName=f"{stopped}-aws-training-job")
    assert tc["Status"]["PrimaryStatus"] == "Stopped"
    assert tc["EndTime"] == job["TrainingEndTime"]


def test_experiment_config_files_the_component(sm):
    exp, trial = unique("exp"), unique("trial")
    sm.create_experiment(ExperimentName=exp)
    sm.create_trial(TrialName=trial, ExperimentName=exp)

    # With a trial: the component joins it, under the display name asked for.
    in_trial = unique("in-trial")
    sm.create_training_job(**loss_job(in_trial, ExperimentConfig={
        "ExperimentName": exp, "TrialName": trial, "TrialComponentDisplayName": "first-try"}))
    # With only an experiment: "If not specified, a new trial is created" (<job>-aws-trial).
    own_trial = unique("own-trial")
    own_arn = sm.create_training_job(**loss_job(own_trial, ExperimentConfig={
        "ExperimentName": exp}))["TrainingJobArn"]
    wait_for(sm, in_trial)
    wait_for(sm, own_trial)

    tc = sm.describe_trial_component(TrialComponentName=f"{in_trial}-aws-training-job")
    assert tc["DisplayName"] == "first-try"
    assert [t["TrialComponentName"] for t in sm.list_trial_components(
        TrialName=trial)["TrialComponentSummaries"]] == [f"{in_trial}-aws-training-job"]
    made = sm.describe_trial(TrialName=f"{own_trial}-aws-trial")
    assert made["ExperimentName"] == exp
    assert made["Source"] == {"SourceArn": own_arn, "SourceType": "SageMakerTrainingJob"}
    assert [t["TrialComponentName"] for t in sm.list_trial_components(
        TrialName=f"{own_trial}-aws-trial")["TrialComponentSummaries"]] == [
        f"{own_trial}-aws-training-job"]
    assert sorted(t["TrialName"] for t in sm.list_trials(ExperimentName=exp)[
        "TrialSummaries"]) == sorted([trial, f"{own_trial}-aws-trial"])
    assert sorted(t["TrialComponentName"] for t in sm.list_trial_components(
        ExperimentName=exp)["TrialComponentSummaries"]) == sorted(
        [f"{in_trial}-aws-training-job", f"{own_trial}-aws-training-job"])


def test_a_bad_experiment_config_refuses_the_job(sm):
    exp, other, trial = unique("exp"), unique("other"), unique("trial")
    sm.create_experiment(ExperimentName=exp)
    sm.create_experiment(ExperimentName=other)
    sm.create_trial(TrialName=trial, ExperimentName=other)
    cases = [({"ExperimentName": unique("missing")}, "ResourceNotFound"),
             ({"ExperimentName": exp, "TrialName": unique("missing")}, "ResourceNotFound"),
             ({"ExperimentName": exp, "TrialName": trial}, "ValidationException")]
    for config, expected in cases:
        name = unique("refused")
        with pytest.raises(ClientError) as err:
            sm.create_training_job(**loss_job(name, ExperimentConfig=config))
        assert code(err) == expected, config
        with pytest.raises(ClientError):  # nothing of the job was recorded
            sm.describe_training_job(TrainingJobName=name)
        with pytest.raises(ClientError):
            sm.describe_trial_component(TrialComponentName=f"{name}-aws-training-job")


def test_delete_training_job_takes_its_component(sm, metrics):
    exp, trial = unique("exp"), unique("kept")
    sm.create_experiment(ExperimentName=exp)
    sm.create_trial(TrialName=trial, ExperimentName=exp)
    own, shared = unique("own"), unique("shared")
    sm.create_training_job(**loss_job(own, ExperimentConfig={"ExperimentName": exp}))
    sm.create_training_job(**loss_job(shared, ExperimentConfig={"ExperimentName": exp,
                                                                 "TrialName": trial}))
    wait_for(sm, own)
    wait_for(sm, shared)

    sm.delete_training_job(TrainingJobName=own)
    sm.delete_training_job(TrainingJobName=shared)
    for name in (own, shared):
        with pytest.raises(ClientError) as err:
            sm.describe_trial_component(TrialComponentName=f"{name}-aws-training-job")
        assert code(err) == "ResourceNotFound"
    with pytest.raises(ClientError) as err:  # the trial kamado made for the job went too
        sm.describe_trial(TrialName=f"{own}-aws-trial")
    assert code(err) == "ResourceNotFound"
    assert sm.describe_trial(TrialName=trial)["TrialName"] == trial  # the user's stays
    assert sm.list_trial_components(TrialName=trial)["TrialComponentSummaries"] == []
    assert [t["TrialName"] for t in sm.list_trials(ExperimentName=exp)["TrialSummaries"]] == [
        trial]

    # The name can be used again: a new job, a new component with only its own series.
    arn = sm.create_training_job(**loss_job(own, rounds=2))["TrainingJobArn"]
    wait_for(sm, own)
    tc = sm.describe_trial_component(TrialComponentName=f"{own}-aws-training-job")
    assert tc["Source"]["SourceArn"] == arn
    assert metrics_of(tc)["train:loss"]["Count"] == 2
    assert sm.list_trials(TrialComponentName=f"{own}-aws-training-job")["TrialSummaries"] == []


def test_metrics_logged_to_a_job_component_join_the_jobs(sm, metrics):
    import datetime as dt

    name = unique("logged")
    arn = sm.create_training_job(**loss_job(name, rounds=3))["TrainingJobArn"]
    wait_for(sm, name)
    component = f"{name}-aws-training-job"
    metrics.batch_put_metrics(TrialComponentName=component, MetricData=[
        {"MetricName": "test:accuracy", "Value": 0.91, "Step": 0,
         "Timestamp": dt.datetime.now(dt.timezone.utc)}])
    tc = sm.describe_trial_component(TrialComponentName=component)
    got = metrics_of(tc)
    assert got["test:accuracy"]["SourceArn"] == tc["TrialComponentArn"]
    assert got["train:loss"]["SourceArn"] == arn
    # BatchGetMetrics reads the job's series through its component or the job itself.
    queries = [{"MetricName": "train:loss", "ResourceArn": resource, "MetricStat": "Count",
                "Period": "OneHour", "XAxisType": "Timestamp"}
               for resource in (tc["TrialComponentArn"], arn)]
    results = metrics.batch_get_metrics(MetricQueries=queries)["MetricQueryResults"]
    assert [sum(r["MetricValues"]) for r in results] == [3.0, 3.0]
    assert all(r["Status"] == "Complete" for r in results)


def test_a_tuning_job_tracks_its_training_jobs_in_an_experiment(sm):
    name = unique("tune")[:24]
    arn = sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig=tuning_config(
            "Random", jobs=2, parallel=2, metric="validation:loss", kind="Minimize",
            ranges={"IntegerParameterRanges": [{"Name": "rounds", "MinValue": "1",
                                                "MaxValue": "4"}]}),
        TrainingJobDefinition=probe_definition())["HyperParameterTuningJobArn"]
    experiment = sm.describe_experiment(ExperimentName=f"{name}-aws-tuning-job")
    assert experiment["Source"]["SourceArn"] == arn
    tuned = wait_tuning(sm, name, statuses=("Completed",))

    children = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name)["TrainingJobSummaries"]
    assert len(children) == 2
    trials = sm.list_trials(ExperimentName=f"{name}-aws-tuning-job")["TrialSummaries"]
    assert sorted(t["TrialName"] for t in trials) == sorted(
        f"{c['TrainingJobName']}-aws-trial" for c in children)
    for child in children:
        job_name = child["TrainingJobName"]
        members = sm.list_trial_components(TrialName=f"{job_name}-aws-trial")[
            "TrialComponentSummaries"]
        assert [m["TrialComponentName"] for m in members] == [f"{job_name}-aws-training-job"]
        tc = sm.describe_trial_component(TrialComponentName=f"{job_name}-aws-training-job")
        assert tc["Parameters"]["rounds"] == {
            "StringValue": child["TunedHyperParameters"]["rounds"]}
        assert metrics_of(tc)["validation:loss"]["Last"] == \
            child["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    best = tuned["BestTrainingJob"]
    found = sm.search(Resource="ExperimentTrialComponent", SearchExpression={"Filters": [
        {"Name": "Parents.ExperimentName", "Operator": "Equals",
         "Value": f"{name}-aws-tuning-job"}]}, SortBy="Metrics.validation:loss.Last",
        SortOrder="Ascending")["Results"]
    assert [r["TrialComponent"]["TrialComponentName"] for r in found][0] == \
        f"{best['TrainingJobName']}-aws-training-job"

    # Deleting the tuning job leaves its training jobs, and so their experiment.
    sm.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert sm.describe_experiment(ExperimentName=f"{name}-aws-tuning-job")
