"""The protocol layer against botocore itself, for every operation of all seven services.

Requests: botocore's serializer builds the request a real client would send; kamado must find
the same operation and parse back exactly the params the client passed. Responses: kamado
serializes a random result; botocore's parser must read back exactly that result. Errors:
botocore must read back the code, message and status kamado meant.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import time
import zlib
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.awsrequest import HeadersDict, create_request_object, prepare_request_dict
from botocore.handlers import parse_get_bucket_location
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from botocore.serialize import create_serializer

from kamado.errors import AwsError, SerializationError, UnknownOperation, ValidationError
from kamado.gateway.http import FileRange, Headers, HttpRequest, Payload
from kamado.gateway.models import SERVICES, service_model
from kamado.gateway.protocols import get_protocol
from tests.shapegen import ValueGen, hash_seed

ENDPOINT = "http://127.0.0.1:8943"

# Operations that share one wire form with another: the request cannot tell them apart, so the
# protocol answers with the twin (a deprecated one yields to its successor). The twin must then
# parse the request the same way.
WIRE_TWINS = {
    "GetBucketLifecycle": "GetBucketLifecycleConfiguration",
    "PutBucketLifecycle": "PutBucketLifecycleConfiguration",
    "GetBucketNotification": "GetBucketNotificationConfiguration",
    "PutBucketNotification": "PutBucketNotificationConfiguration",
}


# The deprecated notification shapes give the single `Event` and the flattened list `Events`
# the same element name <Event>; neither botocore nor S3 can tell which member an element is.
_SHARED_ELEMENT = ("NotificationConfigurationDeprecated names both Event and Events <Event>; "
                   "botocore cannot round-trip it either")
QUIRKS = {
    ("request", "s3", "PutBucketNotification"): _SHARED_ELEMENT,
    ("response", "s3", "GetBucketNotification"): _SHARED_ELEMENT,
}


def all_operations(kind: str):
    for service in SERVICES:
        model = service_model(service)
        for name in model.operation_names:
            reason = QUIRKS.get((kind, service, name))
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            yield pytest.param(service, name, id=f"{service}:{name}", marks=marks)




# --- helpers ---------------------------------------------------------------------------------

def normal(value):
    """Compare what matters: datetimes as UTC instants (ms), payloads as bytes, no empties."""
    if isinstance(value, dt.datetime):
        return round(value.timestamp(), 3)
    if isinstance(value, Payload):
        value = value.read()
    if isinstance(value, StreamingBody):
        value = value.read()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = normal(v)
            if v is None or v == [] or v == {} or v == b"":
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [normal(v) for v in value]
    return value


def has_streaming_input(op) -> bool:
    shape = op.input_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    return bool(payload) and shape.members[payload].type_name == "blob"


def client_request(op, params: dict, tmp_path) -> HttpRequest:
    """The HTTP request botocore would send for ``params``, as the gateway hands it over."""
    protocol = op.metadata["protocol"]
    request_dict = create_serializer(protocol).serialize_to_request(params, op)
    prepare_request_dict(request_dict, ENDPOINT)
    prepared = create_request_object(request_dict).prepare()
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    # The serializer's headers only: Content-Length and friends are the transport's business.
    headers = Headers(request_dict["headers"].items())
    payload = None
    if has_streaming_input(op):
        path = tmp_path / "payload.bin"
        path.write_bytes(body)
        payload = Payload(path=path, size=len(body), md5_hex=hashlib.md5(body).hexdigest(),
                          checksums={"CRC32": zlib.crc32(body).to_bytes(4, "big").hex()})
        body = b""
    return HttpRequest(method=request_dict["method"], path=url.path, query_string=url.query,
                       headers=headers, body=body, payload=payload)


def botocore_reads(op, response) -> dict:
    """What a boto3 client makes of kamado's HttpResponse."""
    body = response.body
    assert isinstance(body, bytes)
    headers = HeadersDict(response.headers.items())
    if op.has_streaming_output:
        wire_body = StreamingBody(io.BytesIO(body), len(body))
    else:
        wire_body = body
    parsed = create_parser(op.metadata["protocol"]).parse(
        {"status_code": response.status, "headers": headers, "body": wire_body}, op.output_shape)
    if op.name == "GetBucketLocation":  # botocore reads this one body by hand
        class _Raw:
            raw, content = object(), body
        parse_get_bucket_location(parsed, _Raw())
    parsed.pop("ResponseMetadata", None)
    return parsed


