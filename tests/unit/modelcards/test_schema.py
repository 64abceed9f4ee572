"""The model card schema: AWS's sections and constraints, the model package card's subset, and
problems reported where they are."""

from __future__ import annotations

import json

import pytest

from kamado.modelcards import schema
from tests.e2e.registry.conftest import card_content


def test_a_card_using_every_section_is_valid():
    assert schema.problems(card_content()) == []
    assert schema.parse(json.dumps(card_content())) == card_content()
    assert schema.parse("{}") == {}


def test_every_metric_kind_is_valid_with_the_value_of_its_kind():
    metrics = [
        {"name": "n", "type": "number", "value": 0.5, "notes": "x"},
        {"name": "s", "type": "string", "value": "fine"},
        {"name": "b", "type": "boolean", "value": False},
        {"name": "l", "type": "linear_graph", "value": [[0, 1], [1, 2]], "x_axis_name": "x",
         "y_axis_name": "y"},
        {"name": "c", "type": "bar_chart", "value": [1, 2, 3], "x_axis_name": ["a", "b", "c"]},
        {"name": "m", "type": "matrix", "value": [[1, 0], [0, 1]], "x_axis_name": ["0", "1"],
         "y_axis_name": ["0", "1"]},
    ]
    card = {"evaluation_details": [{"name": "all", "metric_groups": [
        {"name": "kinds", "metric_data": metrics}]}]}
    assert schema.problems(card) == []


BROKEN = {
    "unknown top-level section": ({"extra": 1}, "$: Additional properties are not allowed"),
    "risk rating outside the enum": ({"intended_uses": {"risk_rating": "Severe"}},
                                     "$.intended_uses.risk_rating: 'Severe' is not one of"),
    "objective outside the enum": (
        {"training_details": {"objective_function": {"function": {"function": "Optimize"}}}},
        "$.training_details.objective_function.function.function"),
    "text over AWS's length": ({"business_details": {"business_problem": "x" * 2049}},
                               "$.business_details.business_problem: 'xxx"),
    "too many artifacts": ({"model_overview": {"model_artifact": ["s3://b/k"] * 16}},
                           "$.model_overview.model_artifact"),
    "number metric holding text": (
        {"evaluation_details": [{"name": "e", "metric_groups": [{"name": "g", "metric_data": [
            {"name": "auc", "type": "number", "value": "high"}]}]}]},
        "metric_data[0].value: 'high' is not of type 'number'"),
    "unknown metric type": (
        {"evaluation_details": [{"name": "e", "metric_groups": [{"name": "g", "metric_data": [
            {"name": "auc", "type": "pie", "value": 1}]}]}]},
        "metric_data[0].type: 'pie' is not one of"),
    "graph point of three numbers": (
        {"evaluation_details": [{"name": "e", "metric_groups": [{"name": "g", "metric_data": [
            {"name": "roc", "type": "linear_graph", "value": [[1, 2, 3]]}]}]}]},
        "metric_data[0].value[0]"),
    "evaluation without a name": ({"evaluation_details": [{"datasets": []}]},
                                  "$.evaluation_details[0]: 'name' is a required property"),
    "hyperparameter value that is a number": (
        {"training_details": {"training_job_details": {"hyper_parameters": [
            {"name": "eta", "value": 0.1}]}}},
        "hyper_parameters[0].value: 0.1 is not of type 'string'"),
    "blank custom detail name": ({"additional_information": {"custom_details": {"  ": "v"}}},
                                "$.additional_information.custom_details"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_content_that_breaks_the_schema_says_where(case):
    card, expected = BROKEN[case]
    found = schema.problems(card)
    assert any(expected in p for p in found), found
    with pytest.raises(schema.ContentError) as err:
        schema.parse(json.dumps(card))
    assert any(expected in p for p in err.value.problems)


def test_not_json_and_not_an_object():
    with pytest.raises(schema.ContentError, match="not valid JSON"):
        schema.parse("{oops")
    with pytest.raises(schema.ContentError, match="is not of type 'object'"):
        schema.parse("[]")


def test_many_problems_are_reported_up_to_a_limit():
    card = {f"section_{i}": {} for i in range(3)}
    card["intended_uses"] = {"risk_rating": "?", **{f"x{i}": 1 for i in range(20)}}
    with pytest.raises(schema.ContentError) as err:
        schema.parse(json.dumps(card))
    assert len(err.value.problems) <= schema.MAX_PROBLEMS + 1


def test_the_model_package_card_is_the_simplified_schema():
    package = schema.schema(schema.PACKAGE)
    assert "model_package_details" not in package["properties"]
    assert set(package["properties"]["model_overview"]["properties"]) == \
        {"model_creator", "model_artifact"}
    assert "model_package_details" in schema.schema(schema.FULL)["properties"]
    ok = {"model_overview": {"model_creator": "me", "model_artifact": ["s3://b/m.tar.gz"]},
          "intended_uses": {"risk_rating": "High"}}
    assert schema.problems(ok, schema.PACKAGE) == []
    assert schema.problems({"model_overview": {"model_name": "x"}}, schema.PACKAGE)
    assert schema.problems({"model_package_details": {}}, schema.PACKAGE)
    assert schema.problems({"model_package_details": {}}) == []
