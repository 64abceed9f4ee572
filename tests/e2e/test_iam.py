"""IAM roles through boto3's iam client: what users create to name an execution role and what
the SageMaker SDK reads back to check it."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                  "Resource": "*"}]}


@pytest.fixture(scope="module")
def iam(server):
    return server.client("iam")


def code_of(exc: pytest.ExceptionInfo) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_a_role_is_created_read_listed_and_deleted(iam, server):
    name = f"exec-{uuid.uuid4().hex[:8]}"
    created = iam.create_role(RoleName=name, Path="/service-role/",
                              AssumeRolePolicyDocument=json.dumps(TRUST),
                              Description="SageMaker execution", Tags=[{"Key": "team",
                                                                        "Value": "ml"}])["Role"]
    account = server.client("sts").get_caller_identity()["Account"]
    assert created["Arn"] == f"arn:aws:iam::{account}:role/service-role/{name}"
    assert created["RoleId"].startswith("AROA") and len(created["RoleId"]) == 21
    role = iam.get_role(RoleName=name)["Role"]
    assert role["AssumeRolePolicyDocument"] == TRUST  # URL-encoded on the wire, decoded by boto
    assert role["Description"] == "SageMaker execution" and role["MaxSessionDuration"] == 3600
    assert role["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert name in [r["RoleName"] for r in iam.list_roles(PathPrefix="/service-role/")["Roles"]]
    assert name not in [r["RoleName"] for r in iam.list_roles(PathPrefix="/other/")["Roles"]]

    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName=name.upper(), AssumeRolePolicyDocument=json.dumps(TRUST))
    assert code_of(e) == ("EntityAlreadyExists", 409)

    iam.attach_role_policy(RoleName=name,
                           PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
    iam.put_role_policy(RoleName=name, PolicyName="s3", PolicyDocument=json.dumps(POLICY))
    assert iam.get_role_policy(RoleName=name, PolicyName="s3")["PolicyDocument"] == POLICY
    assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == [{
        "PolicyName": "AmazonSageMakerFullAccess",
        "PolicyArn": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"}]
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName=name)
    assert code_of(e) == ("DeleteConflict", 409)
    iam.detach_role_policy(RoleName=name,
                           PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
    iam.delete_role_policy(RoleName=name, PolicyName="s3")
    iam.delete_role(RoleName=name)
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName=name)
    assert code_of(e) == ("NoSuchEntity", 404)


def test_bad_documents_and_unknown_policies_are_refused(iam):
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName=f"bad-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{not")
    assert code_of(e) == ("MalformedPolicyDocument", 400)
    name = f"r-{uuid.uuid4().hex[:8]}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    with pytest.raises(ClientError) as e:
        iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::123456789012:policy/mine")
    assert code_of(e) == ("NoSuchEntity", 404)
    with pytest.raises(ClientError) as e:
        iam.get_role_policy(RoleName=name, PolicyName="none")
    assert code_of(e) == ("NoSuchEntity", 404)


def test_simulation_allows_everything_for_an_existing_role_only(iam):
    name = f"sim-{uuid.uuid4().hex[:8]}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    pages = iam.get_paginator("simulate_principal_policy").paginate(
        PolicySourceArn=arn, ActionNames=["sagemaker:CreateTrainingJob", "s3:GetObject"],
        PaginationConfig={"PageSize": 1})
    results = [r for page in pages for r in page["EvaluationResults"]]
    assert [(r["EvalActionName"], r["EvalResourceName"], r["EvalDecision"]) for r in results] == [
        ("sagemaker:CreateTrainingJob", "*", "allowed"), ("s3:GetObject", "*", "allowed")]
    with pytest.raises(ClientError) as e:
        iam.simulate_principal_policy(PolicySourceArn=arn + "-gone", ActionNames=["s3:*"])
    assert code_of(e) == ("NoSuchEntity", 404)


def test_roles_are_global_not_per_region(server):
    name = f"g-{uuid.uuid4().hex[:8]}"
    server.client("iam", "eu-west-1").create_role(RoleName=name,
                                                   AssumeRolePolicyDocument=json.dumps(TRUST))
    assert server.client("iam", "us-east-1").get_role(RoleName=name)["Role"]["RoleName"] == name
