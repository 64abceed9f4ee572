"""Requests SageMaker refuses are refused the same way, and nothing is recorded for them."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.e2e.tuning.conftest import tuning_config, xgboost_definition

GRID = {"CategoricalParameterRanges": [{"Name": "max_depth", "Values": ["2", "3"]}]}


def continuous(low: str, high: str, scaling: str = "Linear") -> dict:
    return {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": low, "MaxValue": high,
                                           "ScalingType": scaling}]}


def many_values(name: str, n: int) -> dict:
    return {"Name": name, "Values": [str(i) for i in range(n)]}


CASES = {
    "log scale over zero": (tuning_config(ranges=continuous("0", "0.5", "Logarithmic")),
                            "Logarithmic"),
    "min above max": (tuning_config(ranges=continuous("0.6", "0.5")), "MinValue"),
    "reverse log reaching one": (tuning_config(ranges=continuous("0.5", "1.0",
                                                                 "ReverseLogarithmic")),
                                 "ReverseLogarithmic"),
    "reverse log on integers": (tuning_config(ranges={"IntegerParameterRanges": [
        {"Name": "max_depth", "MinValue": "1", "MaxValue": "5",
         "ScalingType": "ReverseLogarithmic"}]}), "continuous ranges only"),
    "not a number": (tuning_config(ranges=continuous("low", "0.5")), "not a number"),
    "too many grid points": (tuning_config("Grid", jobs=None, ranges={
        "CategoricalParameterRanges": [many_values("a", 30), many_values("b", 30)]}),
        "900 combinations"),
    "grid with a continuous range": (tuning_config("Grid", jobs=None), "only categorical"),
    "grid with the wrong job count": (tuning_config("Grid", jobs=5, ranges=GRID),
                                      "number of combinations (2)"),
    "no job count for bayesian": (tuning_config(jobs=None), "MaxNumberOfTrainingJobs"),
    "more parallel than jobs": (tuning_config(jobs=2, parallel=3), "MaxParallelTrainingJobs"),
    "hyperband with early stopping": (tuning_config(
        "Hyperband", TrainingJobEarlyStoppingType="Auto",
        StrategyConfig={"HyperbandStrategyConfig": {"MaxResource": 10}}), "must be Off"),
    "hyperband without a resource": (tuning_config("Hyperband"), "MaxResource"),
    "strategy config without hyperband": (tuning_config(StrategyConfig={
        "HyperbandStrategyConfig": {"MaxResource": 10}}), "only valid with the Hyperband"),
    "objective that is no metric": (tuning_config(metric="validation:nope"), "validation:nope"),
    "range that is also static": (tuning_config(ranges={"IntegerParameterRanges": [
        {"Name": "num_round", "MinValue": "5", "MaxValue": "9"}]}), "both static and tunable"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_invalid_request_is_refused_with_a_validation_exception(sm, case):
    config, words = CASES[case]
    name = "bad-" + str(abs(hash(case)) % 10**8)
    with pytest.raises(ClientError) as err:
        sm.create_hyper_parameter_tuning_job(HyperParameterTuningJobName=name,
                                             HyperParameterTuningJobConfig=config,
                                             TrainingJobDefinition=xgboost_definition())
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert words in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as missing:
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"


def test_a_name_in_use_and_unknown_jobs(sm):
    request = dict(HyperParameterTuningJobName="dup", TrainingJobDefinition=xgboost_definition(),
                   HyperParameterTuningJobConfig=tuning_config(jobs=1, parallel=1))
    sm.create_hyper_parameter_tuning_job(**request)
    with pytest.raises(ClientError) as err:
        sm.create_hyper_parameter_tuning_job(**request)
    assert err.value.response["Error"]["Code"] == "ResourceInUse"
    for call in (sm.stop_hyper_parameter_tuning_job, sm.delete_hyper_parameter_tuning_job,
                 sm.list_training_jobs_for_hyper_parameter_tuning_job):
        with pytest.raises(ClientError) as err:
            call(HyperParameterTuningJobName="no-such-tuning-job")
        assert err.value.response["Error"]["Code"] == "ResourceNotFound"


def test_warm_start_from_a_missing_parent_is_refused(sm):
    with pytest.raises(ClientError) as err:
        sm.create_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="orphan", TrainingJobDefinition=xgboost_definition(),
            HyperParameterTuningJobConfig=tuning_config(jobs=1, parallel=1),
            WarmStartConfig={"ParentHyperParameterTuningJobs": [
                {"HyperParameterTuningJobName": "never-ran"}], "WarmStartType": "TransferLearning"})
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "never-ran" in err.value.response["Error"]["Message"]