# --- 1. requests ----------------------------------------------------------------------------

@pytest.mark.parametrize("service,operation", list(all_operations("request")))
def test_request_round_trip(service, operation, tmp_path):
    model = service_model(service)
    op = model.operation_model(operation)
    protocol = get_protocol(model)
    gen = ValueGen(hash_seed("request", service, operation), xml=protocol.name == "rest-xml")
    params = gen.params(op.input_shape)
    req = client_request(op, params, tmp_path)

    found, labels = protocol.find_operation(req)
    if found.name != op.name:
        assert WIRE_TWINS.get(op.name) == found.name, f"{op.name} routed to {found.name}"
        found = op
    parsed = protocol.parse(found, req, labels)
    assert normal(parsed) == normal(params)


# --- 2. responses ---------------------------------------------------------------------------

@pytest.mark.parametrize("service,operation", list(all_operations("response")))
def test_response_round_trip(service, operation):
    model = service_model(service)
    op = model.operation_model(operation)
    if op.has_event_stream_output:
        pytest.skip("event-stream responses are framed by the gateway, not by this layer")
    protocol = get_protocol(model)
    gen = ValueGen(hash_seed("response", service, operation), xml=protocol.name in ("rest-xml", "query"))
    result = gen.params(op.output_shape)

    response = protocol.serialize(op, result, "req-1234")
    assert response.status == int(op.http.get("responseCode", 200))
    assert normal(botocore_reads(op, response)) == normal(result)
    request_id_header = "x-amz-request-id" if protocol.name == "rest-xml" else "x-amzn-requestid"
    assert response.headers[request_id_header] == "req-1234"
    if protocol.name == "query":
        assert b"<ResponseMetadata><RequestId>req-1234</RequestId></ResponseMetadata>" in response.body


# --- 3. errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("status", [400, 404, 409, 503])
def test_errors_read_back_by_botocore(service, status):
    model = service_model(service)
    protocol = get_protocol(model)
    op = model.operation_model(model.operation_names[0])
    fields = {"BucketName": "my-bucket", "Key": "a/b.txt"} if service == "s3" else {}
    error = AwsError("m & <m>", code="X", status=status, headers={"Retry-After": "3"}, **fields)
    response = protocol.serialize_error(error, "req-42")
    assert response.status == status
    assert response.headers["retry-after"] == "3"
    parsed = create_parser(protocol.name).parse(
        {"status_code": response.status, "headers": HeadersDict(response.headers.items()),
         "body": response.body}, op.output_shape)
    assert parsed["Error"]["Code"] == "X"
    assert parsed["Error"]["Message"] == "m & <m>"
    assert parsed["ResponseMetadata"]["RequestId"] == "req-42"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == status
    for k, v in fields.items():
        assert parsed["Error"][k] == v
    if protocol.name == "query":
        assert parsed["Error"]["Type"] == ("Sender" if status < 500 else "Receiver")


def test_query_names_validation_failures_as_sts_does():
    protocol = get_protocol(service_model("sts"))
    response = protocol.serialize_error(ValidationError("bad"), "r")
    assert b"<Code>ValidationError</Code>" in response.body


def test_s3_refuses_bad_arguments_with_its_own_codes():
    model = service_model("s3")
    protocol = get_protocol(model)
    req = HttpRequest("GET", "/b", "list-type=2&max-keys=ten")
    op, labels = protocol.find_operation(req)
    with pytest.raises(AwsError) as e:
        protocol.parse(op, req, labels)
    assert (e.value.code, e.value.status) == ("InvalidArgument", 400)
    assert "maxKeys" in e.value.message


# --- routing --------------------------------------------------------------------------------

