"""Each strategy on built-in XGBoost over scikit-learn's breast-cancer data, through boto3."""

from __future__ import annotations

import itertools

import pytest

from tests.e2e.tuning.conftest import training_jobs, tuning_config, wait_tuning, xgboost_definition


def create(sm, name: str, config: dict, definition: dict | None = None, **extra) -> None:
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, HyperParameterTuningJobConfig=config,
        TrainingJobDefinition=definition or xgboost_definition(), **extra)


def test_bayesian_search_runs_real_training_jobs(sm):
    create(sm, "bayes", tuning_config("Bayesian", jobs=5, parallel=2, RandomSeed=3))
    job = wait_tuning(sm, "bayes")
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["TrainingJobStatusCounters"] == {"Completed": 5, "InProgress": 0,
                                                "RetryableError": 0, "NonRetryableError": 0,
                                                "Stopped": 0}
    assert job["ObjectiveStatusCounters"] == {"Succeeded": 5, "Pending": 0, "Failed": 0}
    assert job["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] == "Off"
    assert job["ConsumedResources"]["RuntimeInSeconds"] >= 0
    assert "HyperParameterTuningEndTime" in job

    children = training_jobs(sm, "bayes", SortBy="FinalObjectiveMetricValue",
                             SortOrder="Descending")
    values = [c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in children]
    assert len(children) == 5 and values == sorted(values, reverse=True)
    ascending = training_jobs(sm, "bayes", SortBy="FinalObjectiveMetricValue")  # AWS's default
    assert [c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in ascending] == \
        sorted(values)
    assert all(0.9 < v <= 1.0 for v in values)  # AUC of a real booster on breast cancer
    best = job["BestTrainingJob"]
    assert best["TrainingJobName"] == children[0]["TrainingJobName"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "Type": "Maximize", "MetricName": "validation:auc", "Value": values[0]}

    for child in children:
        tuned = child["TunedHyperParameters"]
        assert 0.05 <= float(tuned["eta"]) <= 0.5 and 2 <= int(tuned["max_depth"]) <= 6
        assert child["TrainingJobName"].startswith("bayes-") and child["TuningJobName"] == "bayes"
        described = sm.describe_training_job(TrainingJobName=child["TrainingJobName"])
        assert described["TuningJobArn"] == job["HyperParameterTuningJobArn"]
        hp = described["HyperParameters"]
        assert hp["eta"] == tuned["eta"] and hp["num_round"] == "10"  # tuned and static merged
        assert hp["_tuning_objective_metric"] == "validation:auc"
        final = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
        assert final["validation:auc"] == pytest.approx(
            child["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])

    by_name = training_jobs(sm, "bayes", SortBy="Name", SortOrder="Ascending")
    assert [c["TrainingJobName"] for c in by_name] == sorted(c["TrainingJobName"] for c in children)
    assert training_jobs(sm, "bayes", StatusEquals="Failed") == []
    paged = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="bayes", MaxResults=2)
    assert len(paged["TrainingJobSummaries"]) == 2 and paged["NextToken"]

    listed = sm.list_hyper_parameter_tuning_jobs(NameContains="bayes")
    summary = listed["HyperParameterTuningJobSummaries"][0]
    assert summary["HyperParameterTuningJobName"] == "bayes" and summary["Strategy"] == "Bayesian"
    assert summary["TrainingJobStatusCounters"]["Completed"] == 5


def test_random_search_with_a_seed_is_reproducible(sm):
    ranges = {"ContinuousParameterRanges": [
        {"Name": "eta", "MinValue": "0.001", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
        {"Name": "subsample", "MinValue": "0.5", "MaxValue": "0.99",
         "ScalingType": "ReverseLogarithmic"}]}
    tuned = []
    for name in ("random-a", "random-b"):
        create(sm, name, tuning_config("Random", ranges=ranges, jobs=3, parallel=1, RandomSeed=11))
        job = wait_tuning(sm, name)
        assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
        children = training_jobs(sm, name, SortBy="CreationTime", SortOrder="Ascending")
        tuned.append([c["TunedHyperParameters"] for c in children])
    assert tuned[0] == tuned[1] and len(tuned[0]) == 3
    assert len({t["eta"] for t in tuned[0]}) == 3
    for t in tuned[0]:
        assert 0.001 <= float(t["eta"]) <= 0.5 and 0.5 <= float(t["subsample"]) <= 0.99


def test_grid_covers_every_combination_exactly_once(sm):
    ranges = {"CategoricalParameterRanges": [
        {"Name": "max_depth", "Values": ["2", "4", "6"]},
        {"Name": "eta", "Values": ["0.1", "0.3"]}]}
    config = tuning_config("Grid", ranges=ranges, jobs=None, parallel=2)
    create(sm, "grid", config)
    job = wait_tuning(sm, "grid")
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    seen = [(c["TunedHyperParameters"]["max_depth"], c["TunedHyperParameters"]["eta"])
            for c in training_jobs(sm, "grid")]
    assert sorted(seen) == sorted(itertools.product(["2", "4", "6"], ["0.1", "0.3"]))
    assert job["TrainingJobStatusCounters"]["Completed"] == 6


def test_hyperband_on_xgboost_uses_boosting_rounds_as_its_resource(sm):
    config = tuning_config("Hyperband", jobs=6, parallel=2, StrategyConfig={
        "HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 9}})
    create(sm, "hyperband", config, xgboost_definition({"num_round": "9"}))
    job = wait_tuning(sm, "hyperband")
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    counters = job["TrainingJobStatusCounters"]
    assert counters["Completed"] + counters["Stopped"] == 6
    assert job["ObjectiveStatusCounters"]["Succeeded"] == 6
    assert 0.9 < job["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] <= 1


def test_several_training_job_definitions_in_one_search(sm):
    first = xgboost_definition({"max_depth": "3"}, DefinitionName="shallow", HyperParameterRanges={
        "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}]},
        TuningObjective={"Type": "Maximize", "MetricName": "validation:auc"})
    second = xgboost_definition({"eta": "0.2"}, DefinitionName="deep", HyperParameterRanges={
        "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "5", "MaxValue": "8"}]},
        TuningObjective={"Type": "Maximize", "MetricName": "validation:auc"})
    config = tuning_config("Random", jobs=6, parallel=2, RandomSeed=1)
    del config["HyperParameterTuningJobObjective"], config["ParameterRanges"]
    sm.create_hyper_parameter_tuning_job(HyperParameterTuningJobName="two-algos",
                                         HyperParameterTuningJobConfig=config,
                                         TrainingJobDefinitions=[first, second])
    job = wait_tuning(sm, "two-algos")
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    children = training_jobs(sm, "two-algos")
    assert {c["TrainingJobDefinitionName"] for c in children} <= {"shallow", "deep"}
    for c in children:
        described = sm.describe_training_job(TrainingJobName=c["TrainingJobName"])
        if c["TrainingJobDefinitionName"] == "shallow":
            assert set(c["TunedHyperParameters"]) == {"eta"}
            assert described["HyperParameters"]["max_depth"] == "3"
        else:
            assert set(c["TunedHyperParameters"]) == {"max_depth"}
            assert 5 <= int(described["HyperParameters"]["max_depth"]) <= 8
