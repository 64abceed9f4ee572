"""The training engine through the wire API, with a test image (no ML libraries involved):
the /opt/ml contract, statuses, logs, metrics, artifacts, failures, stops and limits."""

from __future__ import annotations

import gzip
import json
import re
import struct

import pytest
from botocore.exceptions import ClientError

from tests.e2e.training.conftest import (job_request, seen, tar_members, wait_for,
                                         wait_for_file)


def put(s3, key: str, body: bytes | str) -> str:
    s3.put_object(Bucket="data", Key=key, Body=body.encode() if isinstance(body, str) else body)
    return f"s3://data/{key}"


def test_a_job_runs_through_every_status_and_leaves_its_model(sm, s3, train_server):
    put(s3, "happy/train/part-1.csv", "1,2\n")
    put(s3, "happy/train/sub/part-2.csv", "3,4\n")
    put(s3, "happy/validation.csv", "5,6\n")
    request = job_request("happy", hp={"rounds": 3, "lr": "0.1"},
                          channels={"train": "s3://data/happy/train",
                                    "validation": "s3://data/happy/validation.csv"},
                          Environment={"MY_SETTING": "on"},
                          Tags=[{"Key": "team", "Value": "ml"}])
    request["AlgorithmSpecification"]["MetricDefinitions"] = [
        {"Name": "train:loss", "Regex": r"train-loss:([0-9.]+)"},
        {"Name": "validation:loss", "Regex": r"#011validation-loss:(\S+)"}]
    request["InputDataConfig"][0]["ContentType"] = "text/csv"
    arn = sm.create_training_job(**request)["TrainingJobArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:training-job/happy"
    job = wait_for(sm, "happy")

    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["SecondaryStatus"] == "Completed"
    steps = job["SecondaryStatusTransitions"]
    assert [s["Status"] for s in steps] == ["Starting", "Downloading", "Training", "Uploading",
                                            "Completed"]
    for before, after in zip(steps, steps[1:]):
        assert before["EndTime"] == after["StartTime"]
    assert steps[-1]["StartTime"] == steps[-1]["EndTime"]
    assert steps[2]["StatusMessage"] == "Training image download completed. Training in progress."
    assert job["TrainingTimeInSeconds"] >= 1 and job["BillableTimeInSeconds"] >= 1
    assert job["TrainingStartTime"] <= job["TrainingEndTime"]
    assert job["HyperParameters"] == {"rounds": "3", "lr": "0.1"}
    assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 120
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert final == {"train:loss": pytest.approx(1 / 3, abs=1e-4),
                     "validation:loss": pytest.approx(2 / 3, abs=1e-4)}

    model_uri = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert model_uri == "s3://data/output/happy/output/model.tar.gz"
    contract = seen(s3, job)
    assert contract["argv"] == ["train"]
    assert contract["files"] == {"train": {"part-1.csv": "1,2\n", "sub/part-2.csv": "3,4\n"},
                                 "validation": {"validation.csv": "5,6\n"}}
    cfg = contract["config"]
    assert cfg["hyperparameters.json"] == {"rounds": "3", "lr": "0.1"}
    assert cfg["inputdataconfig.json"]["train"] == {
        "ContentType": "text/csv", "TrainingInputMode": "File",
        "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}
    assert cfg["resourceconfig.json"]["current_host"] == "algo-1"
    assert cfg["resourceconfig.json"]["hosts"] == ["algo-1"]
    assert cfg["resourceconfig.json"]["current_instance_type"] == "ml.m5.large"
    env = contract["env"]
    assert env["TRAINING_JOB_NAME"] == "happy" and env["TRAINING_JOB_ARN"] == arn
    assert env["MY_SETTING"] == "on" and env["AWS_REGION"] == "us-east-1"
    assert env["SM_MODEL_DIR"].endswith("/model")
    assert tar_members(s3, "s3://data/output/happy/output/output.tar.gz") == {
        "extra.txt": b"output data"}

    logs = train_server.client("logs")
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                        logStreamNamePrefix="happy/")["logStreams"]
    assert len(streams) == 1 and re.fullmatch(r"happy/algo-1-\d{10}", streams[0]["logStreamName"])
    messages = [e["message"] for e in logs.get_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=streams[0]["logStreamName"],
        startFromHead=True)["events"]]
    assert "[2]#011train-loss:0.3333#011validation-loss:0.6667" in messages
    assert messages[-1] == "probe done"
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]


