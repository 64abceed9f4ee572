"""Random Search and GetSearchSuggestions requests: botocore-shaped ones, and ones built from
real property names with random operators, values and sorts. Every answer is a result or an
AWS client error, never anything else, on both backends."""

from __future__ import annotations

import random

from kamado.errors import AwsError
from tests.conftest_store import fuzz
from tests.unit.search.stock import CTX, platform, random_jobs, search_provider  # noqa: F401

NAMES = ["TrainingJobName", "TrainingJobStatus", "HyperParameters.eta", "HyperParameters.x.y",
         "Metrics.validation:auc", "Metrics.train:loss", "FinalMetricDataList.Value",
         "Tags.team", "Tags.owner:id", "InputDataConfig.ChannelName", "InputDataConfig",
         "ResourceConfig.InstanceCount", "EnableNetworkIsolation", "TrainingStartTime",
         "CreationTime", "VpcConfig.Subnets", "TrainingTimeInSeconds", "SecondaryStatus",
         "SecondaryStatusTransitions.Status", "Nope", "Tags", "HyperParameters",
         "Tags.a\x00b", "HyperParameters.\x00", "HyperParameters.a\"b"]
OPERATORS = ["Equals", "NotEquals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan",
             "LessThanOrEqualTo", "Contains", "Exists", "NotExists", "In", None]
VALUES = ["0.5", "1", "-3", "abc", "2026-03-01T00:00:00", "true", "a,b", "", "1e999", "nan",
          "'; drop table resources; --", "\u00e9\u4e2d", "\x00", "%", "_", "\\", '"', None]


def test_botocore_shaped_requests(platform):  # noqa: F811
    counts = fuzz([search_provider(platform)], "sagemaker", CTX, seed=3, rounds=300)
    assert counts["ok"] + counts["client_error"] == 300


def test_requests_from_real_property_names(platform):  # noqa: F811
    random_jobs(platform, 40, seed=5)
    svc, rng = search_provider(platform), random.Random(9)

    def one_filter():
        out = {"Name": rng.choice(NAMES)}
        op, value = rng.choice(OPERATORS), rng.choice(VALUES)
        if op:
            out["Operator"] = op
        if value is not None:
            out["Value"] = value
        return out

    def expression(depth):
        out = {"Filters": [one_filter() for _ in range(rng.randint(0, 3))],
               "Operator": rng.choice(["And", "Or"])}
        if rng.random() < 0.3:
            out["NestedFilters"] = [{"NestedPropertyName": "InputDataConfig",
                                     "Filters": [one_filter()]}]
        if depth and rng.random() < 0.4:
            out["SubExpressions"] = [expression(depth - 1)]
        return out

    answered = refused = 0
    for _ in range(400):
        request = {"Resource": "TrainingJob", "MaxResults": rng.randint(1, 30)}
        if rng.random() < 0.8:
            request["SearchExpression"] = expression(2)
        if rng.random() < 0.6:
            request["SortBy"] = rng.choice(NAMES)
            request["SortOrder"] = rng.choice(["Ascending", "Descending"])
        try:
            out = svc.search(request, CTX)
            if out.get("NextToken"):
                svc.search({**request, "NextToken": out["NextToken"]}, CTX)
            answered += 1
        except AwsError as err:
            assert err.status < 500, (request, err)
            refused += 1
    assert answered > 40 and refused > 40
