"""Reading a Search request: property names against the SearchRecord shapes, SearchExpressions
checked with AWS's rules, and what each operator means (the Python evaluator)."""

from __future__ import annotations

import datetime as dt

import pytest

import kamado.services.sagemaker.search as registrations  # registers the families
from kamado.errors import ValidationError
from kamado.search.evaluate import holds, matches, sort_key, values
from kamado.search.expression import Condition, Junction, Nested, condition, parse
from kamado.search.properties import (BOOLEAN, HYPERPARAMETER, NUMBER, OBJECT, PARAMETER,
                                      TEXT, TIMESTAMP, Step)

UTC = dt.timezone.utc
TJ = registrations.searchable("TrainingJob").schema
TC = registrations.searchable("ExperimentTrialComponent").schema
MODEL = registrations.searchable("Model").schema


def message(fn) -> str:
    with pytest.raises(ValidationError) as e:
        fn()
    return e.value.message


# --- property names -------------------------------------------------------------------------------

@pytest.mark.parametrize("name,steps,kind", [
    ("TrainingJobName", ".TrainingJobName", TEXT),
    ("ResourceConfig.InstanceCount", ".ResourceConfig.InstanceCount", NUMBER),
    ("CreationTime", ".CreationTime", TIMESTAMP),
    ("EnableNetworkIsolation", ".EnableNetworkIsolation", BOOLEAN),
    ("HyperParameters.eta", ".HyperParameters.eta", HYPERPARAMETER),
    ("HyperParameters.model.lr", ".HyperParameters.model.lr", HYPERPARAMETER),  # dots: the key
    ("Environment.PATH", ".Environment.PATH", TEXT),  # a map that holds no hyperparameters
    ("InputDataConfig.ChannelName", ".InputDataConfig[*].ChannelName", TEXT),
    ("InputDataConfig.DataSource.S3DataSource.S3Uri",
     ".InputDataConfig[*].DataSource.S3DataSource.S3Uri", TEXT),
    ("VpcConfig.Subnets", ".VpcConfig.Subnets[*]", TEXT),  # a list of strings: each element
    ("InputDataConfig", ".InputDataConfig[*]", OBJECT),
    ("Tags.team", ".Tags[*][Key=team].Value", TEXT),
    ("Tags.a.b:c", ".Tags[*][Key=a.b:c].Value", TEXT),  # tag keys keep their dots
    ("Metrics.validation:auc", ".FinalMetricDataList[*][MetricName=validation:auc].Value",
     NUMBER),
    ("FinalMetricDataList.Value", ".FinalMetricDataList[*].Value", NUMBER),
])
def test_training_job_properties(name, steps, kind):
    prop = TJ.resolve(name)
    assert ("".join(str(s) for s in prop.steps), prop.kind) == (steps, kind)


@pytest.mark.parametrize("name,steps,kind", [
    ("Metrics.loss", ".Metrics[*][MetricName=loss].Last", NUMBER),
    ("Metrics.loss.Max", ".Metrics[*][MetricName=loss].Max", NUMBER),
    ("Metrics.train.loss.Avg", ".Metrics[*][MetricName=train.loss].Avg", NUMBER),
    ("Parameters.lr", ".Parameters.lr", PARAMETER),
    ("Parameters.lr.NumberValue", ".Parameters.lr.NumberValue", NUMBER),
    ("Parents.ExperimentName", ".Parents[*].ExperimentName", TEXT),
    ("InputArtifacts.train.Value", ".InputArtifacts.train.Value", TEXT),
])
def test_trial_component_properties(name, steps, kind):
    prop = TC.resolve(name)
    assert ("".join(str(s) for s in prop.steps), prop.kind) == (steps, kind)


def test_model_properties_are_inside_the_dashboard_record():
    assert MODEL.resolve("Model.ModelName").steps == (Step("key", "Model"),
                                                      Step("key", "ModelName"))
    assert MODEL.resolve("Endpoints.EndpointStatus").kind == TEXT
    assert "not valid for resource Model" in message(lambda: MODEL.resolve("ModelName"))


@pytest.mark.parametrize("name", ["TrainingJobNames", "trainingjobname", "TrainingJobName.x",
                                  "ResourceConfig.Nope", "Metric.auc", "CreationTime.Year"])
def test_unknown_properties_are_refused(name):
    assert message(lambda: TJ.resolve(name)) == (
        f"The property name {name} is not valid for resource TrainingJob: it names no member "
        "of the resource's SearchRecord.")


# --- filters ------------------------------------------------------------------------------------

def test_operator_defaults():
    assert condition({"Name": "TrainingJobName", "Value": "x"}, TJ).op == "Equals"
    assert condition({"Name": "TrainingJobName"}, TJ).op == "Exists"
    assert condition({"Name": "TrainingJobName", "Operator": "NotExists", "Value": "x"},
                     TJ).value is None