def test_a_failure_file_becomes_the_failure_reason(sm):
    sm.create_training_job(**job_request("fails", hp={"mode": "fail", "message": "bad things"}))
    job = wait_for(sm, "fails")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["SecondaryStatus"] == "Failed"
    assert job["FailureReason"] == "AlgorithmError: bad things"
    assert "ModelArtifacts" not in job  # a failed job uploads no model


def test_a_program_that_exits_without_saying_why_is_reported_by_its_last_line(sm):
    sm.create_training_job(**job_request("exits", hp={"mode": "exit", "code": 7}))
    job = wait_for(sm, "exits")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == ("AlgorithmError: ExitCode 7: something went wrong: details "
                                    "here. See job logs for more information")


def test_a_missing_s3_prefix_fails_the_job_with_a_client_error(sm):
    sm.create_training_job(**job_request("nodata", channels={"train": "s3://data/nothing/here"}))
    job = wait_for(sm, "nodata")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(
        'ClientError: Data download failed:No S3 objects found under S3 URL "s3://data/nothing/here"')
    assert [s["Status"] for s in job["SecondaryStatusTransitions"]][-2:] == ["Downloading", "Failed"]


def test_a_missing_output_bucket_fails_before_training(sm):
    sm.create_training_job(**job_request("nobucket", OutputDataConfig={
        "S3OutputPath": "s3://no-such-bucket/out"}))
    job = wait_for(sm, "nobucket")
    assert job["TrainingJobStatus"] == "Failed"
    assert "no-such-bucket" in job["FailureReason"] and job["FailureReason"].startswith("ClientError")


def test_max_runtime_stops_the_job_and_keeps_what_it_saved(sm, s3, tmp_path):
    marker = tmp_path / "started"
    sm.create_training_job(**job_request("too-long", hp={"mode": "block", "marker": marker},
                                         StoppingCondition={"MaxRuntimeInSeconds": 1}))
    job = wait_for(sm, "too-long")
    assert job["TrainingJobStatus"] == "Stopped"
    assert job["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert [s["Status"] for s in job["SecondaryStatusTransitions"]][-3:] == [
        "Stopping", "Uploading", "MaxRuntimeExceeded"]
    assert "FailureReason" not in job
    # The program saved its model on SIGTERM; the model was uploaded after the stop.
    assert tar_members(s3, job["ModelArtifacts"]["S3ModelArtifacts"])["saved-on-stop.txt"] == b"bye"


def test_stop_training_job_sends_sigterm_and_ends_stopped(sm, tmp_path):
    marker = tmp_path / "started"
    sm.create_training_job(**job_request("to-stop", hp={"mode": "block", "marker": marker}))
    wait_for_file(marker)
    sm.stop_training_job(TrainingJobName="to-stop")
    described = sm.describe_training_job(TrainingJobName="to-stop")
    assert described["TrainingJobStatus"] in ("Stopping", "Stopped")
    job = wait_for(sm, "to-stop")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")
    with pytest.raises(ClientError) as err:
        sm.stop_training_job(TrainingJobName="to-stop")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "Stopped" in err.value.response["Error"]["Message"]


def test_a_program_that_ignores_sigterm_is_killed_after_the_grace_period(sm, tmp_path):
    marker = tmp_path / "started"
    sm.create_training_job(**job_request("stubborn", hp={"mode": "ignore-term", "marker": marker}))
    wait_for_file(marker)
    pid = int(marker.read_text())
    sm.stop_training_job(TrainingJobName="stubborn")
    job = wait_for(sm, "stubborn")
    assert job["TrainingJobStatus"] == "Stopped"
    with pytest.raises(ProcessLookupError):
        import os
        os.kill(pid, 0)


def test_pipe_mode_streams_each_epoch_through_a_fifo(sm, s3):
    put(s3, "pipe/a.bin", b"AAAA")
    put(s3, "pipe/b.bin.gz", gzip.compress(b"BBBBBB"))
    request = job_request("piped", hp={"mode": "pipe"}, channels={"train": {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/pipe/b"}},
        "CompressionType": "Gzip", "InputMode": "Pipe", "RecordWrapperType": "RecordIO"}})
    sm.create_training_job(**request)
    job = wait_for(sm, "piped")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    payload = b"BBBBBB"
    record = struct.pack("<II", 0xCED7230A, len(payload)) + payload + b"\0\0"
    got = json.loads(tar_members(s3, job["ModelArtifacts"]["S3ModelArtifacts"])["pipe.json"])
    assert got == [record.hex(), record.hex()]
    assert seen(s3, job)["files"] == {"train_0": "fifo"}


