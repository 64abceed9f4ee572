"""Search over each resource family kamado registers: the records carry what AWS's do (Tags,
a trial's components, a component's Parents, a model's endpoints), and what each family keeps
in SQL agrees with the Python evaluator on its rendered records."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from kamado.search import registered, searchable
from kamado.search.expression import parse
from kamado.services.sagemaker.experiments import Experiments
from kamado.services.sagemaker.modelcards import ModelCards
from kamado.services.sagemaker.registry import ModelRegistry
from tests.unit.search.stock import (CTX, T0, XGBOOST, platform, query_for,  # noqa: F401
                                     search_provider)


@pytest.fixture(scope="module")
def world(platform):  # noqa: F811
    exp = platform.services.provider(Experiments)
    for name, desc in (("churn", "predict churn"), ("fraud", None), ("Churn-v2", "again")):
        exp.create_experiment({"ExperimentName": name, **({"Description": desc} if desc else {}),
                               "Tags": [{"Key": "team", "Value": name[:5].lower()}]}, CTX)
    exp.create_trial({"TrialName": "t1", "ExperimentName": "churn"}, CTX)
    exp.create_trial({"TrialName": "t2", "ExperimentName": "churn", "DisplayName": "second"},
                     CTX)
    exp.create_trial({"TrialName": "t3", "ExperimentName": "fraud"}, CTX)
    for i, (trial, lr) in enumerate((("t1", 0.1), ("t1", 0.5), ("t2", 0.01), ("t3", 0.2))):
        name = f"tc-{i}"
        exp.create_trial_component({
            "TrialComponentName": name, "DisplayName": f"run {i}",
            "Status": {"PrimaryStatus": "Completed" if i % 2 == 0 else "InProgress"},
            "StartTime": T0 + dt.timedelta(hours=i),
            "Parameters": {"lr": {"NumberValue": lr}, "optimizer": {"StringValue": "adam"}},
            "InputArtifacts": {"train": {"Value": f"s3://data/{i}/train"}}}, CTX)
        exp.associate_trial_component({"TrialComponentName": name, "TrialName": trial}, CTX)
    exp.create_trial_component({"TrialComponentName": "loose"}, CTX)

    res = platform.resources
    for i, name in enumerate(("m-one", "m-two", "m-three")):
        res.create(CTX, "Model", name, CTX.arn("sagemaker", f"model/{name}"), {
            "PrimaryContainer": {"Mode": "SingleModel", "Image": XGBOOST,
                                 "ModelDataUrl": f"s3://models/{name}/model.tar.gz",
                                 **({"Environment": {"SIZE": str(i)}} if i else {})},
            "ExecutionRoleArn": "arn:aws:iam::000000000000:role/m",
            "EnableNetworkIsolation": i == 2}, tags=[{"Key": "stage", "Value": f"s{i}"}])
    for i, (name, model, status) in enumerate((("ep-a", "m-one", "InService"),
                                               ("ep-b", "m-two", "Failed"))):
        variant = {"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1,
                   "InstanceType": "ml.m5.large", "InitialVariantWeight": 1.0}
        res.create(CTX, "EndpointConfig", f"{name}-config",
                   CTX.arn("sagemaker", f"endpoint-config/{name}-config"),
                   {"ProductionVariants": [variant]})
        res.create(CTX, "Endpoint", name, CTX.arn("sagemaker", f"endpoint/{name}"), {
            "EndpointConfigName": f"{name}-config",
            "_config": {"ProductionVariants": [variant], "EndpointConfigName": f"{name}-config"},
            "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentWeight": 1.0,
                                    "CurrentInstanceCount": i + 1}]},
            status=status, tags=[{"Key": "env", "Value": "prod" if i else "dev"}])
    registry = platform.services.provider(ModelRegistry)
    for name, description in (("churn-models", "churn"), ("fraud-models", None)):
        registry.create_model_package_group({
            "ModelPackageGroupName": name,
            **({"ModelPackageGroupDescription": description} if description else {}),
            "Tags": [{"Key": "domain", "Value": name.split("-")[0]}]}, CTX)
    cards = platform.services.provider(ModelCards)
    for name, model, risk, status in (("card-one", "m-one", "Low", "Draft"),
                                      ("card-two", "m-two", "High", "Approved")):
        cards.create_model_card({
            "ModelCardName": name, "ModelCardStatus": status,
            "Content": json.dumps({
                "model_overview": {"model_id": CTX.arn("sagemaker", f"model/{model}")},
                "intended_uses": {"risk_rating": risk},
                "model_package_details": {"model_package_group_name": "churn-models"}})},
            CTX)
    definition = {
        "StaticHyperParameters": {"objective": "binary:logistic", "num_round": "10"},
        "AlgorithmSpecification": {"TrainingImage": XGBOOST, "TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::000000000000:role/t",
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://data/train/"}}}],
        "OutputDataConfig": {"S3OutputPath": "s3://data/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                           "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600}}
    for name, strategy, status in (("hpo-1", "Bayesian", "Completed"),
                                   ("hpo-2", "Random", "Stopped")):
        res.create(CTX, "HyperParameterTuningJob", name,
                   CTX.arn("sagemaker", f"hyper-parameter-tuning-job/{name}"), {
                       "HyperParameterTuningJobConfig": {
                           "Strategy": strategy, "TrainingJobEarlyStoppingType": "Off",
                           "HyperParameterTuningJobObjective": {
                               "Type": "Maximize", "MetricName": "validation:auc"},
                           "ResourceLimits": {"MaxNumberOfTrainingJobs": 4 if status ==
                                              "Completed" else 8,
                                              "MaxParallelTrainingJobs": 2},
                           "ParameterRanges": {"ContinuousParameterRanges": [
                               {"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}]}},
                       "TrainingJobDefinition": definition, "_Seed": 1, "_Priors": []},
                   status=status)
    return platform


def search(platform, resource, expression=None, **kw):  # noqa: F811
    request = {"Resource": resource, "MaxResults": 100, **kw}
    if expression is not None:
        request["SearchExpression"] = expression
    return search_provider(platform).search(request, CTX)


def found(platform, resource, expression=None, **kw):  # noqa: F811
    entry = searchable(resource)
    out = search(platform, resource, expression, **kw)["Results"]
    return [_name(entry, r[entry.record]) for r in out]


def _name(entry, record):
    if entry.resource == "Model":
        return record["Model"]["ModelName"]
    for key in record:
        if key.endswith("Name") and key[:-4] in entry.record:
            return record[key]
    raise AssertionError(record)


def f(name, op, value=None):
    return {"Filters": [{"Name": name, "Operator": op,
                         **({"Value": value} if value is not None else {})}]}


def test_kamado_searches_the_families_it_keeps():
    assert {"TrainingJob", "HyperParameterTuningJob", "Experiment", "ExperimentTrial",
            "ExperimentTrialComponent", "Endpoint", "Model", "ModelPackage",
            "ModelPackageGroup", "ModelCard"} <= set(registered())


def test_experiments(world):
    assert sorted(found(world, "Experiment")) == ["Churn-v2", "churn", "fraud"]
    assert found(world, "Experiment", f("ExperimentName", "Contains", "hurn"),
                 SortBy="ExperimentName", SortOrder="Ascending") == ["Churn-v2", "churn"]
    assert found(world, "Experiment", f("Description", "Exists")) != []
    assert found(world, "Experiment", f("Tags.team", "Equals", "fraud")) == ["fraud"]
    assert found(world, "Experiment", f("DisplayName", "Equals", "fraud")) == ["fraud"]
    record = search(world, "Experiment", f("ExperimentName", "Equals", "churn"))["Results"][0]
    assert record["Experiment"]["Tags"] == [{"Key": "team", "Value": "churn"}]
    # Contains may repeat on the properties AWS allows it for
    two = {"Filters": [{"Name": "ExperimentName", "Operator": "Contains", "Value": "urn"},
                       {"Name": "DisplayName", "Operator": "Contains", "Value": "v2"}]}
    assert found(world, "Experiment", two) == ["Churn-v2"]


def test_trials_carry_their_components(world):
    assert sorted(found(world, "ExperimentTrial", f("ExperimentName", "Equals", "churn"))) == [
        "t1", "t2"]
    record = search(world, "ExperimentTrial", f("TrialName", "Equals", "t1"))["Results"][0]
    assert [c["TrialComponentName"] for c in record["Trial"]["TrialComponentSummaries"]] == [
        "tc-0", "tc-1"]
    assert found(world, "ExperimentTrial",
                 f("TrialComponentSummaries.TrialComponentName", "Equals", "tc-2")) == ["t2"]
    assert found(world, "ExperimentTrial", f("DisplayName", "Equals", "second")) == ["t2"]


def test_trial_components_carry_parents_and_parameters(world):
    assert sorted(found(world, "ExperimentTrialComponent",
                        f("Parents.ExperimentName", "Equals", "churn"))) == ["tc-0", "tc-1",
                                                                             "tc-2"]
    assert found(world, "ExperimentTrialComponent",
                 f("Parents.TrialName", "Equals", "t3")) == ["tc-3"]
    # a parameter compares as a number with a numeric Value, as text otherwise
    assert sorted(found(world, "ExperimentTrialComponent",
                        f("Parameters.lr", "GreaterThan", "0.15"))) == ["tc-1", "tc-3"]
    assert len(found(world, "ExperimentTrialComponent",
                     f("Parameters.optimizer", "Equals", "adam"))) == 4
    assert found(world, "ExperimentTrialComponent",
                 f("InputArtifacts.train.Value", "Contains", "/2/")) == ["tc-2"]
    assert sorted(found(world, "ExperimentTrialComponent",
                        f("Status.PrimaryStatus", "Equals", "InProgress"))) == ["tc-1", "tc-3"]
    ordered = found(world, "ExperimentTrialComponent", f("Parameters.lr", "Exists"),
                    SortBy="Parameters.lr.NumberValue", SortOrder="Ascending")
    assert ordered == ["tc-2", "tc-0", "tc-3", "tc-1"]
    loose = search(world, "ExperimentTrialComponent",
                   f("TrialComponentName", "Equals", "loose"))["Results"][0]["TrialComponent"]
    # ExperimentAnalytics iterates these without a check: present even when empty
    assert (loose["Parents"], loose["Parameters"], loose["InputArtifacts"],
            loose["OutputArtifacts"]) == ([], {}, {}, {})


def test_endpoints(world):
    assert found(world, "Endpoint", f("EndpointStatus", "Equals", "InService")) == ["ep-a"]
    assert found(world, "Endpoint", f("Tags.env", "Equals", "prod")) == ["ep-b"]
    assert found(world, "Endpoint", f("ProductionVariants.CurrentInstanceCount",
                                      "GreaterThan", "1")) == ["ep-b"]
    assert found(world, "Endpoint", f("EndpointConfigName", "Equals", "ep-a-config")) == [
        "ep-a"]


def test_models_carry_their_endpoints(world):
    assert sorted(found(world, "Model")) == ["m-one", "m-three", "m-two"]
    assert found(world, "Model", f("Model.EnableNetworkIsolation", "Equals", "true")) == [
        "m-three"]
    assert found(world, "Model", f("Model.Tags.stage", "Equals", "s1")) == ["m-two"]
    assert sorted(found(world, "Model", f("Model.PrimaryContainer.Environment.SIZE",
                                          "Exists"))) == ["m-three", "m-two"]
    assert found(world, "Model", f("Endpoints.EndpointStatus", "Equals", "Failed")) == ["m-two"]
    record = search(world, "Model", f("Model.ModelName", "Equals", "m-one"))["Results"][0]
    assert [e["EndpointName"] for e in record["Model"]["Endpoints"]] == ["ep-a"]
    assert record["Model"]["Model"]["Tags"] == [{"Key": "stage", "Value": "s0"}]
    assert found(world, "Model", SortBy="Model.ModelName", SortOrder="Ascending") == [
        "m-one", "m-three", "m-two"]


def test_tuning_jobs(world):
    assert found(world, "HyperParameterTuningJob",
                 f("HyperParameterTuningJobConfig.Strategy", "Equals", "Random")) == ["hpo-2"]
    assert found(world, "HyperParameterTuningJob",
                 f("HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs",
                   "LessThan", "5")) == ["hpo-1"]
    assert found(world, "HyperParameterTuningJob",
                 f("TrainingJobDefinition.StaticHyperParameters.num_round", "Equals",
                   "10")) != []
    record = search(world, "HyperParameterTuningJob", f("HyperParameterTuningJobName",
                                                        "Equals", "hpo-1"))["Results"][0]
    assert record["HyperParameterTuningJob"]["HyperParameterTuningJobStatus"] == "Completed"


def test_model_package_groups_and_model_cards(world):
    assert found(world, "ModelPackageGroup", f("ModelPackageGroupDescription", "Exists")) == [
        "churn-models"]
    assert found(world, "ModelPackageGroup", f("Tags.domain", "Equals", "fraud")) == [
        "fraud-models"]
    # what the SageMaker Python SDK's ModelCard asks: the cards of a model, of a group
    model = CTX.arn("sagemaker", "model/m-two")
    assert found(world, "ModelCard", f("ModelId", "Equals", model)) == ["card-two"]
    assert found(world, "ModelCard", f("ModelPackageGroupName", "Equals", "churn-models"),
                 SortBy="LastModifiedTime", SortOrder="Descending") == ["card-two", "card-one"]
    assert found(world, "ModelCard", f("RiskRating", "Equals", "Low")) == ["card-one"]
    assert found(world, "ModelCard", f("ModelCardStatus", "Equals", "Approved")) == [
        "card-two"]


# Per family, conditions on properties it keeps in SQL: SQL and Python agree.
FAMILY_CASES = {
    "Experiment": [("ExperimentName", "Contains", "urn"), ("Description", "Exists", None),
                   ("Tags.team", "NotEquals", "churn"), ("CreationTime", "Exists", None)],
    "ExperimentTrial": [("ExperimentName", "In", "fraud,churn"),
                        ("TrialName", "NotEquals", "t2")],
    "ExperimentTrialComponent": [("TrialComponentName", "Contains", "tc"),
                                 ("InputArtifacts.train.Value", "Contains", "/1/"),
                                 ("Parameters", "Exists", None)],
    "Endpoint": [("EndpointStatus", "NotEquals", "Failed"),
                 ("ProductionVariants.VariantName", "Equals", "AllTraffic"),
                 ("Tags.env", "In", "dev,test")],
    "Model": [("Model.ModelName", "Contains", "t"),
              ("Model.PrimaryContainer.Environment.SIZE", "Equals", "2"),
              ("Model.Tags.stage", "Exists", None),
              ("Model.ExecutionRoleArn", "Contains", "role/m")],
    "HyperParameterTuningJob": [
        ("HyperParameterTuningJobStatus", "Equals", "Stopped"),
        ("HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges.Name",
         "Equals", "eta")],
}


@pytest.mark.parametrize("resource", sorted(FAMILY_CASES))
def test_family_conditions_agree_in_sql_and_python(world, resource):
    entry = searchable(resource)
    for name, op, value in FAMILY_CASES[resource]:
        node = parse(f(name, op, value), entry.schema)
        query = query_for(world, entry)
        assert query.plan(node, None).residual is None, name
        in_sql = query.page(CTX, node, None, True, 100, None, "t").records
        in_python = query.page(CTX, node, None, True, 100, None, "t", python_only=True).records
        assert [_name(entry, r) for r in in_sql] == [_name(entry, r) for r in in_python]
        assert in_sql, (resource, name)