@pytest.mark.parametrize("spec,value,mode", [
    ({"Name": "Metrics.validation:auc", "Operator": "GreaterThan", "Value": "0.9"}, 0.9,
     "number"),
    ({"Name": "ResourceConfig.InstanceCount", "Operator": "Equals", "Value": " 2 "}, 2.0,
     "number"),
    ({"Name": "HyperParameters.eta", "Operator": "LessThan", "Value": "0.5"}, 0.5, "number"),
    ({"Name": "HyperParameters.eta", "Operator": "LessThan", "Value": "1"}, 1.0, "integer"),
    ({"Name": "HyperParameters.objective", "Operator": "Equals", "Value": "binary:logistic"},
     "binary:logistic", "text"),
    ({"Name": "HyperParameters.eta", "Operator": "Contains", "Value": "0.1"}, "0.1", "text"),
    ({"Name": "TrainingJobStatus", "Operator": "In", "Value": "Failed, Stopped"},
     ("Failed", "Stopped"), "text"),
    ({"Name": "EnableNetworkIsolation", "Operator": "Equals", "Value": "TRUE"}, True,
     "boolean"),
    ({"Name": "CreationTime", "Operator": "GreaterThan", "Value": "2026-01-02T03:04:05"},
     dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "timestamp"),
    ({"Name": "CreationTime", "Operator": "LessThan", "Value": "2026-01-02T03:04:05+02:00"},
     dt.datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC), "timestamp"),
    ({"Name": "CreationTime", "Operator": "LessThan", "Value": "1767225600"},
     dt.datetime(2026, 1, 1, tzinfo=UTC), "timestamp"),
])
def test_values_are_read_as_the_property_kind(spec, value, mode):
    c = condition(spec, TJ)
    assert (c.value, c.mode) == (value, mode)


@pytest.mark.parametrize("spec,text", [
    ({"Name": "TrainingJobName", "Operator": "GreaterThan", "Value": "a"},
     "The operator GreaterThan is not supported for text properties; TrainingJobName is a "
     "text property."),
    ({"Name": "ResourceConfig.InstanceCount", "Operator": "Contains", "Value": "1"},
     "The operator Contains is only supported for text properties; "
     "ResourceConfig.InstanceCount is a number property."),
    ({"Name": "CreationTime", "Operator": "In", "Value": "1,2"},
     "The operator In is only supported for text properties; CreationTime is a timestamp "
     "property."),
    ({"Name": "ResourceConfig.InstanceCount", "Operator": "Equals", "Value": "many"},
     "The value 'many' of ResourceConfig.InstanceCount must be an integer or floating-point "
     "decimal."),
    ({"Name": "CreationTime", "Operator": "Equals", "Value": "yesterday"},
     "The value 'yesterday' of CreationTime must be an ISO 8601 date-time of the form "
     "YYYY-mm-ddTHH:MM:SS."),
    ({"Name": "EnableNetworkIsolation", "Operator": "Equals", "Value": "yes"},
     "The value 'yes' of EnableNetworkIsolation must be true or false."),
    ({"Name": "EnableNetworkIsolation", "Operator": "LessThan", "Value": "true"},
     "The operator LessThan is not supported for Boolean properties; EnableNetworkIsolation "
     "is Boolean: use Equals or NotEquals."),
    ({"Name": "HyperParameters.eta", "Operator": "GreaterThan", "Value": "big"},
     "The operator GreaterThan needs a number; 'big' is not one (HyperParameters.eta compares "
     "as a number only with a numeric Value)."),
    ({"Name": "ResourceConfig", "Operator": "Equals", "Value": "x"},
     "ResourceConfig is not a single value (a structure, map or list); filter on one of its "
     "members, or use Exists or NotExists."),
    ({"Name": "TrainingJobName", "Operator": "Equals"},
     "The filter on TrainingJobName needs a Value for operator Equals."),
])
def test_filters_aws_refuses(spec, text):
    assert message(lambda: condition(spec, TJ)) == text


def test_expression_rules():
    assert parse(None, TJ) is None
    assert "at least one of Filters, NestedFilters and SubExpressions" in message(
        lambda: parse({}, TJ))
    assert "at least one" in message(lambda: parse({"SubExpressions": [{}]}, TJ))
    many = {"Filters": [{"Name": "TrainingJobName"}] * 20,
            "SubExpressions": [{"Filters": [{"Name": "TrainingJobName"}] * 20}] * 2}
    assert message(lambda: parse(many, TJ)) == (
        "A SearchExpression can contain at most 50 Filters, NestedFilters and SubExpressions "
        "in all; this one contains 62.")
    two = {"Filters": [{"Name": "TrainingJobName", "Operator": "Contains", "Value": "a"}],
           "SubExpressions": [{"Filters": [{"Name": "Tags.x", "Operator": "Contains",
                                            "Value": "b"}]}]}
    assert message(lambda: parse(two, TJ)) == "'CONTAINS' operator usage limit of 1 exceeded."
    assert isinstance(parse({"Filters": [{"Name": "TrainingJobName", "Value": "a"}]}, TJ),
                      Condition)
    node = parse({"Filters": [{"Name": "TrainingJobName", "Value": "a"}],
                  "SubExpressions": [{"Filters": [{"Name": "TrainingJobStatus"}]}],
                  "Operator": "Or"}, TJ)
    assert isinstance(node, Junction) and node.op == "Or" and len(node.parts) == 2