def test_manifest_channels_and_sharding_across_two_hosts(sm, s3, train_server):
    for i in range(4):
        put(s3, f"shards/part-{i}.csv", f"{i}\n")
    put(s3, "shards.manifest", json.dumps(
        [{"prefix": "s3://data/shards/"}, "part-0.csv", "part-1.csv", "part-2.csv", "part-3.csv"]))
    request = job_request("sharded", channels={"train": {"DataSource": {"S3DataSource": {
        "S3DataType": "ManifestFile", "S3Uri": "s3://data/shards.manifest",
        "S3DataDistributionType": "ShardedByS3Key"}}}},
        ResourceConfig={"InstanceCount": 2})
    sm.create_training_job(**request)
    job = wait_for(sm, "sharded")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    # Both hosts wrote seen.json; the merged model holds the last host's.
    contract = seen(s3, job)
    assert contract["config"]["resourceconfig.json"]["hosts"] == ["algo-1", "algo-2"]
    assert contract["config"]["resourceconfig.json"]["current_host"] == "algo-2"
    assert contract["files"]["train"] == {"part-1.csv": "1\n", "part-3.csv": "3\n"}
    streams = train_server.client("logs").describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="sharded/")["logStreams"]
    assert sorted(s["logStreamName"].rsplit("-", 1)[0] for s in streams) == [
        "sharded/algo-1", "sharded/algo-2"]


def test_checkpoints_are_restored_at_start_and_synced_back(sm, s3):
    put(s3, "ckpt/sharded/old.ckpt", "one")
    put(s3, "ckpt/sharded/keep.ckpt", "keep")
    sm.create_training_job(**job_request("ckpt", hp={"mode": "checkpoint"}, CheckpointConfig={
        "S3Uri": "s3://data/ckpt/sharded"}))
    job = wait_for(sm, "ckpt")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["CheckpointConfig"] == {"S3Uri": "s3://data/ckpt/sharded",
                                       "LocalPath": "/opt/ml/checkpoints/"}
    restored = json.loads(tar_members(s3, job["ModelArtifacts"]["S3ModelArtifacts"])["restored.json"])
    assert restored == ["keep.ckpt", "old.ckpt"]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="data", Prefix="ckpt/")["Contents"])
    assert keys == ["ckpt/sharded/keep.ckpt", "ckpt/sharded/step-2.ckpt"]


def test_container_entrypoint_and_arguments_replace_the_command(sm, s3):
    request = job_request("entry", hp={"rounds": 1})
    request["AlgorithmSpecification"]["ContainerArguments"] = ["train", "--fast"]
    sm.create_training_job(**request)
    job = wait_for(sm, "entry")
    assert seen(s3, job)["argv"] == ["train", "--fast"]