S3_ROUTES = [
    ("GET", "/", "", {}, "ListBuckets"),
    ("GET", "/", "max-directory-buckets=5", {}, "ListDirectoryBuckets"),
    ("GET", "/b", "", {}, "ListObjects"),
    ("GET", "/b/", "", {}, "ListObjects"),
    ("GET", "/b", "list-type=2", {}, "ListObjectsV2"),
    ("GET", "/b", "list-type=2&prefix=a%2F&delimiter=%2F", {}, "ListObjectsV2"),
    ("GET", "/b", "acl", {}, "GetBucketAcl"),
    ("GET", "/b", "acl=", {}, "GetBucketAcl"),
    ("GET", "/b", "uploads", {}, "ListMultipartUploads"),
    ("GET", "/b", "versions", {}, "ListObjectVersions"),
    ("GET", "/b", "location", {}, "GetBucketLocation"),
    ("GET", "/b", "lifecycle", {}, "GetBucketLifecycleConfiguration"),
    ("GET", "/b", "analytics", {}, "ListBucketAnalyticsConfigurations"),
    ("GET", "/b", "analytics&id=a1", {}, "GetBucketAnalyticsConfiguration"),
    ("PUT", "/b", "", {}, "CreateBucket"),
    ("PUT", "/b", "tagging", {}, "PutBucketTagging"),
    ("HEAD", "/b", "", {}, "HeadBucket"),
    ("DELETE", "/b", "", {}, "DeleteBucket"),
    ("POST", "/b", "delete", {}, "DeleteObjects"),
    ("GET", "/b/k", "", {}, "GetObject"),
    ("GET", "/b/k", "versionId=3", {}, "GetObject"),
    ("GET", "/b/k", "uploadId=u1", {}, "ListParts"),
    ("GET", "/b/k", "acl", {}, "GetObjectAcl"),
    ("GET", "/b/k", "tagging", {}, "GetObjectTagging"),
    ("HEAD", "/b/k", "", {}, "HeadObject"),
    ("PUT", "/b/k", "", {}, "PutObject"),
    ("PUT", "/b/k", "partNumber=1&uploadId=u1", {}, "UploadPart"),
    ("PUT", "/b/k", "", {"x-amz-copy-source": "/b/src"}, "CopyObject"),
    ("PUT", "/b/k", "partNumber=2&uploadId=u1", {"x-amz-copy-source": "/b/src"}, "UploadPartCopy"),
    ("POST", "/b/k", "uploads", {}, "CreateMultipartUpload"),
    ("POST", "/b/k", "uploadId=u1", {}, "CompleteMultipartUpload"),
    ("DELETE", "/b/k", "uploadId=u1", {}, "AbortMultipartUpload"),
    ("DELETE", "/b/k", "", {}, "DeleteObject"),
    ("POST", "/WriteGetObjectResponse", "", {}, "WriteGetObjectResponse"),
]


@pytest.mark.parametrize("method,path,query,headers,expected", S3_ROUTES,
                         ids=[f"{m} {p}?{q}" for m, p, q, _, _ in S3_ROUTES])
def test_s3_routes(method, path, query, headers, expected):
    op, _ = get_protocol(service_model("s3")).find_operation(
        HttpRequest(method, path, query, Headers(headers)))
    assert op.name == expected


@pytest.mark.parametrize("service,method,path,expected", [
    ("sagemaker-runtime", "POST", "/endpoints/my-ep/invocations", "InvokeEndpoint"),
    ("sagemaker-runtime", "POST", "/endpoints/my-ep/async-invocations", "InvokeEndpointAsync"),
    ("sagemaker-featurestore-runtime", "GET", "/FeatureGroup/fg", "GetRecord"),
    ("sagemaker-featurestore-runtime", "PUT", "/FeatureGroup/fg", "PutRecord"),
    ("sagemaker-featurestore-runtime", "POST", "/BatchGetRecord", "BatchGetRecord"),
    ("sagemaker-metrics", "PUT", "/BatchPutMetrics", "BatchPutMetrics"),
])
def test_rest_json_routes(service, method, path, expected):
    op, labels = get_protocol(service_model(service)).find_operation(HttpRequest(method, path))
    assert op.name == expected


@pytest.mark.parametrize("service,req,named", [
    ("sagemaker-runtime", HttpRequest("GET", "/endpoints/e/invocations"), "GET /endpoints/e/invocations"),
    ("s3", HttpRequest("PATCH", "/b/k"), "PATCH /b/k"),
    ("sagemaker", HttpRequest("POST", "/", headers=Headers({"X-Amz-Target": "SageMaker.MakeCoffee"})),
     "MakeCoffee"),
    ("sagemaker", HttpRequest("POST", "/", headers=Headers({"X-Amz-Target": "Logs_20140328.CreateLogGroup"})),
     "CreateLogGroup"),
    ("sagemaker", HttpRequest("POST", "/"), "X-Amz-Target"),
    ("sts", HttpRequest("POST", "/", body=b"Action=MakeCoffee&Version=2011-06-15"), "MakeCoffee"),
])
def test_unknown_operations_are_named(service, req, named):
    with pytest.raises(UnknownOperation) as e:
        get_protocol(service_model(service)).find_operation(req)
    assert named in e.value.message


