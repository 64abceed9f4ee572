"""Automatic model tuning targets the built-in algorithms' metrics by AWS's names: a tuning job
on K-Means minimises ``test:msd`` and one on Random Cut Forest maximises ``test:f1``, each with
no MetricDefinitions of its own (the image's are filled in, as AWS does)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

from tests.conftest import wait_status
from tests.e2e.algorithms.conftest import BUCKET, ROLE, csv_body, final_metrics, upload


def _definition(image: str, channels: dict, static: dict) -> dict:
    return {
        "StaticHyperParameters": static,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "InputDataConfig": [{"ChannelName": name, **channel}
                            for name, channel in channels.items()],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/tuning-output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                           "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300}}


def _tune(sm, name: str, definition: dict, metric: str, kind: str, ranges: dict) -> dict:
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, TrainingJobDefinition=definition,
        HyperParameterTuningJobConfig={
            "Strategy": "Random", "ParameterRanges": ranges,
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 1},
            "HyperParameterTuningJobObjective": {"Type": kind, "MetricName": metric}})
    job = wait_status(lambda: sm.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name), lambda j: j["HyperParameterTuningJobStatus"],
        ("Completed", "Failed", "Stopped"), name, 300)
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["TrainingJobStatusCounters"]["Completed"] == 3
    return job


def _best_is_the_best(sm, job: dict, metric: str, kind: str) -> None:
    values = {}
    for summary in sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=job["HyperParameterTuningJobName"])[
            "TrainingJobSummaries"]:
        child = sm.describe_training_job(TrainingJobName=summary["TrainingJobName"])
        values[child["TrainingJobName"]] = final_metrics(child)[metric]
        assert summary["FinalHyperParameterTuningJobObjectiveMetric"] == {
            "Type": kind, "MetricName": metric, "Value": values[child["TrainingJobName"]]}
    best = job["BestTrainingJob"]
    pick = min if kind == "Minimize" else max
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pick(values.values())
    assert best["TrainingJobName"] in values


def test_kmeans_tuning_minimises_test_msd(sm, s3):
    X = StandardScaler().fit_transform(load_iris().data)
    channels = upload(s3, "tune-kmeans", {"train": csv_body(X), "test": csv_body(X)},
                      "text/csv;label_size=0")
    definition = _definition("kmeans", channels, {"feature_dim": "4", "k": "3"})
    job = _tune(sm, "tune-kmeans", definition, "test:msd", "Minimize", {
        "IntegerParameterRanges": [{"Name": "extra_center_factor", "MinValue": "4",
                                    "MaxValue": "10"}],
        "CategoricalParameterRanges": [{"Name": "init_method",
                                        "Values": ["kmeans++", "random"]}]})
    _best_is_the_best(sm, job, "test:msd", "Minimize")


def test_random_cut_forest_tuning_maximises_test_f1(sm, s3):
    rng = np.random.default_rng(0)
    normal = rng.normal(size=(2000, 3))
    test = np.vstack([rng.normal(size=(300, 3)), rng.normal(8, 1, size=(15, 3))])
    labels = np.r_[np.zeros(300), np.ones(15)]
    channels = upload(s3, "tune-rcf", {"train": csv_body(normal)}, "text/csv;label_size=0")
    channels.update(upload(s3, "tune-rcf", {"test": csv_body(test, labels)},
                           "text/csv;label_size=1"))
    definition = _definition("randomcutforest", channels, {"feature_dim": "3"})
    job = _tune(sm, "tune-rcf", definition, "test:f1", "Maximize", {
        "IntegerParameterRanges": [{"Name": "num_trees", "MinValue": "50", "MaxValue": "100"},
                                   {"Name": "num_samples_per_tree", "MinValue": "64",
                                    "MaxValue": "256"}]})
    _best_is_the_best(sm, job, "test:f1", "Maximize")
    assert job["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] > 0.5
