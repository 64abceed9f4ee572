"""STS GetCallerIdentity, and the registry finding this task's providers."""

from __future__ import annotations

from kamado.services.base import RequestContext
from kamado.services.registry import implemented_operations
from kamado.services.sts.provider import Sts


def test_caller_identity_is_the_account_root():
    out = Sts(platform=None).get_caller_identity({}, RequestContext("123456789012", "eu-west-1"))
    assert out == {"UserId": "123456789012", "Account": "123456789012",
                   "Arn": "arn:aws:iam::123456789012:root"}


def test_registry_serves_the_operations():
    assert "GetCallerIdentity" in implemented_operations("sts")
    logs = implemented_operations("logs")
    assert {"CreateLogGroup", "DescribeLogGroups", "DeleteLogGroup", "CreateLogStream",
            "DescribeLogStreams", "DeleteLogStream", "PutLogEvents", "GetLogEvents",
            "FilterLogEvents"} <= set(logs)
    sagemaker = {op: cls.__name__ for op, cls in implemented_operations("sagemaker").items()}
    for noun in ("Experiment", "Trial", "TrialComponent"):
        for verb in ("Create", "Describe", "Update", "Delete"):
            assert sagemaker[f"{verb}{noun}"] == "Experiments"
    for op in ("ListExperiments", "ListTrials", "ListTrialComponents",
               "AssociateTrialComponent", "DisassociateTrialComponent"):
        assert sagemaker[op] == "Experiments"
    for op in ("AddTags", "ListTags", "DeleteTags"):
        assert sagemaker[op] == "Tags"
