"""A server with the probe image registered; real training jobs (metrics parsed from their
logs) in us-east-1, and training jobs with chosen properties written through kamado's store API
into the server's store in us-west-2, where the operator tests read them through boto3."""

from __future__ import annotations

import datetime as dt

import pytest

from kamado.services.base import RequestContext
from kamado.store.database import Database
from kamado.store.metrics import MetricPoint, MetricStore
from kamado.store.resources import Resources
from tests.e2e.training.conftest import job_request, start_server, wait_for

WEST = "us-west-2"
T0 = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
METRICS = [{"Name": "train:loss", "Regex": r"train-loss:([0-9.]+)"},
           {"Name": "validation:loss", "Regex": r"validation-loss:([0-9.]+)"}]
# name: status, hyperparameters, tags, channels, final validation:auc, instance count
CHOSEN = {
    "s-1": ("Completed", {"eta": "0.1", "max_depth": "3", "objective": "binary:logistic"},
            {"team": "vision"}, ["train"], 0.95, 1),
    "s-2": ("Completed", {"eta": "0.3", "max_depth": "6", "objective": "binary:logistic"},
            {"team": "nlp"}, ["train", "validation"], 0.91, 2),
    "s-3": ("Failed", {"eta": "0.05", "max_depth": "10", "objective": "reg:squarederror"},
            {"team": "vision", "owner": "ann"}, ["validation"], 0.70, 1),
    "s-4": ("Stopped", {"eta": "abc", "objective": "multi:softprob"}, {}, [], None, 4),
    "s-5": ("Completed", {"eta": "1.5", "max_depth": "2", "objective": "binary:logistic"},
            {"team": "ml-ops"}, ["train", "test"], 0.99, 1),
    "s-6": ("Completed", {"eta": "2", "max_depth": "8", "objective": "reg:squarederror"},
            {"owner": "bob"}, ["test"], 0.50, 2),
}


def write_chosen(url: str) -> None:
    db = Database(url)
    resources, metrics = Resources(db), MetricStore(db)
    ctx = RequestContext("000000000000", WEST)
    for i, (name, (status, hp, tags, channels, auc, count)) in enumerate(CHOSEN.items()):
        arn = ctx.arn("sagemaker", f"training-job/{name}")
        data = {
            "TrainingJobName": name,
            "AlgorithmSpecification": {"TrainingImage": "probe", "TrainingInputMode": "File",
                                       "MetricDefinitions": []},
            "RoleArn": "arn:aws:iam::000000000000:role/kamado-test", "HyperParameters": hp,
            "OutputDataConfig": {"S3OutputPath": "s3://data/output", "KmsKeyId": ""},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": count,
                               "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 120},
            "EnableNetworkIsolation": i % 2 == 1, "SecondaryStatus": status,
            "TrainingStartTime": T0 + dt.timedelta(hours=i),
            "TrainingEndTime": T0 + dt.timedelta(hours=i, minutes=10 * (i + 1))}
        if channels:
            data["InputDataConfig"] = [
                {"ChannelName": ch, "DataSource": {"S3DataSource": {
                    "S3DataType": "S3Prefix", "S3Uri": f"s3://data/{name}/{ch}/"}}}
                for ch in channels]
        resources.create(ctx, "TrainingJob", name, arn, data, status=status,
                         creation_time=T0 + dt.timedelta(hours=i),
                         tags=[{"Key": k, "Value": v} for k, v in tags.items()] or None)
        if auc is not None:
            metrics.put(arn, [MetricPoint("validation:auc", auc / 2, 1, 0),
                              MetricPoint("validation:auc", auc, 2, 1),
                              MetricPoint("train:loss", 1 - auc, 2, 1)])
    db.close()


@pytest.fixture(scope="module")
def search_server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("search"), KAMADO_MAX_CONCURRENT_JOBS="3")
    sm = srv.client("sagemaker")
    s3 = srv.client("s3")
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="in/train.csv", Body=b"1,2\n")
    for i, scale in enumerate((1, 4, 2)):
        request = job_request(f"real-{i}", hp={"rounds": 3, "scale": scale},
                              channels={"train": "s3://data/in/"},
                              Tags=[{"Key": "batch", "Value": "real"}])
        request["AlgorithmSpecification"]["MetricDefinitions"] = METRICS
        sm.create_training_job(**request)
    for i in range(3):
        assert wait_for(sm, f"real-{i}")["TrainingJobStatus"] == "Completed"
    write_chosen(f"sqlite:///{srv.home / 'kamado.db'}")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def sm(search_server):
    return search_server.client("sagemaker")


@pytest.fixture(scope="module")
def west(search_server):
    return search_server.client("sagemaker", region=WEST)