def test_query_action_may_come_in_the_query_string():
    op, _ = get_protocol(service_model("sts")).find_operation(
        HttpRequest("GET", "/", "Action=GetCallerIdentity&Version=2011-06-15"))
    assert op.name == "GetCallerIdentity"


GREEDY_KEYS = ["k", "a/b/c", "dir with space/ü.txt", "a%2Fb", "a//b", "/leading", "日本/x y+z",
               "../x", "question?#hash&amp=1", "trailing/", "~tilde*star'quote"]


@pytest.mark.parametrize("key", GREEDY_KEYS)
def test_greedy_keys_survive_botocore_encoding(key, tmp_path):
    model = service_model("s3")
    op = model.operation_model("GetObject")
    req = client_request(op, {"Bucket": "bkt", "Key": key}, tmp_path)
    found, labels = get_protocol(model).find_operation(req)
    assert (found.name, labels) == ("GetObject", {"Bucket": "bkt", "Key": key})
    assert get_protocol(model).parse(found, req, labels) == {"Bucket": "bkt", "Key": key}


def test_slash_encoded_by_the_client_is_a_slash():
    protocol = get_protocol(service_model("s3"))
    _, labels = protocol.find_operation(HttpRequest("GET", "/bkt/a%2Fb%20c"))
    assert labels == {"Bucket": "bkt", "Key": "a/b c"}


def test_bucket_label_decodes_percent_escapes():
    protocol = get_protocol(service_model("sagemaker-runtime"))
    op, labels = protocol.find_operation(HttpRequest("POST", "/endpoints/my%2Dep/invocations"))
    assert labels == {"EndpointName": "my-ep"}


# --- headers, metadata, payloads ------------------------------------------------------------

def test_metadata_headers_both_ways(tmp_path):
    model = service_model("s3")
    protocol = get_protocol(model)
    put = model.operation_model("PutObject")
    params = {"Bucket": "b", "Key": "k", "Body": b"data", "Metadata": {"Owner": "kamado", "run-id": "7"},
              "ContentType": "text/plain", "ObjectLockRetainUntilDate": dt.datetime(2030, 1, 2, 3, 4, 5,
                                                                                  tzinfo=dt.timezone.utc)}
    req = client_request(put, params, tmp_path)
    assert req.headers["x-amz-meta-owner"] == "kamado"
    parsed = protocol.parse(put, req, {"Bucket": "b", "Key": "k"})
    assert parsed["Metadata"] == {"owner": "kamado", "run-id": "7"}  # HTTP folds header case
    assert parsed["ObjectLockRetainUntilDate"] == params["ObjectLockRetainUntilDate"]
    assert parsed["Body"] is req.payload and parsed["Body"].read() == b"data"

    head = model.operation_model("HeadObject")
    response = protocol.serialize(head, {"Metadata": {"owner": "kamado"}, "ContentLength": 4,
                                         "LastModified": dt.datetime(2026, 5, 1, 12, 0, 0),
                                         "ETag": '"abc"'}, "r")
    assert response.headers["x-amz-meta-owner"] == "kamado"
    assert response.headers["last-modified"] == "Fri, 01 May 2026 12:00:00 GMT"
    back = botocore_reads(head, response)
    assert back["Metadata"] == {"owner": "kamado"}
    assert back["ContentLength"] == 4


def test_header_values_cannot_split_the_response():
    model = service_model("s3")
    response = get_protocol(model).serialize(
        model.operation_model("HeadObject"), {"Metadata": {"a": "x\r\nSet-Cookie: y", "b": "日本"}}, "r")
    assert "\n" not in response.headers["x-amz-meta-a"]
    assert response.headers["x-amz-meta-b"].startswith("=?UTF-8?B?")


