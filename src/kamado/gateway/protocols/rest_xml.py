"""The ``rest-xml`` protocol (S3)."""

from __future__ import annotations


import base64
import hashlib
import re
from collections import Counter

from kamado.errors import AwsError, ValidationError
from kamado.gateway.http import HttpRequest, HttpResponse
from kamado.gateway.protocols import xmlshape
from kamado.gateway.protocols.base import error_headers
from kamado.gateway.protocols.rest import RestProtocol
from kamado.gateway.protocols.scalars import BadScalar

_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
_CONTENT_TYPE = "application/xml"

# S3 names a result's root element after the resource, not after the model's output shape;
# clients that read the root (and people reading traces) expect these names.
S3_ROOTS = {
    "CompleteMultipartUpload": "CompleteMultipartUploadResult",
    "CreateMultipartUpload": "InitiateMultipartUploadResult",
    "CreateSession": "CreateSessionResult",
    "DeleteObjects": "DeleteResult",
    "GetBucketAccelerateConfiguration": "AccelerateConfiguration",
    "GetBucketAcl": "AccessControlPolicy",
    "GetObjectAcl": "AccessControlPolicy",
    "GetBucketCors": "CORSConfiguration",
    "GetBucketLifecycle": "LifecycleConfiguration",
    "GetBucketLifecycleConfiguration": "LifecycleConfiguration",
    "GetBucketLogging": "BucketLoggingStatus",
    "GetBucketNotification": "NotificationConfiguration",
    "GetBucketNotificationConfiguration": "NotificationConfiguration",
    "GetBucketRequestPayment": "RequestPaymentConfiguration",
    "GetBucketTagging": "Tagging",
    "GetObjectTagging": "Tagging",
    "GetBucketVersioning": "VersioningConfiguration",
    "GetBucketWebsite": "WebsiteConfiguration",
    "GetObjectAttributes": "GetObjectAttributesResponse",
    "ListBucketAnalyticsConfigurations": "ListBucketAnalyticsConfigurationResult",
    "ListBucketIntelligentTieringConfigurations": "ListBucketIntelligentTieringConfigurationsOutput",
    "ListBucketInventoryConfigurations": "ListInventoryConfigurationsResult",
    "ListBucketMetricsConfigurations": "ListMetricsConfigurationsResult",
    "ListBuckets": "ListAllMyBucketsResult",
    "ListDirectoryBuckets": "ListAllMyDirectoryBucketsResult",
    "ListMultipartUploads": "ListMultipartUploadsResult",
    "ListObjectVersions": "ListVersionsResult",
    "ListObjects": "ListBucketResult",
    "ListObjectsV2": "ListBucketResult",
    "ListParts": "ListPartsResult",
}
# Results whose whole body is one element's text, e.g.
# <LocationConstraint xmlns="…">eu-west-1</LocationConstraint>; botocore reads the root's text.
TEXT_ROOTS = {"GetBucketLocation": "LocationConstraint"}


def _model_namespace(service_model) -> str:
    """The namespace the model puts on its request payloads (S3 has no metadata one)."""
    ns = service_model.metadata.get("xmlNamespace")
    if isinstance(ns, dict):
        ns = ns.get("uri")
    if ns:
        return ns
    seen: Counter = Counter()
    for name in service_model.operation_names:
        shape = service_model.operation_model(name).input_shape
        if shape is None:
            continue
        for member in shape.members.values():
            uri = member.serialization.get("xmlNamespace")
            uri = uri.get("uri") if isinstance(uri, dict) else uri
            if uri:
                seen[uri] += 1
    return seen.most_common(1)[0][0] if seen else ""


