"""The ``rest-json`` protocol (SageMaker Runtime, Feature Store Runtime, SageMaker Metrics)."""

from __future__ import annotations

from kamado.errors import AwsError
from kamado.gateway.http import HttpResponse
from kamado.gateway.protocols import jsonshape
from kamado.gateway.protocols.base import error_headers
from kamado.gateway.protocols.rest import RestProtocol

_CONTENT_TYPE = "application/json"


class RestJsonProtocol(RestProtocol):
    name = "rest-json"

    def _decode_body(self, shape, body: bytes) -> dict:
        return jsonshape.decode(shape, jsonshape.load_object(body))

    def _base_headers(self, request_id: str) -> dict:
        return {"x-amzn-requestid": request_id}

    def _empty_body(self, operation, headers: dict) -> bytes:
        headers.setdefault("content-type", _CONTENT_TYPE)
        return b"{}"

    def _encode_payload(self, operation, name, member, value, headers) -> bytes:
        headers.setdefault("content-type", _CONTENT_TYPE)
        return jsonshape.dumps(jsonshape.encode(member, value))

    def _encode_members(self, operation, plan, result: dict, headers: dict) -> bytes:
        headers.setdefault("content-type", _CONTENT_TYPE)
        shape = operation.output_shape
        members = shape.members
        out = {}
        for name in plan.body:
            value = result.get(name)
            if value is not None:
                member = members[name]
                out[member.serialization.get("name", name)] = jsonshape.encode(member, value)
        return jsonshape.dumps(out)

    def serialize_error(self, error: AwsError, request_id: str) -> HttpResponse:
        body = {"message": error.message}
        for k, v in error.fields.items():
            body.setdefault(k, v)
        headers = {"x-amzn-requestid": request_id, "content-type": _CONTENT_TYPE,
                   "x-amzn-errortype": error.code}
        return HttpResponse(error.status, error_headers(error, headers), jsonshape.dumps(body))