def test_streaming_output_stays_a_file_range(tmp_path):
    model = service_model("s3")
    op = model.operation_model("GetObject")
    blob = FileRange(tmp_path / "blob", start=6, length=5)
    response = get_protocol(model).serialize(op, {
        "Body": blob, "ContentRange": "bytes 6-10/11", "ContentType": "text/plain",
        "__http_status__": 206, "__http_headers__": {"X-Kamado-Debug": "1"}}, "r")
    assert response.body is blob
    assert response.status == 206
    assert response.headers["content-range"] == "bytes 6-10/11"
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["x-kamado-debug"] == "1"


def test_empty_streaming_body_is_the_payload_or_none():
    model = service_model("s3")
    protocol = get_protocol(model)
    op = model.operation_model("PutObject")
    assert "Body" not in protocol.parse(op, HttpRequest("PUT", "/b/k"), {"Bucket": "b", "Key": "k"})


def test_invoke_endpoint_body_and_content_type(tmp_path):
    model = service_model("sagemaker-runtime")
    protocol = get_protocol(model)
    op = model.operation_model("InvokeEndpoint")
    req = client_request(op, {"EndpointName": "ep", "Body": b'{"x": 1}', "ContentType": "application/json",
                              "CustomAttributes": "trace=1"}, tmp_path)
    parsed = protocol.parse(op, req, {"EndpointName": "ep"})
    assert parsed["Body"].read() == b'{"x": 1}'
    assert (parsed["ContentType"], parsed["CustomAttributes"]) == ("application/json", "trace=1")
    response = protocol.serialize(op, {"Body": b"[0.5]", "ContentType": "text/csv",
                                       "InvokedProductionVariant": "AllTraffic"}, "r")
    assert (response.body, response.headers["content-type"]) == (b"[0.5]", "text/csv")
    assert response.headers["x-amzn-invoked-production-variant"] == "AllTraffic"


def test_rest_xml_attributes_and_namespaces():
    model = service_model("s3")
    protocol = get_protocol(model)
    op = model.operation_model("GetBucketAcl")
    result = {"Owner": {"ID": "o1"}, "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "u1"},
                                                 "Permission": "READ"}]}
    response = protocol.serialize(op, result, "r")
    body = response.body.decode()
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy xmlns="http://s3')
    assert 'xsi:type="CanonicalUser"' in body and "xmlns:xsi=" in body
    assert botocore_reads(op, response) == result


@pytest.mark.parametrize("operation,root", [
    ("ListObjectsV2", "ListBucketResult"), ("ListBuckets", "ListAllMyBucketsResult"),
    ("CreateMultipartUpload", "InitiateMultipartUploadResult"), ("DeleteObjects", "DeleteResult"),
    ("CopyObject", "CopyObjectResult"), ("GetBucketLocation", "LocationConstraint"),
])
def test_s3_result_roots(operation, root):
    model = service_model("s3")
    op = model.operation_model(operation)
    gen = ValueGen(1, xml=True)
    result = gen.params(op.output_shape) or {}
    body = get_protocol(model).serialize(op, result, "r").body.decode()
    assert body.split("\n", 1)[1].startswith(f'<{root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">')


# --- json bodies ----------------------------------------------------------------------------

def synthetic(protocol: str, shapes: dict, **http) -> object:
    """A one-operation service model exercising what the seven real ones barely use."""
    from botocore.model import ServiceModel
    metadata = {"protocol": protocol, "apiVersion": "2024-01-01", "jsonVersion": "1.1",
                "targetPrefix": "Kamado", "serviceId": "Kamado", "endpointPrefix": "kamado",
                "signatureVersion": "v4", "xmlNamespace": "https://kamado.example/doc/"}
    op = {"name": "Put", "http": {"method": "POST", "requestUri": "/", **http},
          "input": {"shape": "PutInput"}, "output": {"shape": "PutOutput"}}
    return ServiceModel({"metadata": metadata, "operations": {"Put": op}, "shapes": shapes},
                        service_name=f"kamado-{protocol}")


