"""SigV4 verification, with botocore's own signers as the oracle."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timedelta, timezone
from unittest import mock
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials

from kamado.errors import AuthFailure, auth_error_code
from kamado.gateway import auth
from kamado.gateway.http import Headers, HttpRequest

AKID, SECRET = "AKIDKAMADOTEST000001", "kamado/test+secret/0123456789abcdefghijkl"
SIGNED_AT = datetime(2024, 1, 1, 0, 0, 0, tzinfo=timezone.utc)
HOST = "localhost:8943"
BASE = f"http://{HOST}"


def secrets(akid: str) -> str | None:
    return SECRET if akid == AKID else None


def to_http(request) -> HttpRequest:
    """A botocore (prepared) request as the gateway receives it off the wire."""
    parts = urlsplit(request.url)
    headers = Headers()
    headers["host"] = parts.netloc
    for name, value in request.headers.items():
        headers[name] = value.decode() if isinstance(value, bytes) else value
    body = request.body or b""
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    return HttpRequest(request.method, parts.path or "/", parts.query, headers, body)


def signed(signer_cls, service: str, method: str, url: str, *, body=b"", headers=None,
           at: datetime = SIGNED_AT, token: str | None = None, expires: int | None = None,
           context: dict | None = None) -> HttpRequest:
    creds = Credentials(AKID, SECRET, token)
    kwargs = {"expires": expires} if expires is not None else {}
    signer = signer_cls(creds, service, "eu-west-1", **kwargs)
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    request.context.update(context or {})
    with mock.patch("botocore.auth.get_current_datetime", return_value=at.replace(tzinfo=None)):
        signer.add_auth(request)
    return to_http(request)


def reason_of(req: HttpRequest, *, now: datetime = SIGNED_AT, secret_for=secrets, **kw) -> str:
    with pytest.raises(AuthFailure) as info:
        auth.verify(req, secret_for, now=now, **kw)
    return info.value.reason


# --- the request shapes kamado serves --------------------------------------------------------

def json_request(**kw) -> HttpRequest:
    body = json.dumps({"ExperimentName": "exp-ü 1"}).encode()
    return signed(SigV4Auth, "sagemaker", "POST", BASE + "/", body=body, headers={
        "X-Amz-Target": "SageMaker.CreateExperiment",
        "Content-Type": "application/x-amz-json-1.1"}, **kw)


def query_request(**kw) -> HttpRequest:
    return signed(SigV4Auth, "sts", "POST", BASE + "/",
                  body=b"Action=GetCallerIdentity&Version=2011-06-15",
                  headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                  **kw)


def s3_request(path="/bucket/a%20b/%C3%BC~x%2Fy", query="list-type=2&prefix=&b=2&b=1&a%20b=c%2Fd",
               body=b"hello", **kw) -> HttpRequest:
    return signed(S3SigV4Auth, "s3", "PUT", f"{BASE}{path}?{query}" if query else BASE + path,
                  body=body, headers={"Content-Type": "text/plain", "x-amz-meta-note": "  a   b  "},
                  **kw)


CASES = {
    "json": json_request,
    "query": query_request,
    "s3": s3_request,
    "rest-json path": lambda **kw: signed(
        SigV4Auth, "sagemaker", "POST",
        BASE + "/endpoints/my%20ep%2Fx/~invocations/%C3%A9", body=b'{"x":1}', **kw),
    "s3 presigned": lambda **kw: signed(
        S3SigV4QueryAuth, "s3", "GET", BASE + "/bucket/k%20ey~%2F?versionId=v%201&x=", **kw),
    "sts presigned": lambda **kw: signed(
        SigV4QueryAuth, "sts", "GET", BASE + "/?Action=GetCallerIdentity&Version=2011-06-15", **kw),
}


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_botocore_signed_requests_verify(make):
    req = make()
    identity = auth.verify(req, secrets, now=SIGNED_AT)
    assert identity.access_key_id == AKID
    assert identity.region == "eu-west-1"
    assert identity.date == "20240101"
    assert identity.amz_date == "20240101T000000Z"
    assert identity.signing_key == auth.signing_key(SECRET, "20240101", "eu-west-1",
                                                    identity.service)
    assert auth.scope_of(req) == (AKID, "eu-west-1", identity.service)
    if "x-amz-signature" not in req.query_string.lower():
        assert req.headers["authorization"].endswith("Signature=" + identity.signature)


def test_identity_reports_service_and_payload_hash():
    body = json_request().body
    ident = auth.verify(json_request(), secrets, now=SIGNED_AT)
    assert (ident.service, ident.payload_hash) == ("sagemaker", hashlib.sha256(body).hexdigest())
    s3 = auth.verify(s3_request(), secrets, now=SIGNED_AT)
    assert (s3.service, s3.payload_hash) == ("s3", hashlib.sha256(b"hello").hexdigest())
    presigned = auth.verify(CASES["s3 presigned"](), secrets, now=SIGNED_AT)
    assert presigned.payload_hash == "UNSIGNED-PAYLOAD"


def test_s3_paths_are_signed_as_sent_and_others_normalised():
    # Dot segments and '//' survive in S3 keys but are collapsed for the other services.
    s3 = s3_request(path="/bucket/a/../b//c/./d", query="")
    assert auth.verify(s3, secrets, now=SIGNED_AT).service == "s3"
    other = signed(SigV4Auth, "sagemaker", "GET", BASE + "/a/../b//c/./d%2F")
    assert auth.verify(other, secrets, now=SIGNED_AT).service == "sagemaker"
    assert auth.canonical_uri("/a/../b//c/./d%2F", "sagemaker") == "/b/c/d%252F"
    assert auth.canonical_uri("/a/../b//c/./d%2F", "s3") == "/a/../b//c/./d%2F"


def test_canonical_query_sorts_and_reencodes():
    assert auth.canonical_query("b=2&a=x y&b=1&uploads&c=%7e%2f") == \
        "a=x%20y&b=1&b=2&c=~%2F&uploads="


def test_security_token_and_date_header_and_unsigned_payload_forms():
    assert auth.verify(json_request(token="session-token/xyz"), secrets, now=SIGNED_AT)
    assert auth.verify(CASES["s3 presigned"](token="tok+en"), secrets, now=SIGNED_AT)
    # botocore signs with an existing Date header instead of adding X-Amz-Date.
    dated = signed(SigV4Auth, "sagemaker", "POST", BASE + "/", body=b"{}",
                   headers={"Date": "Mon, 01 Jan 2024 00:00:00 GMT"})
    assert "x-amz-date" not in dated.headers
    assert auth.verify(dated, secrets, now=SIGNED_AT).amz_date == "20240101T000000Z"
    # Over https with payload signing off, botocore declares UNSIGNED-PAYLOAD in a header.
    unsigned = signed(SigV4Auth, "sagemaker", "POST", "https://localhost:8943/", body=b"{}",
                      context={"payload_signing_enabled": False})
    assert auth.verify(unsigned, secrets, now=SIGNED_AT).payload_hash == "UNSIGNED-PAYLOAD"


def test_body_hash_can_be_supplied_instead_of_the_body():
    req = json_request()
    digest = hashlib.sha256(req.body).hexdigest()
    req.body = b""
    assert reason_of(req) == "signature"
    assert auth.verify(req, secrets, now=SIGNED_AT, body_sha256=digest).payload_hash == digest


# --- tampering -------------------------------------------------------------------------------

def _replace(req: HttpRequest, **changes) -> HttpRequest:
    headers = Headers(dict(req.headers))
    for name, value in changes.pop("headers", {}).items():
        headers[name] = value
    return dataclasses.replace(req, headers=headers, **changes)


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_tampering_with_any_signed_part_is_refused(make):
    req = make()
    assert reason_of(_replace(req, method="DELETE")) == "signature"
    assert reason_of(_replace(req, path=req.path + "x")) == "signature"
    assert reason_of(_replace(req, query_string=req.query_string + "&extra=1")) == "signature"
    assert reason_of(_replace(req, headers={"host": "evil.example:8943"})) == "signature"
    assert reason_of(secret_for=lambda akid: SECRET + "x", req=req) == "signature"
    assert reason_of(secret_for=lambda akid: None, req=req) == "unknown_key"


def test_tampering_with_a_query_value_is_refused():
    req = CASES["s3 presigned"]()
    assert reason_of(_replace(req, query_string=req.query_string.replace("v%201", "v%202"))) \
        == "signature"
    req = s3_request()
    assert reason_of(_replace(req, query_string=req.query_string.replace("b=2", "b=3"))) \
        == "signature"


def test_tampering_with_body_signed_header_or_date_is_refused():
    for make in (json_request, query_request):
        req = make()
        assert reason_of(_replace(req, body=req.body + b" ")) == "signature"
    # S3 signs the declared x-amz-content-sha256, not the body itself: the gateway compares
    # the two later, so verify passes and exposes the declaration.
    s3 = s3_request()
    ident = auth.verify(_replace(s3, body=b"other"), secrets, now=SIGNED_AT)
    assert ident.payload_hash == hashlib.sha256(b"hello").hexdigest()
    assert reason_of(_replace(s3, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})) \
        == "signature"
    assert reason_of(_replace(s3, headers={"x-amz-meta-note": "a c"})) == "signature"
    js = json_request()
    assert reason_of(_replace(js, headers={"x-amz-target": "SageMaker.DeleteExperiment"})) \
        == "signature"
    assert reason_of(_replace(js, headers={"x-amz-date": "20240101T000001Z"})) == "signature"


def test_header_values_are_compared_after_whitespace_trimming():
    req = s3_request()
    # "  a   b  " was signed as "a b"; a proxy re-spacing it does not break the signature.
    assert auth.verify(_replace(req, headers={"x-amz-meta-note": "a b"}), secrets, now=SIGNED_AT)


def test_unknown_access_key():
    req = json_request()
    other = _replace(req, headers={"authorization": req.headers["authorization"].replace(
        AKID, "AKIDSOMEONEELSE00000")})
    with pytest.raises(AuthFailure) as info:
        auth.verify(other, secrets, now=SIGNED_AT)
    assert info.value.reason == "unknown_key"
    assert info.value.message == "The security token included in the request is invalid."
    s3 = s3_request()
    with pytest.raises(AuthFailure) as info:
        auth.verify(s3, lambda akid: None, now=SIGNED_AT)
    assert info.value.message == ("The AWS Access Key Id you provided does not exist in our "
                                  "records.")
    assert auth_error_code("rest-xml", info.value.reason) == ("InvalidAccessKeyId", 403)


def test_signature_mismatch_messages():
    with pytest.raises(AuthFailure) as info:
        auth.verify(json_request(), lambda akid: "wrong", now=SIGNED_AT)
    assert info.value.message.startswith(
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method.")
    assert auth_error_code("json", info.value.reason) == ("InvalidSignatureException", 403)


# --- time ------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [json_request, query_request, s3_request])
def test_clock_skew_window(make):
    req = make()
    for minutes in (-14, 14):
        assert auth.verify(req, secrets, now=SIGNED_AT + timedelta(minutes=minutes))
    for minutes in (-16, 16):
        assert reason_of(req, now=SIGNED_AT + timedelta(minutes=minutes)) == "expired"


def test_expired_messages_name_the_times():
    with pytest.raises(AuthFailure) as info:
        auth.verify(json_request(), secrets, now=SIGNED_AT + timedelta(minutes=25))
    assert info.value.message == ("Signature expired: 20240101T000000Z is now earlier than "
                                  "20240101T001000Z (20240101T002500Z - 15 min.)")
    with pytest.raises(AuthFailure) as info:
        auth.verify(json_request(), secrets, now=SIGNED_AT - timedelta(minutes=20))
    assert info.value.message == ("Signature not yet current: 20240101T000000Z is still later "
                                  "than 20231231T235500Z (20231231T234000Z + 15 min.)")
    with pytest.raises(AuthFailure) as info:
        auth.verify(s3_request(), secrets, now=SIGNED_AT + timedelta(hours=1))
    assert info.value.message == ("The difference between the request time and the current "
                                  "time is too large.")


def test_presigned_url_expiry():
    req = CASES["s3 presigned"](expires=60)
    assert auth.verify(req, secrets, now=SIGNED_AT + timedelta(seconds=60))
    # A presigned URL is good for its whole lifetime, well past the 15-minute skew window.
    long_lived = CASES["s3 presigned"](expires=7200)
    assert auth.verify(long_lived, secrets, now=SIGNED_AT + timedelta(hours=1, minutes=59))
    with pytest.raises(AuthFailure) as info:
        auth.verify(req, secrets, now=SIGNED_AT + timedelta(seconds=61))
    assert (info.value.reason, info.value.message) == ("presign_expired", "Request has expired")
    assert reason_of(req, now=SIGNED_AT - timedelta(minutes=16)) == "presign_expired"
    too_long = _replace(req, query_string=req.query_string.replace("X-Amz-Expires=60",
                                                                   "X-Amz-Expires=604801"))
    assert reason_of(too_long) == "malformed"


# --- refusals before any signature -----------------------------------------------------------

def test_unsigned_request_is_missing_auth():
    req = HttpRequest("POST", "/", "", Headers({"host": HOST}), b"{}")
    assert reason_of(req) == "missing"
    assert auth.scope_of(req) is None


@pytest.mark.parametrize("authorization", [
    "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/sagemaker/aws4_request",
    "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc",
    "AWS AKID:c2lnbmF0dXJl",
    "AWS4-ECDSA-P256-SHA256 Credential=AKID/20240101/sagemaker/aws4_request, "
    "SignedHeaders=host, Signature=abc",
    "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/sagemaker/aws5_request, "
    "SignedHeaders=host, Signature=abc",
    "AWS4-HMAC-SHA256 Credential=AKID/2024/eu-west-1/sagemaker, SignedHeaders=host, Signature=ab",
    "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/sagemaker/aws4_request, "
    "SignedHeaders=x-amz-date, Signature=abc",
])
def test_malformed_authorization_header(authorization):
    req = HttpRequest("POST", "/", "", Headers({"host": HOST, "x-amz-date": "20240101T000000Z",
                                                "authorization": authorization}), b"{}")
    assert reason_of(req) == "malformed"


def test_malformed_date_and_scope_mismatch():
    req = json_request()
    assert reason_of(_replace(req, headers={"x-amz-date": "yesterday"})) == "malformed"
    no_date = _replace(req)
    del no_date.headers["x-amz-date"]
    assert reason_of(no_date) == "malformed"
    # The scope's date must be the request's date: a JSON service calls that a bad signature,
    # S3 a malformed header.
    assert reason_of(_replace(req, headers={"x-amz-date": "20240102T000000Z"}),
                     now=SIGNED_AT + timedelta(days=1)) == "signature"
    s3 = s3_request()
    assert reason_of(_replace(s3, headers={"x-amz-date": "20240102T000000Z"}),
                     now=SIGNED_AT + timedelta(days=1)) == "malformed"


def test_presigned_query_missing_parts_and_double_auth():
    req = CASES["s3 presigned"]()
    partial = _replace(req, query_string="&".join(
        p for p in req.query_string.split("&") if not p.startswith("X-Amz-Date=")))
    assert reason_of(partial) == "malformed"
    both = _replace(req, headers={"authorization": json_request().headers["authorization"]})
    assert reason_of(both) == "malformed"


# --- real boto3 clients ----------------------------------------------------------------------

class _Captured(Exception):
    pass


def boto3_requests(service: str, call, endpoint: str = BASE) -> HttpRequest:
    """The request a real boto3 client sends, taken just before it hits the wire."""
    session = boto3.session.Session(aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                                    region_name="eu-west-1")
    client = session.client(service, endpoint_url=endpoint)
    seen = []

    def grab(request, **_):
        seen.append(to_http(request))
        raise _Captured()

    client.meta.events.register("before-send", grab)
    with mock.patch("botocore.auth.get_current_datetime",
                    return_value=SIGNED_AT.replace(tzinfo=None)), pytest.raises(_Captured):
        call(client)
    return seen[0]


@pytest.mark.parametrize("service,call", [
    ("sagemaker", lambda c: c.list_experiments(MaxResults=5)),
    ("sts", lambda c: c.get_caller_identity()),
    ("s3", lambda c: c.list_objects_v2(Bucket="bkt", Prefix="a b/ü", Delimiter="/")),
    ("s3", lambda c: c.put_object(Bucket="bkt", Key="dir/a b+c~ü%.txt", Body=b"data")),
    ("s3", lambda c: c.delete_objects(Bucket="bkt", Delete={"Objects": [{"Key": "k"}]})),
    ("sagemaker-runtime", lambda c: c.invoke_endpoint(EndpointName="ep-1", Body=b"1,2")),
    ("logs", lambda c: c.describe_log_groups(logGroupNamePrefix="/aws/sagemaker")),
], ids=["json", "query", "s3-list", "s3-put", "s3-delete-objects", "rest-json", "logs"])
def test_real_boto3_requests_verify(service, call):
    req = boto3_requests(service, call)
    identity = auth.verify(req, secrets, now=SIGNED_AT)
    assert identity.access_key_id == AKID
    if service == "s3":
        assert identity.payload_hash == req.headers["x-amz-content-sha256"]
    else:
        assert reason_of(_replace(req, body=req.body + b"x")) == "signature"


def presigned_url(config: dict | None = None, **params) -> HttpRequest:
    session = boto3.session.Session(aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                                    region_name="us-east-1")
    client = session.client("s3", endpoint_url=BASE, config=BotoConfig(**(config or {})))
    clock = mock.Mock(time=mock.Mock(return_value=SIGNED_AT.timestamp()))
    with mock.patch("botocore.auth.get_current_datetime",
                    return_value=SIGNED_AT.replace(tzinfo=None)), \
            mock.patch("botocore.auth.time", clock):
        url = client.generate_presigned_url("get_object", Params={
            "Bucket": "bkt", "Key": "a b/ü~.txt", **params}, ExpiresIn=300)
    parts = urlsplit(url)
    return HttpRequest("GET", parts.path, parts.query, Headers({"host": parts.netloc}))


@pytest.mark.parametrize("config", [None, {"signature_version": "s3v4"}], ids=["default", "s3v4"])
def test_real_boto3_presigned_urls_verify(config):
    # boto3's default for S3 presigning in us-east-1 is still SigV2; both forms must work.
    req = presigned_url(config, VersionId="v 1", ResponseContentType="text/plain")
    assert ("X-Amz-Signature" in req.query_string) == (config is not None)
    identity = auth.verify(req, secrets, now=SIGNED_AT + timedelta(seconds=299))
    assert (identity.access_key_id, identity.service, identity.region) == (AKID, "s3", "us-east-1")
    assert auth.scope_of(req) == (AKID, "us-east-1", "s3")
    assert reason_of(req, now=SIGNED_AT + timedelta(seconds=301)) == "presign_expired"
    assert reason_of(_replace(req, path=req.path.replace("a%20b", "a%20c"))) == "signature"
    assert reason_of(_replace(req, query_string=req.query_string.replace("v%201", "v%202"))) \
        == "signature"
    assert reason_of(_replace(req, method="PUT")) == "signature"
    assert reason_of(req, secret_for=lambda akid: None) == "unknown_key"


def test_sigv2_presigned_url_with_session_token():
    session = boto3.session.Session(aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                                    aws_session_token="tok/en+1", region_name="us-east-1")
    url = session.client("s3", endpoint_url=BASE).generate_presigned_url(
        "get_object", Params={"Bucket": "bkt", "Key": "k"}, ExpiresIn=60)
    parts = urlsplit(url)
    req = HttpRequest("GET", parts.path, parts.query, Headers({"host": parts.netloc}))
    assert "x-amz-security-token=" in req.query_string
    assert auth.verify(req, secrets).access_key_id == AKID
    forged = _replace(req, query_string=req.query_string.replace("tok", "tak"))
    assert reason_of(forged, now=datetime.now(timezone.utc)) == "signature"


def test_signing_keys_are_cached():
    auth.verify(json_request(), secrets, now=SIGNED_AT)
    before = auth.signing_key.cache_info().hits
    auth.verify(json_request(), secrets, now=SIGNED_AT)
    assert auth.signing_key.cache_info().hits == before + 1
