"""Batch transform through boto3: a model trained on kamado transforms CSV objects in S3, and
each .out object holds what xgboost.Booster.predict answers for its rows, in order."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import xgboost as xgb
from botocore.exceptions import ClientError

from tests.e2e.hosting.conftest import LINEAR, csv_rows, tarball
from tests.e2e.transform.conftest import (BUCKET, XGBOOST, create_model, keys_under, read,
                                          run_job, wait_job)

LOG_GROUP = "/aws/sagemaker/TransformJobs"


def numbers(body: bytes) -> np.ndarray:
    return np.array([float(v) for v in body.decode().split()])


def test_csv_objects_split_by_line_in_multi_record_batches(host, sm, s3, model, booster,
                                                           cancer_xgboost):
    X = cancer_xgboost.X
    parts = {"in/multi/a.csv": X[:200], "in/multi/b.csv": X[200:400],
             "in/multi/sub/c.csv": X[400:]}
    for key, rows in parts.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=csv_rows(rows))
    sm.create_transform_job(
        TransformJobName="multi", ModelName=model, BatchStrategy="MultiRecord", MaxPayloadInMB=1,
        TransformInput={"DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/in/multi/"}},
            "ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/multi", "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 2},
        Tags=[{"Key": "team", "Value": "ml"}])
    job = wait_job(sm, "multi")
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert keys_under(s3, "out/multi/") == ["out/multi/a.csv.out", "out/multi/b.csv.out",
                                            "out/multi/sub/c.csv.out"]
    for key, rows in parts.items():
        served = numbers(read(s3, key.replace("in/", "out/", 1) + ".out"))
        np.testing.assert_allclose(served, booster.predict(xgb.DMatrix(rows)), rtol=0,
                                   atol=1e-6)
    assert job["TransformStartTime"] >= job["CreationTime"]
    assert job["TransformEndTime"] >= job["TransformStartTime"]
    assert (job["BatchStrategy"], job["MaxPayloadInMB"]) == ("MultiRecord", 1)
    assert job["TransformInput"]["SplitType"] == "Line"
    assert job["TransformResources"]["InstanceCount"] == 2
    assert sm.list_tags(ResourceArn=job["TransformJobArn"])["Tags"] == [
        {"Key": "team", "Value": "ml"}]
    listed = sm.list_transform_jobs(NameContains="multi", StatusEquals="Completed")
    assert [j["TransformJobName"] for j in listed["TransformJobSummaries"]] == ["multi"]
    streams = host.client("logs").describe_log_streams(
        logGroupName=LOG_GROUP, logStreamNamePrefix="multi/")["logStreams"]
    names = [s["logStreamName"] for s in streams]
    assert len([n for n in names if not n.endswith("/data-log")]) == 2, names
    assert all(n.startswith("multi/i-") for n in names)


def test_a_manifest_single_record_and_execution_parameters(sm, s3, model, booster,
                                                            cancer_xgboost):
    X = cancer_xgboost.X
    s3.put_object(Bucket=BUCKET, Key="in/man/one.csv", Body=csv_rows(X[:7]))
    s3.put_object(Bucket=BUCKET, Key="in/man/two.csv", Body=csv_rows(X[7:12]))
    s3.put_object(Bucket=BUCKET, Key="in/man/skipped.csv", Body=b"not,numbers\n")
    s3.put_object(Bucket=BUCKET, Key="in/manifest.json", Body=json.dumps(
        [{"prefix": f"s3://{BUCKET}/in/man/"}, "one.csv", "two.csv"]).encode())
    job = run_job(sm, "manifest", f"s3://{BUCKET}/in/manifest.json", data_type="ManifestFile",
                  BatchStrategy="SingleRecord", output={"AssembleWith": "Line"})
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    prefix = "transform-out/manifest/"
    assert keys_under(s3, prefix) == [prefix + "one.csv.out", prefix + "two.csv.out"]
    np.testing.assert_allclose(numbers(read(s3, prefix + "two.csv.out")),
                               booster.predict(xgb.DMatrix(X[7:12])), rtol=0, atol=1e-6)
    # without BatchStrategy, the XGBoost server's /execution-parameters says MULTI_RECORD
    job = run_job(sm, "asked", f"s3://{BUCKET}/in/man/one.csv")
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert job["BatchStrategy"] == "MultiRecord"
    assert job["MaxPayloadInMB"] == 6


def test_filters_and_join_on_csv(sm, s3, model, booster, cancer_xgboost):
    X = cancer_xgboost.X[:30]
    ids = [f"id-{i}" for i in range(len(X))]
    lines = [f"{i}," + row for i, row in zip(ids, csv_rows(X).decode().splitlines())]
    s3.put_object(Bucket=BUCKET, Key="in/ids/rows.csv", Body="\n".join(lines).encode())
    job = run_job(sm, "join", f"s3://{BUCKET}/in/ids/", BatchStrategy="MultiRecord",
                  DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input",
                                  "OutputFilter": "$[0,-1]"},
                  output={"Accept": "text/csv", "AssembleWith": "Line"})
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert job["DataProcessing"]["JoinSource"] == "Input"
    out = read(s3, "transform-out/join/rows.csv.out").decode().splitlines()
    assert [line.split(",")[0] for line in out] == ids
    np.testing.assert_allclose([float(line.split(",")[1]) for line in out],
                               booster.predict(xgb.DMatrix(X)), rtol=0, atol=1e-6)

    # the whole input row, then the prediction; SingleRecord gives the same
    job = run_job(sm, "join-all", f"s3://{BUCKET}/in/ids/", BatchStrategy="SingleRecord",
                  DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input"},
                  output={"AssembleWith": "Line"})
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    out = read(s3, "transform-out/join-all/rows.csv.out").decode().splitlines()
    assert [line.rsplit(",", 1)[0] for line in out] == lines


def test_gzip_input(sm, s3, model, booster, cancer_xgboost):
    X = cancer_xgboost.X[:50]
    s3.put_object(Bucket=BUCKET, Key="in/gz/rows.csv.gz", Body=gzip.compress(csv_rows(X)))
    job = run_job(sm, "gz", f"s3://{BUCKET}/in/gz/", BatchStrategy="MultiRecord",
                  TransformInput={"CompressionType": "Gzip"})
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    np.testing.assert_allclose(numbers(read(s3, "transform-out/gz/rows.csv.gz.out")),
                               booster.predict(xgb.DMatrix(X)), rtol=0, atol=1e-6)


def test_a_corrupt_record_fails_its_object_and_names_it(host, sm, s3, model, cancer_xgboost):
    good = csv_rows(cancer_xgboost.X[:5])
    bad = good.splitlines()
    bad[3] = b"1.0,abc," + bad[3].split(b",", 2)[2]
    s3.put_object(Bucket=BUCKET, Key="in/bad/a-good.csv", Body=good)
    s3.put_object(Bucket=BUCKET, Key="in/bad/b-bad.csv", Body=b"\n".join(bad) + b"\n")
    job = run_job(sm, "corrupt", f"s3://{BUCKET}/in/bad/", BatchStrategy="MultiRecord")
    assert job["TransformJobStatus"] == "Failed"
    reason = job["FailureReason"]
    assert reason.startswith("ClientError: 1 of 2 input objects failed"), reason
    assert f"s3://{BUCKET}/in/bad/b-bad.csv: line 4: the model server answered 415" in reason
    assert "abc" in reason and "log stream corrupt/i-" in reason
    # the good object's output is kept, the bad one's is not written
    assert keys_under(s3, "transform-out/corrupt/") == ["transform-out/corrupt/a-good.csv.out"]
    # kamado keeps serving: another job on the same model completes
    assert run_job(sm, "after-corrupt", f"s3://{BUCKET}/in/bad/a-good.csv")[
        "TransformJobStatus"] == "Completed"


def test_missing_input_and_missing_model(sm, model):
    job = run_job(sm, "nothing", f"s3://{BUCKET}/in/no-such-prefix/")
    assert job["TransformJobStatus"] == "Failed"
    assert "No S3 objects found under S3 URL" in job["FailureReason"]
    assert f"s3://{BUCKET}/in/no-such-prefix/" in job["FailureReason"]
    with pytest.raises(ClientError) as e:
        run_job(sm, "no-model", f"s3://{BUCKET}/in/", model="no-such-model", wait=False)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"].startswith(
        'Could not find model "arn:aws:sagemaker:us-east-1:')
    with pytest.raises(ClientError) as e:
        sm.describe_transform_job(TransformJobName="never-created")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as e:
        run_job(sm, "bad-path", f"s3://{BUCKET}/in/", wait=False,
                DataProcessing={"InputFilter": "$..x"})
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_a_model_that_cannot_start_fails_the_job(sm, s3):
    s3.put_object(Bucket=BUCKET, Key="broken/model.tar.gz",
                  Body=tarball({"not-a-model.txt": b"hello"}))
    s3.put_object(Bucket=BUCKET, Key="in/one/rows.csv", Body=b"1,2,3\n")
    create_model(sm, "broken", XGBOOST, f"s3://{BUCKET}/broken/model.tar.gz")
    job = run_job(sm, "broken", f"s3://{BUCKET}/in/one/", model="broken")
    assert job["TransformJobStatus"] == "Failed"
    assert "could not start" in job["FailureReason"]
    assert "xgboost-model" in job["FailureReason"]


def test_stop(sm, s3, model, cancer_xgboost):
    rows = csv_rows(np.tile(cancer_xgboost.X[:100], (100, 1)))  # 10,000 rows
    for i in range(4):
        s3.put_object(Bucket=BUCKET, Key=f"in/big/{i}.csv", Body=rows)
    job = run_job(sm, "stopped", f"s3://{BUCKET}/in/big/", BatchStrategy="SingleRecord",
                  wait=False)
    assert job["TransformJobStatus"] == "InProgress"
    wait_job(sm, "stopped", statuses=("InProgress",))
    sm.stop_transform_job(TransformJobName="stopped")
    assert sm.describe_transform_job(TransformJobName="stopped")["TransformJobStatus"] in (
        "Stopping", "Stopped")
    job = wait_job(sm, "stopped", timeout=30)
    assert job["TransformJobStatus"] == "Stopped"
    assert "TransformEndTime" in job
    with pytest.raises(ClientError) as e:
        sm.stop_transform_job(TransformJobName="stopped")
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_json_lines_with_linear_learner_joined_under_sagemaker_output(sm, s3, diabetes_linear):
    create_model(sm, "diabetes-transform", LINEAR, diabetes_linear.model_data)
    X = diabetes_linear.X[:40]
    lines = [json.dumps({"id": f"p{i}", "features": row.tolist()}) for i, row in enumerate(X)]
    s3.put_object(Bucket=BUCKET, Key="in/jsonl/rows.jsonl", Body="\n".join(lines).encode())
    plain = run_job(sm, "ll-plain", f"s3://{BUCKET}/in/jsonl/", model="diabetes-transform",
                    content_type="application/jsonlines", BatchStrategy="MultiRecord",
                    DataProcessing={"InputFilter": "$['features']"},
                    output={"Accept": "application/jsonlines", "AssembleWith": "Line"})
    assert plain["TransformJobStatus"] == "Completed", plain.get("FailureReason")
    scores = [json.loads(line)["score"] for line in
              read(s3, "transform-out/ll-plain/rows.jsonl.out").decode().splitlines()]
    assert len(scores) == len(X) and np.isfinite(scores).all()

    joined = run_job(sm, "ll-join", f"s3://{BUCKET}/in/jsonl/", model="diabetes-transform",
                     content_type="application/jsonlines", BatchStrategy="MultiRecord",
                     DataProcessing={"InputFilter": "$['features']", "JoinSource": "Input",
                                     "OutputFilter": "$['id','SageMakerOutput']"},
                     output={"Accept": "application/jsonlines", "AssembleWith": "Line"})
    assert joined["TransformJobStatus"] == "Completed", joined.get("FailureReason")
    out = [json.loads(line) for line in
           read(s3, "transform-out/ll-join/rows.jsonl.out").decode().splitlines()]
    assert [o["id"] for o in out] == [f"p{i}" for i in range(len(X))]
    assert set(out[0]) == {"id", "SageMakerOutput"}
    np.testing.assert_allclose([o["SageMakerOutput"]["score"] for o in out], scores,
                               rtol=0, atol=1e-6)