RICH_SHAPES = {
    "PutInput": {"type": "structure", "members": {
        "Blob": {"shape": "Blob"}, "When": {"shape": "When"}, "Iso": {"shape": "Iso"},
        "Ratio": {"shape": "Ratio"}, "Flag": {"shape": "Flag"},
        "Items": {"shape": "Items"}, "Named": {"shape": "Named"}, "Flat": {"shape": "Flat"},
        "Tags": {"shape": "Tags"}, "FlatTags": {"shape": "FlatTags"}, "Nested": {"shape": "Nested"}}},
    "PutOutput": {"type": "structure", "resultWrapper": "PutResult", "members": {
        "Blob": {"shape": "Blob"}, "When": {"shape": "When"}, "Items": {"shape": "Items"},
        "Flat": {"shape": "Flat"}, "Tags": {"shape": "Tags"}, "FlatTags": {"shape": "FlatTags"},
        "Ratio": {"shape": "Ratio"}}},
    "Blob": {"type": "blob"}, "When": {"type": "timestamp"},
    "Iso": {"type": "timestamp", "timestampFormat": "iso8601"},
    "Ratio": {"type": "double"}, "Flag": {"type": "boolean"}, "Str": {"type": "string"},
    "Count": {"type": "integer", "min": 1, "max": 10},
    "Nested": {"type": "structure", "members": {"Count": {"shape": "Count"}, "Name": {"shape": "Str"}}},
    "Items": {"type": "list", "member": {"shape": "Nested"}},
    "Named": {"type": "list", "member": {"shape": "Str", "locationName": "Item"}},
    "Flat": {"type": "list", "member": {"shape": "Str", "locationName": "Flat"}, "flattened": True},
    "Tags": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Str"}},
    "FlatTags": {"type": "map", "key": {"shape": "Str", "locationName": "K"},
                 "value": {"shape": "Str", "locationName": "V"}, "flattened": True},
}
RICH_PARAMS = {
    "Blob": b"\x00\xffhello", "When": dt.datetime(2026, 3, 1, 8, 30, 15, 250000, tzinfo=dt.timezone.utc),
    "Iso": dt.datetime(2026, 3, 1, 8, 30, 15, tzinfo=dt.timezone.utc), "Ratio": 0.125, "Flag": False,
    "Items": [{"Count": 2, "Name": "a"}, {"Count": 3}], "Named": ["x", "y"], "Flat": ["p", "q", "r"],
    "Tags": {"k1": "v1", "k 2": "v&2"}, "FlatTags": {"a": "1", "b": "2"}, "Nested": {"Name": "n"},
}


@pytest.mark.parametrize("protocol_name", ["json", "query", "rest-json", "rest-xml"])
def test_rich_shapes_round_trip(protocol_name, tmp_path):
    shapes = dict(RICH_SHAPES)
    if protocol_name == "rest-xml":
        shapes["PutInput"] = {**shapes["PutInput"], "locationName": "PutRequest"}
    model = synthetic(protocol_name, shapes)
    op = model.operation_model("Put")
    protocol = get_protocol(model)
    req = client_request(op, RICH_PARAMS, tmp_path)
    found, labels = protocol.find_operation(req)
    assert protocol.parse(found, req, labels) == RICH_PARAMS
    result = {k: RICH_PARAMS[k] for k in op.output_shape.members}
    assert normal(botocore_reads(op, protocol.serialize(op, result, "r"))) == normal(result)


def test_query_flattened_and_named_lists_on_the_wire(tmp_path):
    model = synthetic("query", RICH_SHAPES)
    req = client_request(model.operation_model("Put"), RICH_PARAMS, tmp_path)
    form = dict(parse_qsl(req.body.decode()))
    assert form["Named.Item.1"] == "x" and form["Flat.1"] == "p" and form["Flat.3"] == "r"
    assert form["Tags.entry.2.key"] == "k 2" and form["FlatTags.1.K"] == "a"


def test_query_empty_list():
    model = service_model("sts")
    protocol = get_protocol(model)
    req = HttpRequest("POST", "/", body=b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
                      b"123456789012%3Arole%2Fr&RoleSessionName=sess&PolicyArns=")
    op, labels = protocol.find_operation(req)
    assert protocol.parse(op, req, labels)["PolicyArns"] == []


