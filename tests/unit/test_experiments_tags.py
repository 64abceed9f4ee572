"""SageMaker AddTags / ListTags / DeleteTags on resources kamado keeps."""

from __future__ import annotations

import pytest

from kamado.errors import AwsError
from kamado.services.sagemaker.experiments import Experiments
from kamado.services.sagemaker.tags import Tags
from tests.conftest_store import ctx, db, db_url, platform, resources, west  # noqa: F401


@pytest.fixture
def arn(platform, ctx):
    return Experiments(platform).create_experiment(
        {"ExperimentName": "tagged", "Tags": [{"Key": "team", "Value": "ml"}]}, ctx)["ExperimentArn"]


@pytest.fixture
def tags(platform):
    return Tags(platform)


def test_add_list_and_delete(tags, ctx, arn):
    new = [{"Key": f"k{i:02d}", "Value": str(i)} for i in range(60)]
    assert tags.add_tags({"ResourceArn": arn, "Tags": new}, ctx) == {"Tags": new}
    tags.add_tags({"ResourceArn": arn, "Tags": [{"Key": "team", "Value": "platform"}]}, ctx)
    assert tags.delete_tags({"ResourceArn": arn, "TagKeys": ["k00", "k01"]}, ctx) == {}

    seen, token, pages = [], None, 0
    while True:
        out = tags.list_tags({"ResourceArn": arn, "MaxResults": 50,
                              **({"NextToken": token} if token else {})}, ctx)
        seen += out["Tags"]
        pages += 1
        token = out.get("NextToken")
        if not token:
            break
    assert pages == 2
    assert seen[0] == {"Key": "team", "Value": "platform"}
    assert sorted(t["Key"] for t in seen[1:]) == [f"k{i:02d}" for i in range(2, 60)]
    assert len(tags.list_tags({"ResourceArn": arn}, ctx)["Tags"]) == 50  # the default page


@pytest.mark.parametrize("op,extra", [("add_tags", {"Tags": [{"Key": "a", "Value": "b"}]}),
                                      ("list_tags", {}), ("delete_tags", {"TagKeys": ["a"]})])
def test_unknown_or_foreign_arns_are_validation_errors(tags, ctx, west, arn, op, extra):
    unknown = "arn:aws:sagemaker:us-east-1:000000000000:experiment/none"
    for who, target in ((ctx, unknown), (west, arn)):  # another region's ARN is unknown here
        with pytest.raises(AwsError) as e:
            getattr(tags, op)({"ResourceArn": target, **extra}, who)
        assert e.value.code == "ValidationException"


def test_bad_next_token(tags, ctx, arn):
    with pytest.raises(AwsError) as e:
        tags.list_tags({"ResourceArn": arn, "NextToken": "zzz"}, ctx)
    assert e.value.code == "ValidationException"
