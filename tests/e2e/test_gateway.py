"""The gateway's refusals and companions: SigV4, unknown operations, STS, CloudWatch Logs."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
import uuid
from unittest import mock

import boto3
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials
from botocore.exceptions import ClientError


def code_of(exc_info) -> str:
    return exc_info.value.response["Error"]["Code"]


def client_with(server, service, akid, secret):
    return boto3.client(service, endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=akid, aws_secret_access_key=secret,
                        config=BotoConfig(retries={"max_attempts": 1}))


CALLS = {
    "sagemaker": lambda c: c.list_experiments(),
    "s3": lambda c: c.list_buckets(),
    "sts": lambda c: c.get_caller_identity(),
    "logs": lambda c: c.describe_log_groups(),
}


@pytest.mark.parametrize("service,expected", [
    ("sagemaker", "InvalidSignatureException"), ("s3", "SignatureDoesNotMatch"),
    ("sts", "SignatureDoesNotMatch"), ("logs", "InvalidSignatureException")])
def test_wrong_secret_is_refused(server, service, expected):
    akid, secret = server.keys
    with pytest.raises(ClientError) as e:
        CALLS[service](client_with(server, service, akid, secret[:-1] + ("A" if secret[-1] != "A" else "B")))
    assert code_of(e) == expected
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


@pytest.mark.parametrize("service,expected", [
    ("sagemaker", "UnrecognizedClientException"), ("s3", "InvalidAccessKeyId"),
    ("sts", "InvalidClientTokenId"), ("logs", "UnrecognizedClientException")])
def test_unknown_key_is_refused(server, service, expected):
    with pytest.raises(ClientError) as e:
        CALLS[service](client_with(server, service, "AKIAUNKNOWNUNKNOWN00", "x" * 40))
    assert code_of(e) == expected


@pytest.mark.parametrize("service,expected", [
    ("sagemaker", "InvalidSignatureException"), ("s3", "RequestTimeTooSkewed"), ("sts", "RequestExpired")])
def test_stale_date_is_refused(server, service, expected):
    akid, secret = server.keys
    client = client_with(server, service, akid, secret)
    stale = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=20)
    with mock.patch("botocore.auth.get_current_datetime", return_value=stale):
        with pytest.raises(ClientError) as e:
            CALLS[service](client)
    assert code_of(e) == expected


def test_unsigned_requests_are_refused(server):
    sm = boto3.client("sagemaker", endpoint_url=server.endpoint, region_name="us-east-1",
                      config=BotoConfig(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as e:
        sm.list_experiments()
    assert code_of(e) == "MissingAuthenticationTokenException"
    s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                      config=BotoConfig(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as e:
        s3.list_buckets()
    assert code_of(e) == "AccessDenied"


def signed_post(server, target: str, body: bytes, content_type="application/x-amz-json-1.1"):
    akid, secret = server.keys
    req = AWSRequest("POST", server.endpoint + "/", data=body,
                     headers={"X-Amz-Target": target, "Content-Type": content_type})
    SigV4Auth(Credentials(akid, secret), "sagemaker", "us-east-1").add_auth(req)
    prepared = req.prepare()
    http = urllib.request.Request(prepared.url, data=body, method="POST", headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(http) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_unknown_operation_is_named(server):
    status, body = signed_post(server, "SageMaker.MakeCoffee", b"{}")
    assert status == 400
    assert body["__type"].endswith("UnknownOperationException")
    assert "MakeCoffee" in body["message"]


def test_unimplemented_operation_is_named(sm):
    with pytest.raises(ClientError) as e:
        sm.describe_cluster(ClusterName="not-yet")  # HyperPod clusters: not served
    assert code_of(e) == "NotImplemented"
    assert "DescribeCluster" in e.value.response["Error"]["Message"]
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_malformed_json_body(server):
    status, body = signed_post(server, "SageMaker.ListExperiments", b"{not json")
    assert status == 400
    assert body["__type"].endswith("SerializationException")


def test_server_survives_garbage(server, sm):
    for payload in [b"\xff\xfe", b"[]", b'{"MaxResults": "ten"}', b'{"MaxResults": 1e400}']:
        status, _ = signed_post(server, "SageMaker.ListExperiments", payload)
        assert 400 <= status < 500
    assert "ExperimentSummaries" in sm.list_experiments()


def test_sts_caller_identity(server):
    ident = server.client("sts").get_caller_identity()
    assert ident["Account"] == "000000000000"
    assert ident["Arn"] == "arn:aws:iam::000000000000:root"


def test_logs(server):
    logs = server.client("logs")
    group, stream = f"/aws/sagemaker/Test-{uuid.uuid4().hex[:8]}", "job/algo-1-123"
    logs.create_log_group(logGroupName=group)
    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName=group)
    assert code_of(e) == "ResourceAlreadyExistsException"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    t0 = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": t0 + i, "message": f"epoch {i} loss={1.0 / (i + 1):.3f}"} for i in range(5)])
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    assert [e["message"] for e in events][:2] == ["epoch 0 loss=1.000", "epoch 1 loss=0.500"]
    found = logs.filter_log_events(logGroupName=group, filterPattern='"epoch 3"')["events"]
    assert [e["message"] for e in found] == ["epoch 3 loss=0.250"]
    groups = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [group]
    with pytest.raises(ClientError) as e:
        logs.get_log_events(logGroupName=group, logStreamName="nope")
    assert code_of(e) == "ResourceNotFoundException"
