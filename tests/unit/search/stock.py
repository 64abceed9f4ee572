"""A platform on SQLite and (when KAMADO_TEST_DATABASE_URL is set) on Postgres, and resources of
every searchable family written into its store the way their providers keep them."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from kamado.config import Config
from kamado.platform import Platform
from kamado.search.query import Query
from kamado.services.base import RequestContext
from kamado.services.sagemaker.search import Search
from kamado.store.metrics import MetricPoint
from tests.conftest_store import BACKENDS, PG_URL

CTX = RequestContext("000000000000", "us-east-1")
T0 = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def open_platform(backend: str, home):
    """(platform, a context manager's exit) for ``backend``."""
    if backend == "sqlite":
        return Platform(Config.load(home=home, database_url=f"sqlite:///{home / 'k.db'}")), None
    from tests.pg import fresh_schema_url

    schema = fresh_schema_url(PG_URL)
    url = schema.__enter__()
    return Platform(Config.load(home=home, database_url=url)), schema


@pytest.fixture(scope="module", params=BACKENDS)
def platform(request, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"search-{request.param}") / "home"
    plat, schema = open_platform(request.param, home)
    yield plat
    plat.close()
    if schema is not None:
        schema.__exit__(None, None, None)


def search_provider(platform) -> Search:
    return platform.services.provider(Search)


def query_for(platform, entry) -> Query:
    svc = search_provider(platform)
    return Query(platform.db, svc._translator(entry), entry.store_type,
                 lambda found: svc.render(entry, found, CTX))


# --- training jobs -------------------------------------------------------------------------------

def training_job(platform, name: str, *, status: str = "Completed", hyperparameters=None,
                 channels=("train",), tags=None, metrics=None, created=None, **extra):
    arn = CTX.arn("sagemaker", f"training-job/{name.lower()}")
    data = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": XGBOOST, "TrainingInputMode": "File",
                                   "MetricDefinitions": []},
        "RoleArn": "arn:aws:iam::000000000000:role/test",
        "HyperParameters": dict(hyperparameters or {}),
        "InputDataConfig": [{"ChannelName": ch, "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://data/{name}/{ch}/"}}} for ch in channels],
        "OutputDataConfig": {"S3OutputPath": "s3://data/out", "CompressionType": "GZIP",
                             "KmsKeyId": ""},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                           "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "EnableNetworkIsolation": False, "EnableInterContainerTrafficEncryption": False,
        "EnableManagedSpotTraining": False, "SecondaryStatus": status,
    }
    if not channels:
        data.pop("InputDataConfig")
    data.update(extra)
    platform.resources.create(CTX, "TrainingJob", name, arn, data, status=status,
                              creation_time=created, tags=tags)
    if metrics:
        platform.engine.metrics.put(arn, [MetricPoint(k, v, 1000 * i, i)
                                          for i, (k, v) in enumerate(metrics)])
    return arn


def random_jobs(platform, count: int, seed: int = 7) -> list[str]:
    """Training jobs whose properties cover what the operators must tell apart: numbers and
    non-numbers as hyperparameters, missing members, lists of 0-3 channels, tags, metrics,
    booleans, timestamps, nested lists."""
    rng = random.Random(seed)
    names = []
    for i in range(count):
        name = f"Job-{i:03d}-{rng.choice(['alpha', 'beta', 'Gamma'])}"
        hp = {}
        if rng.random() < 0.85:
            hp["eta"] = rng.choice(["0.1", "0.30", "0.3", "1e-2", "2", "2.0", "2.7", "-1",
                                    "abc", ".5", "0.05", "10"])
        if rng.random() < 0.8:
            hp["max_depth"] = str(rng.randint(1, 10))
        if rng.random() < 0.7:
            hp["objective"] = rng.choice(["binary:logistic", "reg:squarederror",
                                          "multi:softprob"])
        if rng.random() < 0.2:
            hp["model.dotted"] = rng.choice(["x", "y"])
        channels = rng.sample(["train", "validation", "test"], rng.randint(0, 3))
        tags = []
        if rng.random() < 0.7:
            tags.append({"Key": "team", "Value": rng.choice(["vision", "nlp", "Vision", "ml-ops"])})
        if rng.random() < 0.3:
            tags.append({"Key": "owner:id", "Value": str(rng.randint(1, 3))})
        metrics = []
        for metric in ("validation:auc", "train:loss"):
            if rng.random() < 0.75:
                for _ in range(rng.randint(1, 3)):
                    metrics.append((metric, round(rng.random(), 3)))
        extra = {}
        if rng.random() < 0.5:
            start = T0 + dt.timedelta(minutes=rng.randint(0, 600), microseconds=rng.choice(
                [0, 500000]))
            extra["TrainingStartTime"] = start
            if rng.random() < 0.8:
                extra["TrainingEndTime"] = start + dt.timedelta(seconds=rng.randint(1, 900))
        if rng.random() < 0.3:
            extra["VpcConfig"] = {"SecurityGroupIds": ["sg-1"],
                                  "Subnets": rng.sample(["subnet-a", "subnet-b", "subnet-c"],
                                                        rng.randint(1, 2))}
        if rng.random() < 0.4:
            extra["SecondaryStatusTransitions"] = [
                {"Status": s, "StartTime": T0, "StatusMessage": f"{s} now"}
                for s in rng.sample(["Starting", "Downloading", "Training", "Completed"],
                                    rng.randint(1, 3))]
        extra["EnableNetworkIsolation"] = rng.random() < 0.5
        extra["ResourceConfig"] = {"InstanceType": rng.choice(["ml.m5.large", "ml.c5.xlarge"]),
                                   "InstanceCount": rng.randint(1, 4), "VolumeSizeInGB": 5}
        if rng.random() < 0.2:
            extra["FailureReason"] = rng.choice(["AlgorithmError: boom", "ClientError: no data"])
        training_job(platform, name, status=rng.choice(["Completed", "Failed", "Stopped"]),
                     hyperparameters=hp, channels=channels, tags=tags or None, metrics=metrics,
                     created=T0 + dt.timedelta(seconds=rng.randint(0, 10_000)), **extra)
        names.append(name)
    return names
