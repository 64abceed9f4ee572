"""The ``query`` protocol (STS): form-encoded ``Action=…&Version=…&A.member.1=…``, XML responses."""

from __future__ import annotations

from urllib.parse import parse_qsl

from kamado.errors import AwsError, UnknownOperation
from kamado.gateway.http import HttpRequest, HttpResponse
from kamado.gateway.protocols import xmlshape
from kamado.gateway.protocols.base import Protocol, add_raw_headers, error_headers, status_of
from kamado.gateway.protocols.scalars import BadScalar, fix_latin1, from_text
from kamado.gateway.validate import member_label

_XML_CONTENT_TYPE = "text/xml"


class QueryProtocol(Protocol):
    name = "query"

    def __init__(self, service_model) -> None:
        super().__init__(service_model)
        self.namespace = service_model.metadata.get("xmlNamespace", "")
        self._xmlns = f' xmlns="{self.namespace}"' if self.namespace else ""
        self._operations = {name: service_model.operation_model(name)
                            for name in service_model.operation_names}

    def find_operation(self, req: HttpRequest):
        action = _params(req).get("Action")
        if not action:
            raise UnknownOperation(f"The request names no Action; {self.service} expects one.",
                                   code="MissingAction")
        op = self._operations.get(action)
        if op is None:
            raise UnknownOperation(f"Could not find operation {action} for {self.service}.",
                                   code="InvalidAction")
        return op, {}

    def _parse(self, operation, req: HttpRequest, uri_params: dict) -> dict:
        shape = operation.input_shape
        if shape is None:
            return {}
        return _Decoder(_params(req)).structure(shape, "")

    # --- responses -----------------------------------------------------------------------------
    def serialize(self, operation, result: dict, request_id: str) -> HttpResponse:
        op = operation.name
        parts = [f"<{op}Response{self._xmlns}>"]
        shape = operation.output_shape
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper", f"{op}Result")
            xmlshape.write_structure(parts, shape, result, wrapper)
        parts.append(f"<ResponseMetadata><RequestId>{xmlshape.escape(request_id)}</RequestId>"
                     f"</ResponseMetadata></{op}Response>")
        headers = {"x-amzn-requestid": request_id, "content-type": _XML_CONTENT_TYPE}
        add_raw_headers(headers, result)
        return HttpResponse(status_of(operation, result), headers, "".join(parts).encode("utf-8"))

    def serialize_error(self, error: AwsError, request_id: str) -> HttpResponse:
        # Query services spell the validation failure "ValidationError".
        code = "ValidationError" if error.code == "ValidationException" else error.code
        kind = "Sender" if error.status < 500 else "Receiver"
        parts = [f"<ErrorResponse{self._xmlns}><Error><Type>{kind}</Type>",
                 f"<Code>{xmlshape.escape(code)}</Code>",
                 f"<Message>{xmlshape.escape(error.message)}</Message>"]
        for k, v in error.fields.items():
            parts.append(f"<{k}>{xmlshape.escape(str(v))}</{k}>")
        parts.append(f"</Error><RequestId>{xmlshape.escape(request_id)}</RequestId></ErrorResponse>")
        headers = {"x-amzn-requestid": request_id, "content-type": _XML_CONTENT_TYPE}
        return HttpResponse(error.status, error_headers(error, headers), "".join(parts).encode("utf-8"))


def _params(req: HttpRequest) -> dict[str, str]:
    """Query string and form body together; the body wins."""
    params = dict(parse_qsl(fix_latin1(req.query_string), keep_blank_values=True))
    content_type = req.headers.get("content-type", "")
    if req.body and (not content_type or "x-www-form-urlencoded" in content_type):
        try:
            text = req.body.decode("utf-8")
        except UnicodeDecodeError:
            text = req.body.decode("latin-1")
        params.update(parse_qsl(text, keep_blank_values=True))
    return params


class _Decoder:
    """Rebuilds nested values from flat ``Prefix.member.N.Name`` keys, walking the shape."""

    def __init__(self, params: dict[str, str]) -> None:
        self.params = params

    def value(self, shape, key: str):
        t = shape.type_name
        if t == "structure":
            return self.structure(shape, key)
        if t == "list":
            return self.list(shape, key)
        if t == "map":
            return self.map(shape, key)
        raw = self.params.get(key)
        return None if raw is None else from_text(shape, raw)

    def structure(self, shape, prefix: str):
        out = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            key = f"{prefix}.{wire}" if prefix else wire
            try:
                value = self.value(member, key)
            except BadScalar as exc:
                exc.path.append(member_label(name))
                raise
            if value is not None:
                out[name] = value
        if prefix and not out and not self._has_prefix(prefix + "."):
            return None
        return out

    def list(self, shape, prefix: str):
        if self.params.get(prefix) == "":
            return []  # the query protocol's spelling of an empty list
        if shape.serialization.get("flattened"):
            item_name = shape.member.serialization.get("name")
            base = ".".join(prefix.split(".")[:-1] + [item_name]) if item_name else prefix
        else:
            base = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        out = []
        for i in self._indices(base):
            try:
                item = self.value(shape.member, f"{base}.{i}")
            except BadScalar as exc:
                exc.path.append(f"{i}.member")
                raise
            if item is not None:
                out.append(item)
        return out or None

    def map(self, shape, prefix: str):
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        kname = shape.key.serialization.get("name", "key")
        vname = shape.value.serialization.get("name", "value")
        out = {}
        for i in self._indices(base):
            key = self.params.get(f"{base}.{i}.{kname}")
            if key is None:
                continue
            value = self.value(shape.value, f"{base}.{i}.{vname}")
            if value is not None:
                out[key] = value
        return out or None

    def _indices(self, base: str) -> list[int]:
        start = base + "."
        found = set()
        for key in self.params:
            if key.startswith(start):
                head = key[len(start):].split(".", 1)[0]
                if head.isdigit():
                    found.add(int(head))
        return sorted(found)

    def _has_prefix(self, start: str) -> bool:
        return any(key.startswith(start) for key in self.params)