def test_json_blob_is_base64():
    model = synthetic("json", RICH_SHAPES)
    protocol = get_protocol(model)
    op = model.operation_model("Put")
    req = HttpRequest("POST", "/", headers=Headers({"X-Amz-Target": "Kamado.Put"}),
                      body=b'{"Blob": "aGVsbG8=", "Items": [{"Count": 2}, {"Count": "3"}]}')
    with pytest.raises(ValidationError) as e:
        protocol.parse(op, req, {})
    assert e.value.message == ("1 validation error detected: Value '3' at 'items.2.member.count' failed "
                               "to satisfy constraint: Member must be of type integer")
    req.body = b'{"Blob": "aGVsbG8="}'
    assert protocol.parse(op, req, {}) == {"Blob": b"hello"}
    req.body = b'{"Blob": "not base64!"}'
    with pytest.raises(ValidationError) as e:
        protocol.parse(op, req, {})
    assert "'blob'" in e.value.message
    out = protocol.serialize(op, {"Blob": b"hello", "When": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)}, "r")
    assert json.loads(out.body) == {"Blob": "aGVsbG8=", "When": 1767225600}


def sagemaker_request(operation: str, body: bytes) -> tuple:
    protocol = get_protocol(service_model("sagemaker"))
    req = HttpRequest("POST", "/", headers=Headers({"X-Amz-Target": f"SageMaker.{operation}"}), body=body)
    op, labels = protocol.find_operation(req)
    return protocol, op, req, labels


NAME_PATTERN = (service_model("sagemaker").operation_model("CreateExperiment")
                .input_shape.members["ExperimentName"].metadata["pattern"])


@pytest.mark.parametrize("body,message", [
    (b'{"ExperimentName": "has spaces"}',
     "1 validation error detected: Value 'has spaces' at 'experimentName' failed to satisfy constraint: "
     f"Member must satisfy regular expression pattern: {NAME_PATTERN}"),
    (b'{"DisplayName": "ok"}',
     "1 validation error detected: Value null at 'experimentName' failed to satisfy constraint: "
     "Member must not be null"),
    (b'{"ExperimentName": "e", "Tags": [{"Key": "k", "Value": "v"}, {"Value": "v"}]}',
     "1 validation error detected: Value null at 'tags.2.member.key' failed to satisfy constraint: "
     "Member must not be null"),
    (b'{"ExperimentName": "x y", "DisplayName": "' + b"d" * 121 + b'"}',
     "3 validation errors detected: Value 'x y' at 'experimentName' failed to satisfy constraint: "
     f"Member must satisfy regular expression pattern: {NAME_PATTERN}; "
     f"Value '{'d' * 121}' at 'displayName' failed to satisfy constraint: Member must have length "
     f"less than or equal to 120; Value '{'d' * 121}' at 'displayName' failed to satisfy constraint: "
     f"Member must satisfy regular expression pattern: {NAME_PATTERN}"),
    (b'{"ExperimentName": 5}',
     "1 validation error detected: Value 5 at 'experimentName' failed to satisfy constraint: "
     "Member must be of type string"),
    (b'{"ExperimentName": "e", "Tags": {"Key": "k"}}',
     "1 validation error detected: Value {Key=k} at 'tags' failed to satisfy constraint: "
     "Member must be of type list"),
])
def test_invalid_input_is_a_validation_exception(body, message):
    protocol, op, req, labels = sagemaker_request("CreateExperiment", body)
    with pytest.raises(ValidationError) as e:
        protocol.parse(op, req, labels)
    assert (e.value.code, e.value.status, e.value.message) == ("ValidationException", 400, message)


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[]", b'"text"', b"null"])
def test_malformed_json_is_a_serialization_exception(body):
    protocol, op, req, labels = sagemaker_request("ListExperiments", body)
    with pytest.raises(SerializationError) as e:
        protocol.parse(op, req, labels)
    assert (e.value.code, e.value.status) == ("SerializationException", 400)


def test_json_numbers_out_of_range_are_refused():
    protocol, op, req, labels = sagemaker_request("ListExperiments", b'{"MaxResults": 1e400}')
    with pytest.raises(ValidationError) as e:
        protocol.parse(op, req, labels)
    assert "'maxResults'" in e.value.message


def test_json_timestamps_accept_epoch_and_iso():
    protocol, op, req, labels = sagemaker_request(
        "ListExperiments", b'{"CreatedAfter": 1767225600.5, "CreatedBefore": "2026-01-02T00:00:00Z"}')
    parsed = protocol.parse(op, req, labels)
    assert parsed["CreatedAfter"] == dt.datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=dt.timezone.utc)
    assert parsed["CreatedBefore"] == dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("body", [b"<Tagging><TagSet>", b"not xml at all",
                                  b'<!DOCTYPE x [<!ENTITY a "aaaa">]><Tagging>&a;</Tagging>',
                                  b"<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>"])