def test_nested_filters_are_relative_to_their_list():
    node = parse({"NestedFilters": [{"NestedPropertyName": "InputDataConfig", "Filters": [
        {"Name": "InputDataConfig.ChannelName", "Value": "train"}]}]}, TJ)
    assert isinstance(node, Nested)
    assert node.conditions[0].prop.steps == (Step("key", "ChannelName"),)
    assert "must be inside its NestedPropertyName InputDataConfig" in message(lambda: parse(
        {"NestedFilters": [{"NestedPropertyName": "InputDataConfig", "Filters": [
            {"Name": "TrainingJobName", "Value": "x"}]}]}, TJ))
    assert "is not a list property" in message(lambda: parse(
        {"NestedFilters": [{"NestedPropertyName": "ResourceConfig", "Filters": [
            {"Name": "ResourceConfig.InstanceCount", "Value": "1"}]}]}, TJ))


# --- the Python evaluator: what each operator means -----------------------------------------------

RECORD = {"TrainingJobName": "job-1", "HyperParameters": {"eta": "0.3", "depth": "5.9",
                                                          "name": "abc"},
          "InputDataConfig": [{"ChannelName": "train"}, {"ChannelName": "test"}],
          "VpcConfig": {"Subnets": []}, "Tags": [{"Key": "team", "Value": "ml"}],
          "FinalMetricDataList": [{"MetricName": "auc", "Value": 0.93}],
          "EnableNetworkIsolation": False}


@pytest.mark.parametrize("spec,expected", [
    ({"Name": "HyperParameters.eta", "Operator": "Equals", "Value": "0.30"}, True),
    ({"Name": "HyperParameters.depth", "Operator": "Equals", "Value": "5"}, True),  # integer
    ({"Name": "HyperParameters.depth", "Operator": "GreaterThan", "Value": "5"}, False),
    ({"Name": "HyperParameters.depth", "Operator": "GreaterThan", "Value": "5.5"}, True),
    ({"Name": "HyperParameters.name", "Operator": "LessThan", "Value": "1"}, False),
    ({"Name": "HyperParameters.name", "Operator": "NotEquals", "Value": "1"}, True),
    ({"Name": "InputDataConfig.ChannelName", "Operator": "Equals", "Value": "test"}, True),
    ({"Name": "InputDataConfig.ChannelName", "Operator": "NotEquals", "Value": "test"}, False),
    ({"Name": "VpcConfig.Subnets", "Operator": "Exists"}, False),  # an empty list
    ({"Name": "VpcConfig", "Operator": "Exists"}, True),
    ({"Name": "Tags.team", "Operator": "In", "Value": "ops,ml"}, True),
    ({"Name": "Tags.owner", "Operator": "NotExists"}, True),
    ({"Name": "Metrics.auc", "Operator": "GreaterThanOrEqualTo", "Value": "0.93"}, True),
    ({"Name": "Metrics.loss", "Operator": "NotEquals", "Value": "1"}, True),
    ({"Name": "EnableNetworkIsolation", "Operator": "Equals", "Value": "false"}, True),
    ({"Name": "TrainingJobName", "Operator": "Contains", "Value": "JOB"}, False),  # case
])
def test_operators(spec, expected):
    assert holds(condition(spec, TJ), RECORD) is expected


def test_nested_filters_need_one_element_to_satisfy_all():
    def nested(channel_a, channel_b):
        return parse({"NestedFilters": [{"NestedPropertyName": "InputDataConfig", "Filters": [
            {"Name": "InputDataConfig.ChannelName", "Operator": "Equals", "Value": channel_a},
            {"Name": "InputDataConfig.ChannelName", "Operator": "NotEquals",
             "Value": channel_b}]}]}, TJ)
    assert matches(nested("train", "test"), RECORD)
    assert not matches(nested("train", "train"), RECORD)
    # as plain filters, each may be satisfied by a different element
    assert matches(parse({"Filters": [
        {"Name": "InputDataConfig.ChannelName", "Operator": "Equals", "Value": "train"},
        {"Name": "InputDataConfig.ChannelName", "Operator": "Equals", "Value": "test"}]}, TJ),
        RECORD)


def test_values_and_sort_keys():
    assert values(RECORD, TJ.resolve("InputDataConfig.ChannelName").steps) == ["train", "test"]
    hp = TJ.resolve("HyperParameters.eta")
    assert sort_key(hp, RECORD, True) == (0, 0.3, None)
    assert sort_key(TJ.resolve("HyperParameters.name"), RECORD, True) == (1, None, "abc")
    assert sort_key(TJ.resolve("HyperParameters.none"), RECORD, True) == (2, None, None)
    channel = TJ.resolve("InputDataConfig.ChannelName")
    assert sort_key(channel, RECORD, True) == (0, "train")  # largest when descending
    assert sort_key(channel, RECORD, False) == (0, "test")
