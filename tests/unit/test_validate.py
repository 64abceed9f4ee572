"""kamado.gateway.validate: every constraint kind, in AWS's wording, with AWS-style member paths."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from botocore.model import ServiceModel

from kamado.errors import ValidationError
from kamado.gateway.http import Payload
from kamado.gateway.models import service_model
from kamado.gateway.validate import compile_pattern, validate

ENTITY = "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}"


def input_shape(members: dict, shapes: dict, required=()):
    model = ServiceModel({
        "metadata": {"protocol": "json", "apiVersion": "2024-01-01", "jsonVersion": "1.1",
                     "targetPrefix": "T", "serviceId": "T", "endpointPrefix": "t", "signatureVersion": "v4"},
        "operations": {"Op": {"name": "Op", "http": {"method": "POST", "requestUri": "/"},
                              "input": {"shape": "In"}}},
        "shapes": {"In": {"type": "structure", "members": members, "required": list(required)}, **shapes},
    }, service_name="t")
    return model.operation_model("Op").input_shape


SHAPES = {
    "Name": {"type": "string", "min": 1, "max": 120, "pattern": ENTITY},
    "Text": {"type": "string", "max": 5},
    "Short": {"type": "string", "min": 2},
    "Secret": {"type": "string", "max": 3, "sensitive": True},
    "Letters": {"type": "string", "pattern": r"\p{L}+"},
    "Word": {"type": "string", "pattern": r"\w+"},
    "Alnum": {"type": "string", "pattern": r"[\p{Alnum}\-]+"},
    "Anything": {"type": "string", "pattern": r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*"},
    "Sort": {"type": "string", "enum": ["Name", "CreationTime"]},
    "Count": {"type": "integer", "min": 1, "max": 100},
    "Ratio": {"type": "double", "min": 0.5, "max": 1.5},
    "Flag": {"type": "boolean"},
    "When": {"type": "timestamp"},
    "Data": {"type": "blob", "max": 4},
    "Tag": {"type": "structure", "members": {"Key": {"shape": "Text"}, "Value": {"shape": "Text"}},
            "required": ["Key"]},
    "Tags": {"type": "list", "member": {"shape": "Tag"}, "max": 2},
    "Env": {"type": "map", "key": {"shape": "Text"}, "value": {"shape": "Count"}, "max": 3},
    "Nested": {"type": "map", "key": {"shape": "Text"}, "value": {"shape": "Tag"}},
}
SHAPE = input_shape({name: {"shape": name} for name in SHAPES}, SHAPES, required=["Name"])


def message_for(params) -> str:
    with pytest.raises(ValidationError) as e:
        validate(SHAPE, params)
    assert (e.value.code, e.value.status) == ("ValidationException", 400)
    return e.value.message


def test_the_briefs_example_verbatim():
    assert message_for({"Name": None, "Text": "x y"} | {"Word": "ok"}) == (
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: "
        "Member must not be null")
    shape = input_shape({"ExperimentName": {"shape": "N"}, "DisplayName": {"shape": "N"}},
                        {"N": {"type": "string", "min": 1, "max": 120, "pattern": ENTITY}},
                        required=["ExperimentName"])
    with pytest.raises(ValidationError) as e:
        validate(shape, {"DisplayName": "x y"})
    assert e.value.message == (
        "2 validation errors detected: Value null at 'experimentName' failed to satisfy constraint: "
        "Member must not be null; Value 'x y' at 'displayName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {ENTITY}")


def test_valid_input_passes():
    validate(SHAPE, {"Name": "a-b", "Text": "hi", "Sort": "Name", "Count": 1, "Ratio": 1.5, "Flag": True,
                     "When": dt.datetime.now(dt.timezone.utc), "Data": b"1234", "Letters": "日本",
                     "Tags": [{"Key": "k"}], "Env": {"A": 100}, "Anything": "a😀\tb", "Alnum": "a-1"})


@pytest.mark.parametrize("params,expected", [
    ({"Text": "toolong"}, "Value 'toolong' at 'text' failed to satisfy constraint: "
                          "Member must have length less than or equal to 5"),
    ({"Short": "a"}, "Value 'a' at 'short' failed to satisfy constraint: "
                     "Member must have length greater than or equal to 2"),
    ({"Sort": "Color"}, "Value 'Color' at 'sort' failed to satisfy constraint: "
                        "Member must satisfy enum value set: [Name, CreationTime]"),
    ({"Count": 0}, "Value 0 at 'count' failed to satisfy constraint: "
                   "Member must have value greater than or equal to 1"),
    ({"Count": 101}, "Value 101 at 'count' failed to satisfy constraint: "
                     "Member must have value less than or equal to 100"),
    ({"Ratio": 2.0}, "Value 2.0 at 'ratio' failed to satisfy constraint: "
                     "Member must have value less than or equal to 1.5"),
    ({"Count": True}, "Value true at 'count' failed to satisfy constraint: Member must be of type integer"),
    ({"Flag": "yes"}, "Value 'yes' at 'flag' failed to satisfy constraint: Member must be of type boolean"),
    ({"When": "2026-01-01"}, "Value '2026-01-01' at 'when' failed to satisfy constraint: "
                             "Member must be of type timestamp"),
    ({"Data": b"12345"}, "Value <5 bytes> at 'data' failed to satisfy constraint: "
                         "Member must have length less than or equal to 4"),
    ({"Secret": "hunter2"}, "Value at 'secret' failed to satisfy constraint: "
                            "Member must have length less than or equal to 3"),
    ({"Tags": [{"Key": "k"}, {"Key": "k", "Value": "vvvvvv"}]},
     "Value 'vvvvvv' at 'tags.2.member.value' failed to satisfy constraint: "
     "Member must have length less than or equal to 5"),
    ({"Tags": [{"Value": "v"}]}, "Value null at 'tags.1.member.key' failed to satisfy constraint: "
                                 "Member must not be null"),
    ({"Tags": [{"Key": "a"}, {"Key": "b"}, {"Key": "c"}]},
     "Value [{Key=a}, {Key=b}, {Key=c}] at 'tags' failed to satisfy constraint: "
     "Member must have length less than or equal to 2"),
    ({"Nested": {"x": {"Value": "v"}}}, "Value null at 'nested.x.key' failed to satisfy constraint: "
                                       "Member must not be null"),
    ({"Tags": {"Key": "k"}}, "Value {Key=k} at 'tags' failed to satisfy constraint: "
                             "Member must be of type list"),
])
def test_each_constraint_in_aws_wording(params, expected):
    assert message_for({"Name": "n", **params}) == "1 validation error detected: " + expected


def test_map_keys_and_values_are_reported_like_aws():
    assert message_for({"Name": "n", "Env": {"LONGKEY": 1, "B": 200}}) == (
        "2 validation errors detected: Value {LONGKEY=1, B=200} at 'env' failed to satisfy constraint: "
        "Map keys must satisfy constraint: [Member must have length less than or equal to 5]; "
        "Value {LONGKEY=1, B=200} at 'env' failed to satisfy constraint: "
        "Map value must satisfy constraint: [Member must have value less than or equal to 100]")


def test_every_violation_is_counted():
    message = message_for({"Name": "has space", "Text": "toolong", "Count": 0, "Sort": "x"})
    assert message.startswith("4 validation errors detected: ")
    assert message.count("failed to satisfy constraint") == 4


def test_patterns_use_java_matches_semantics():
    # fullmatch, not search: a prefix match is not enough
    assert "regular expression" in message_for({"Name": "abc def"})
    # Java's \w is ASCII-only
    assert "'word'" in message_for({"Name": "n", "Word": "café"})
    validate(SHAPE, {"Name": "n", "Word": "cafe_1"})


def test_java_only_patterns_are_translated_or_skipped():
    validate(SHAPE, {"Name": "n", "Letters": "!!!"})  # \p{L}: Python cannot say it; skipped
    validate(SHAPE, {"Name": "n", "Anything": "emoji 😀 ok"})  # Java surrogate-pair range
    assert "'anything'" in message_for({"Name": "n", "Anything": "bell\x07"})
    assert "'alnum'" in message_for({"Name": "n", "Alnum": "a_b"})
    assert compile_pattern(r"\p{L}+") is None
    assert compile_pattern(r"[\w-_]*").fullmatch("a-_b")


def test_streaming_payload_size_is_checked(tmp_path: Path):
    big = Payload(path=tmp_path / "p", size=5, md5_hex="")
    assert "'data'" in message_for({"Name": "n", "Data": big})
    validate(SHAPE, {"Name": "n", "Data": Payload(path=tmp_path / "p", size=4, md5_hex="")})


def test_unknown_members_and_nulls_are_ignored():
    validate(SHAPE, {"Name": "n", "NotAMember": 1, "Text": None})


def test_real_model_constraints():
    shape = service_model("sagemaker").operation_model("ListExperiments").input_shape
    with pytest.raises(ValidationError) as e:
        validate(shape, {"MaxResults": 0, "SortBy": "Color", "SortOrder": "Up"})
    assert e.value.message.startswith("3 validation errors detected: ")
    assert "Value 0 at 'maxResults'" in e.value.message


def test_s3_gets_no_invented_constraints():
    shape = service_model("s3").operation_model("PutObject").input_shape
    validate(shape, {"Bucket": "ANY_thing at all", "Key": "x" * 5000})