def test_malformed_xml_is_malformed_xml(body):
    model = service_model("s3")
    protocol = get_protocol(model)
    req = HttpRequest("PUT", "/b", "tagging", body=body)
    op, labels = protocol.find_operation(req)
    with pytest.raises(AwsError) as e:
        protocol.parse(op, req, labels)
    assert e.value.code in ("MalformedXML", "InvalidArgument") and e.value.status == 400
    if body.startswith(b"<!DOCTYPE") or not body.endswith(b">"):
        assert e.value.code == "MalformedXML"


def test_xml_without_namespace_is_read_too():
    model = service_model("s3")
    protocol = get_protocol(model)
    req = HttpRequest("PUT", "/b", "tagging",
                      body=b"<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>")
    op, labels = protocol.find_operation(req)
    assert protocol.parse(op, req, labels)["Tagging"] == {"TagSet": [{"Key": "k", "Value": "v"}]}


# --- speed ----------------------------------------------------------------------------------

def test_control_plane_call_is_fast():
    """Parse + validate + serialize of a typical SageMaker call: well under 1 ms on a laptop; the
    bound here is loose so a busy CI machine does not flake, yet a 10x regression fails."""
    protocol, op, req, labels = sagemaker_request("CreateExperiment", json.dumps({
        "ExperimentName": "churn-model", "DisplayName": "Churn", "Description": "weekly retrain",
        "Tags": [{"Key": f"k{i}", "Value": f"v{i}"} for i in range(5)]}).encode())
    describe = service_model("sagemaker").operation_model("DescribeExperiment")
    result = {"ExperimentName": "churn-model", "ExperimentArn": "arn:aws:sagemaker:us-east-1:0:experiment/c",
              "CreationTime": dt.datetime.now(dt.timezone.utc), "Source": {"SourceArn": "arn:x"},
              "CreatedBy": {"UserProfileName": "u"}}
    timings = []
    for _ in range(300):
        start = time.perf_counter()
        protocol.parse(op, req, labels)
        protocol.serialize(describe, result, "r")
        timings.append(time.perf_counter() - start)
    timings.sort()
    assert timings[len(timings) // 2] < 0.003


# --- garbage in, an AWS error out -----------------------------------------------------------

GARBAGE_BODIES = [b"{", b"[]", b"null", b"\xff\xfe\x00", b"<a><b>1</b></a>", b"[" * 50000 + b"]" * 50000,
                  b"<a>" * 3000 + b"</a>" * 3000, b"Action=AssumeRole&DurationSeconds=abc&RoleArn=x",
                  b'{"MaxResults": "x", "Tags": [1, 2]}', b"%zz=1&Action=%ff"]
GARBAGE_REQUESTS = [
    (method, path, query, headers)
    for method, path in [("GET", "/b/k"), ("PUT", "/b/k"), ("POST", "/"), ("PUT", "/b"),
                         ("POST", "/endpoints/e/invocations"), ("GET", "/%zz/%ff")]
    for query in ["", "partNumber=x&uploadId=1", "list-type=2&max-keys=-1&fetch-owner=maybe", "tagging"]
    for headers in [{}, {"x-amz-object-lock-retain-until-date": "Tue, 99 Foo", "x-amz-object-attributes": '"a,b'},
                    {"x-amzn-sagemaker-sessionttlseconds": "soon", "content-type": "application/x-www-form-urlencoded"}]
]


@pytest.mark.parametrize("service", SERVICES)
def test_garbage_gets_an_aws_error_never_a_crash(service):
    model = service_model(service)
    protocol = get_protocol(model)
    target = {"x-amz-target": f"{model.metadata.get('targetPrefix')}.{model.operation_names[0]}"}
    outcomes = set()
    for i, (method, path, query, headers) in enumerate(GARBAGE_REQUESTS):
        req = HttpRequest(method, path, query, Headers({**headers, **target}),
                          GARBAGE_BODIES[i % len(GARBAGE_BODIES)])
        try:
            op, labels = protocol.find_operation(req)
            protocol.parse(op, req, labels)
            outcomes.add("parsed")
        except AwsError as exc:
            assert 400 <= exc.status < 500, exc
            outcomes.add(exc.code)
    assert outcomes - {"parsed"}, "no garbage was refused"