def test_request_errors(sm):
    with pytest.raises(ClientError) as err:
        sm.create_training_job(**job_request("bad-image", image="123456789012.dkr.ecr.us-east-1."
                                             "amazonaws.com/nothing:1"))
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "kamado images" in err.value.response["Error"]["Message"]
    assert "xgboost" in err.value.response["Error"]["Message"]

    sm.create_training_job(**job_request("dup"))
    with pytest.raises(ClientError) as err:
        sm.create_training_job(**job_request("dup"))
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "already exists" in err.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as err:
        sm.describe_training_job(TrainingJobName="never-made")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "does not exist" in err.value.response["Error"]["Message"]

    bad_regex = job_request("bad-regex")
    bad_regex["AlgorithmSpecification"]["MetricDefinitions"] = [{"Name": "m", "Regex": "(["}]
    with pytest.raises(ClientError) as err:
        sm.create_training_job(**bad_regex)
    assert err.value.response["Error"]["Code"] == "ValidationException"

    both = job_request("both")
    both["AlgorithmSpecification"]["AlgorithmName"] = "xgboost"
    with pytest.raises(ClientError) as err:
        sm.create_training_job(**both)
    assert "Exactly one" in err.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as err:
        sm.create_training_job(**job_request("twice", channels={"train": "s3://data/x"},
                                             InputDataConfig=[
            {"ChannelName": "a", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/x"}}},
            {"ChannelName": "a", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/y"}}}]))
    assert "unique" in err.value.response["Error"]["Message"]


def test_list_filters_sorts_and_pages(sm):
    for i in range(3):
        sm.create_training_job(**job_request(f"listed-{i}", hp={"rounds": 1}))
    for i in range(3):
        wait_for(sm, f"listed-{i}")
    names = [j["TrainingJobName"] for j in sm.list_training_jobs(
        NameContains="listed-", SortBy="Name", SortOrder="Ascending")["TrainingJobSummaries"]]
    assert names == ["listed-0", "listed-1", "listed-2"]
    page = sm.list_training_jobs(NameContains="listed-", MaxResults=2)
    assert len(page["TrainingJobSummaries"]) == 2 and page["NextToken"]
    rest = sm.list_training_jobs(NameContains="listed-", MaxResults=2, NextToken=page["NextToken"])
    assert len(rest["TrainingJobSummaries"]) == 1
    completed = sm.list_training_jobs(NameContains="listed-", StatusEquals="Completed")
    assert len(completed["TrainingJobSummaries"]) == 3
    assert all(j["SecondaryStatus"] == "Completed" for j in completed["TrainingJobSummaries"])
    assert sm.list_training_jobs(NameContains="listed-", StatusEquals="Failed")[
        "TrainingJobSummaries"] == []
    newest = max(j["LastModifiedTime"] for j in completed["TrainingJobSummaries"])
    assert sm.list_training_jobs(NameContains="listed-", LastModifiedTimeAfter=newest)[
        "TrainingJobSummaries"] == []
    assert len(sm.list_training_jobs(NameContains="listed-", LastModifiedTimeBefore=newest)[
        "TrainingJobSummaries"]) == 2


def test_delete_only_a_finished_job(sm, tmp_path):
    marker = tmp_path / "started"
    sm.create_training_job(**job_request("deletable", hp={"mode": "block", "marker": marker}))
    wait_for_file(marker)
    with pytest.raises(ClientError) as err:
        sm.delete_training_job(TrainingJobName="deletable")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    sm.stop_training_job(TrainingJobName="deletable")
    wait_for(sm, "deletable")
    sm.delete_training_job(TrainingJobName="deletable")
    with pytest.raises(ClientError):
        sm.describe_training_job(TrainingJobName="deletable")


def test_experiment_config_records_the_job_as_a_trial_component(sm):
    sm.create_experiment(ExperimentName="exp-train")
    sm.create_trial(TrialName="trial-train", ExperimentName="exp-train")
    request = job_request("tracked", hp={"rounds": 2}, ExperimentConfig={
        "ExperimentName": "exp-train", "TrialName": "trial-train"})
    request["AlgorithmSpecification"]["MetricDefinitions"] = [
        {"Name": "train:loss", "Regex": r"train-loss:([0-9.]+)"}]
    arn = sm.create_training_job(**request)["TrainingJobArn"]
    wait_for(sm, "tracked")
    tc = sm.describe_trial_component(TrialComponentName="tracked-aws-training-job")
    assert tc["Source"] == {"SourceArn": arn, "SourceType": "SageMakerTrainingJob"}
    assert tc["Status"]["PrimaryStatus"] == "Completed"
    assert tc["Parameters"]["rounds"] == {"StringValue": "2"}
    loss = {m["MetricName"]: m for m in tc["Metrics"]}["train:loss"]
    assert (loss["Count"], loss["Last"], loss["Max"]) == (2, 0.5, 1.0)
    assert tc["OutputArtifacts"]["SageMaker.ModelArtifact"]["Value"].endswith("model.tar.gz")
    in_trial = sm.list_trial_components(TrialName="trial-train")["TrialComponentSummaries"]
    assert [t["TrialComponentName"] for t in in_trial] == ["tracked-aws-training-job"]

    with pytest.raises(ClientError) as err:
        sm.create_training_job(**job_request("untracked", ExperimentConfig={
            "ExperimentName": "exp-train", "TrialName": "no-such-trial"}))
    assert err.value.response["Error"]["Code"] == "ResourceNotFound"


def test_an_entry_point_image_registered_with_the_cli(sm, s3, train_server):
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run(
        [sys.executable, "-m", "kamado.cli.main", "images", "register", "fn-image",
         "--entry-point", "tests.e2e.training.entry_image:main",
         "--uri", "123456789012.dkr.ecr.us-east-1.amazonaws.com/fn-image:1"],
        env=train_server.env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    repo = str(Path(__file__).resolve().parents[3])
    sm.create_training_job(**job_request(
        "by-entry-point", image="123456789012.dkr.ecr.us-east-1.amazonaws.com/fn-image:1",
        Environment={"PYTHONPATH": repo}))
    job = wait_for(sm, "by-entry-point")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert tar_members(s3, job["ModelArtifacts"]["S3ModelArtifacts"]) == {"command.txt": b"train"}
    listed = subprocess.run([sys.executable, "-m", "kamado.cli.main", "images", "--uris"],
                            env={**train_server.env(), "COLUMNS": "250"}, capture_output=True, text=True)
    assert "fn-image" in listed.stdout
    assert "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1" in listed.stdout
