"""What every protocol shares: the interface the gateway calls, and the finishing steps."""

from __future__ import annotations

from kamado.errors import AwsError, SerializationError
from kamado.gateway.http import HttpRequest, HttpResponse
from kamado.gateway.protocols.scalars import BadScalar
from kamado.gateway.validate import type_error, validate

STATUS_KEY = "__http_status__"
HEADERS_KEY = "__http_headers__"


class Protocol:
    """Parses requests and serializes responses and errors for one service, from its model."""

    name = ""

    def __init__(self, service_model) -> None:
        self.model = service_model
        self.service = service_model.service_name

    # --- the gateway's interface -----------------------------------------------------------
    def find_operation(self, req: HttpRequest):
        raise NotImplementedError

    def parse(self, operation, req: HttpRequest, uri_params: dict) -> dict:
        try:
            params = self._parse(operation, req, uri_params)
        except BadScalar as exc:
            raise self._type_error(exc) from None
        except RecursionError:
            raise SerializationError("The request is nested too deeply to be read.") from None
        if operation.input_shape is not None:
            validate(operation.input_shape, params)
        return params

    def serialize(self, operation, result: dict, request_id: str) -> HttpResponse:
        raise NotImplementedError

    def serialize_error(self, error: AwsError, request_id: str) -> HttpResponse:
        raise NotImplementedError

    # --- for subclasses ----------------------------------------------------------------------
    def _parse(self, operation, req: HttpRequest, uri_params: dict) -> dict:
        raise NotImplementedError

    def _type_error(self, exc: BadScalar) -> AwsError:
        return type_error(exc.path, exc.value, exc.expected)


def status_of(operation, result: dict) -> int:
    status = result.get(STATUS_KEY)
    if status is not None:
        return int(status)
    return int(operation.http.get("responseCode", 200))


def add_raw_headers(headers: dict, result: dict) -> None:
    extra = result.get(HEADERS_KEY)
    if extra:
        for k, v in extra.items():
            headers[k.lower()] = str(v)


def error_headers(error: AwsError, headers: dict) -> dict:
    for k, v in error.headers.items():
        headers[k.lower()] = str(v)
    return headers