class RestXmlProtocol(RestProtocol):
    name = "rest-xml"

    def __init__(self, service_model) -> None:
        super().__init__(service_model)
        self.namespace = _model_namespace(service_model)
        self._xmlns = f' xmlns="{self.namespace}"' if self.namespace else ""

    # --- requests ------------------------------------------------------------------------------
    def parse(self, operation, req: HttpRequest, uri_params: dict) -> dict:
        try:
            params = super().parse(operation, req, uri_params)
        except ValidationError as exc:
            # S3 has no ValidationException; a bad argument is InvalidArgument there.
            raise AwsError(exc.message, code="InvalidArgument", status=400) from None
        where = _unrepresentable(params)
        if where:
            # Responses echo names, keys and markers; text XML 1.0 cannot carry would make the
            # answer unreadable to every XML parser, so it is refused on the way in.
            raise AwsError(f"The value of {where} contains characters that cannot appear in XML "
                           "1.0 (control characters other than tab, newline and carriage return).",
                           code="InvalidArgument", status=400)
        return params

    def _type_error(self, exc: BadScalar) -> AwsError:
        where = ".".join(reversed(exc.path)) or "the request"
        return AwsError(f"The value {exc.value!r} of {where} is not a valid {exc.expected}.",
                        code="InvalidArgument", status=400)

    def _decode_body(self, shape, body: bytes) -> dict:
        try:
            node = xmlshape.parse_document(body)
        except ValueError:
            raise _malformed() from None
        try:
            return xmlshape.decode(shape, node)
        except BadScalar:
            raise _malformed() from None

    # --- responses -----------------------------------------------------------------------------
    def _base_headers(self, request_id: str) -> dict:
        return {"x-amz-request-id": request_id, "x-amz-id-2": _host_id(request_id)}

    def _encode_payload(self, operation, name, member, value, headers) -> bytes:
        headers.setdefault("content-type", _CONTENT_TYPE)
        parts = [_XML_DECL]
        root = member.serialization.get("name", name)
        extra = "" if member.serialization.get("xmlNamespace") else self._xmlns
        xmlshape.write(parts, member, value, root, extra_attrs=extra)
        return "".join(parts).encode("utf-8")

    def _encode_members(self, operation, plan, result: dict, headers: dict) -> bytes:
        if not plan.body:
            return b""
        shape = operation.output_shape
        headers.setdefault("content-type", _CONTENT_TYPE)
        text_root = TEXT_ROOTS.get(operation.name)
        if text_root is not None:
            value = result.get(plan.body[0])
            text = "" if value is None else xmlshape.escape(
                xmlshape.scalar_text(shape.members[plan.body[0]], value))
            return f"{_XML_DECL}<{text_root}{self._xmlns}>{text}</{text_root}>".encode("utf-8")
        root = shape.serialization.get("name") or S3_ROOTS.get(operation.name) or _result_name(shape.name)
        extra = "" if shape.serialization.get("xmlNamespace") else self._xmlns
        parts = [_XML_DECL]
        xmlshape.write_structure(parts, shape, result, root, extra_attrs=extra)
        return "".join(parts).encode("utf-8")

    def serialize_error(self, error: AwsError, request_id: str) -> HttpResponse:
        parts = [_XML_DECL, "<Error>", f"<Code>{xmlshape.escape(error.code)}</Code>",
                 f"<Message>{xmlshape.escape(error.message)}</Message>"]
        for k, v in error.fields.items():
            parts.append(f"<{k}>{xmlshape.escape(str(v))}</{k}>")
        parts.append(f"<RequestId>{xmlshape.escape(request_id)}</RequestId>")
        parts.append(f"<HostId>{_host_id(request_id)}</HostId></Error>")
        headers = {"content-type": _CONTENT_TYPE, "x-amz-request-id": request_id,
                   "x-amz-id-2": _host_id(request_id)}
        return HttpResponse(error.status, error_headers(error, headers), "".join(parts).encode("utf-8"))


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _unrepresentable(value, where: str = "") -> str | None:
    """The path of the first string in ``value`` that XML 1.0 cannot represent, if any."""
    if isinstance(value, str):
        return where or "the request" if _NOT_XML.search(value) else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((str(i + 1), v) for i, v in enumerate(value))
    else:
        return None
    for key, item in items:
        found = _unrepresentable(item, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


def _malformed() -> AwsError:
    return AwsError("The XML you provided was not well-formed or did not validate against our "
                    "published schema", code="MalformedXML", status=400)


def _result_name(shape_name: str) -> str:
    return shape_name[:-6] + "Result" if shape_name.endswith("Output") else shape_name


def _host_id(request_id: str) -> str:
    # S3 pairs every request id with an opaque host id; derive it so both stay in step.
    return base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode("ascii")
