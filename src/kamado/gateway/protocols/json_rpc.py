"""The ``json`` protocol (SageMaker, CloudWatch Logs): POST /, ``X-Amz-Target``, a JSON body."""

from __future__ import annotations

from kamado.errors import AwsError, UnknownOperation
from kamado.gateway.http import HttpRequest, HttpResponse
from kamado.gateway.protocols import jsonshape
from kamado.gateway.protocols.base import Protocol, add_raw_headers, error_headers, status_of


class JsonProtocol(Protocol):
    name = "json"

    def __init__(self, service_model) -> None:
        super().__init__(service_model)
        self.prefix = service_model.metadata.get("targetPrefix", "")
        self.content_type = f"application/x-amz-json-{service_model.metadata.get('jsonVersion', '1.0')}"
        self._names = frozenset(service_model.operation_names)

    def find_operation(self, req: HttpRequest):
        target = req.headers.get("x-amz-target")
        if not target:
            raise UnknownOperation(
                f"The request names no operation: {self.service} expects an X-Amz-Target header "
                f"of the form '{self.prefix}.<Operation>'.")
        prefix, _, name = target.strip().rpartition(".")
        if prefix != self.prefix or name not in self._names:
            raise UnknownOperation(
                f"The operation {name or target} is not an operation of {self.service} "
                f"(X-Amz-Target: {target}).")
        return self.model.operation_model(name), {}

    def _parse(self, operation, req: HttpRequest, uri_params: dict) -> dict:
        shape = operation.input_shape
        body = req.body.strip() if req.body else b""
        if not body:
            return {}
        raw = jsonshape.load_object(body)
        if shape is None:
            return {}
        return jsonshape.decode(shape, raw)

    def serialize(self, operation, result: dict, request_id: str) -> HttpResponse:
        shape = operation.output_shape
        body = jsonshape.encode(shape, result) if shape is not None else {}
        headers = {"x-amzn-requestid": request_id, "content-type": self.content_type}
        add_raw_headers(headers, result)
        return HttpResponse(status_of(operation, result), headers, jsonshape.dumps(body))

    def serialize_error(self, error: AwsError, request_id: str) -> HttpResponse:
        body = {"__type": error.code, "message": error.message}
        for k, v in error.fields.items():
            body.setdefault(k, v)
        headers = {"x-amzn-requestid": request_id, "content-type": self.content_type,
                   "x-amzn-errortype": error.code}
        return HttpResponse(error.status, error_headers(error, headers), jsonshape.dumps(body))
