"""What rest-json and rest-xml share: routing, URI labels, query strings, headers, payloads.

Subclasses say how a body is read and written (JSON or XML) and how errors look.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl

from kamado.errors import SerializationError
from kamado.gateway.http import FileRange, Headers, HttpRequest, HttpResponse
from kamado.gateway.protocols.base import Protocol, add_raw_headers, status_of
from kamado.gateway.protocols.routes import RouteTable
from kamado.gateway.protocols.scalars import (
    BadScalar, fix_latin1, format_timestamp, from_text, parse_timestamp, text_of,
)
from kamado.gateway.validate import member_label


@dataclass
class _Plan:
    """Where each member of one operation's input or output shape lives on the wire."""

    uri: tuple = ()
    query: tuple = ()
    query_map: tuple | None = None
    claimed_query: frozenset = frozenset()
    headers: tuple = ()
    header_maps: tuple = ()
    status: str | None = None
    payload: tuple | None = None      # (name, member)
    streaming: bool = False
    body: tuple = ()                  # names of members that travel in the body


def _plan(shape, operation=None) -> _Plan:
    plan = _Plan()
    if shape is None:
        return plan
    uri, query, headers, header_maps, body = [], [], [], [], []
    for name, member in shape.members.items():
        ser = member.serialization
        where, wire = ser.get("location"), ser.get("name", name)
        if where == "uri":
            uri.append((name, wire, member))
        elif where == "querystring":
            if member.type_name == "map":
                plan.query_map = (name, member)
            else:
                query.append((name, wire, member))
        elif where == "header":
            headers.append((name, wire, member))
        elif where == "headers":
            header_maps.append((name, wire.lower(), member))
        elif where == "statusCode":
            plan.status = name
        else:
            body.append(name)
    plan.uri, plan.query, plan.headers, plan.header_maps = (
        tuple(uri), tuple(query), tuple(headers), tuple(header_maps))
    payload = shape.serialization.get("payload")
    if payload:
        member = shape.members[payload]
        plan.payload = (payload, member)
        plan.streaming = member.type_name == "blob" and bool(
            member.serialization.get("streaming")
            or (operation is not None and operation.has_streaming_input))
    else:
        plan.body = tuple(body)
    if operation is not None:
        literal = operation.http.get("requestUri", "").partition("?")[2]
        plan.claimed_query = frozenset(
            [wire for _, wire, _ in query] + [p.partition("=")[0] for p in literal.split("&") if p])
    return plan


class RestProtocol(Protocol):
    def __init__(self, service_model) -> None:
        super().__init__(service_model)
        self.routes = RouteTable(service_model)
        self._in: dict[str, _Plan] = {}
        self._out: dict[str, _Plan] = {}
        for name in service_model.operation_names:
            op = service_model.operation_model(name)
            self._in[name] = _plan(op.input_shape, op)
            self._out[name] = _plan(op.output_shape)

    def find_operation(self, req: HttpRequest):
        return self.routes.match(req)

    # --- requests ------------------------------------------------------------------------------
    def _parse(self, operation, req: HttpRequest, uri_params: dict) -> dict:
        if operation.input_shape is None:
            return {}
        plan = self._in[operation.name]
        params: dict = {}
        for name, wire, member in plan.uri:
            if wire in uri_params:
                params[name] = _convert(member, uri_params[wire], name)
        if plan.query or plan.query_map:
            self._parse_query(plan, req, params)
        headers = req.headers if isinstance(req.headers, Headers) else Headers(req.headers)
        for name, wire, member in plan.headers:
            raw = headers.get(wire)
            if raw is not None:
                params[name] = _convert(member, raw, name, header=True)
        for name, prefix, member in plan.header_maps:
            found = {k[len(prefix):]: v for k, v in headers.items() if k.startswith(prefix)}
            if found:
                params[name] = found
        if plan.payload is not None:
            self._parse_payload(operation, plan, req, params)
        elif plan.body and req.body and req.body.strip():
            decoded = self._decode_body(operation.input_shape, req.body)
            for name in plan.body:
                if name in decoded:
                    params[name] = decoded[name]
        return params

    def _parse_query(self, plan: _Plan, req: HttpRequest, params: dict) -> None:
        multi: dict[str, list[str]] = {}
        for k, v in parse_qsl(fix_latin1(req.query_string), keep_blank_values=True):
            multi.setdefault(k, []).append(v)
        for name, wire, member in plan.query:
            values = multi.get(wire)
            if values is None:
                continue
            if member.type_name == "list":
                params[name] = [_convert(member.member, v, name) for v in values]
            else:
                params[name] = _convert(member, values[0], name)
        if plan.query_map is not None:
            name, member = plan.query_map
            vshape = member.value
            rest = {}
            for k, values in multi.items():
                if k in plan.claimed_query:
                    continue
                if vshape.type_name == "list":
                    rest[k] = [_convert(vshape.member, v, name) for v in values]
                else:
                    rest[k] = _convert(vshape, values[0], name)
            if rest:
                params[name] = rest

    def _parse_payload(self, operation, plan: _Plan, req: HttpRequest, params: dict) -> None:
        name, member = plan.payload
        t = member.type_name
        if t == "blob":
            if plan.streaming and req.payload is not None:
                params[name] = req.payload
            elif req.body:
                params[name] = bytes(req.body)
            return
        if not req.body:
            return
        if t == "string":
            try:
                params[name] = req.body.decode("utf-8")
            except UnicodeDecodeError:
                raise SerializationError("The request body is not valid UTF-8 text.") from None
            return
        if req.body.strip():
            params[name] = self._decode_body(member, req.body)

    def _decode_body(self, shape, body: bytes) -> dict:
        raise NotImplementedError

    # --- responses -----------------------------------------------------------------------------
    def serialize(self, operation, result: dict, request_id: str) -> HttpResponse:
        plan = self._out[operation.name]
        headers = self._base_headers(request_id)
        status = status_of(operation, result)
        body: bytes | FileRange = b""
        shape = operation.output_shape
        if shape is not None:
            for name, wire, member in plan.headers:
                value = result.get(name)
                if value is not None:
                    headers[wire.lower()] = header_text(member, value)
            for name, prefix, member in plan.header_maps:
                for k, v in (result.get(name) or {}).items():
                    headers[prefix + str(k).lower()] = _safe_header(text_of(v))
            if plan.status and result.get(plan.status) is not None and "__http_status__" not in result:
                status = int(result[plan.status])
            body = self._serialize_body(operation, plan, result, headers)
        add_raw_headers(headers, result)
        return HttpResponse(status, headers, body)

    def _serialize_body(self, operation, plan: _Plan, result: dict, headers: dict):
        if plan.payload is not None:
            name, member = plan.payload
            value = result.get(name)
            t = member.type_name
            if t in ("blob", "string"):
                if "content-type" not in headers:
                    headers["content-type"] = "application/octet-stream"
                if value is None:
                    return b""
                if isinstance(value, FileRange):
                    return value
                return value.encode("utf-8") if isinstance(value, str) else bytes(value)
            if value is None:
                return self._empty_body(operation, headers)
            return self._encode_payload(operation, name, member, value, headers)
        return self._encode_members(operation, plan, result, headers)

    def _base_headers(self, request_id: str) -> dict:
        raise NotImplementedError

    def _empty_body(self, operation, headers: dict) -> bytes:
        return b""

    def _encode_payload(self, operation, name, member, value, headers) -> bytes:
        raise NotImplementedError

    def _encode_members(self, operation, plan: _Plan, result: dict, headers: dict) -> bytes:
        raise NotImplementedError


# --- values in URIs, query strings and headers ----------------------------------------------

def _convert(member, text: str, name: str, header: bool = False):
    try:
        if header:
            return header_value(member, text)
        return from_text(member, text)
    except BadScalar as exc:
        exc.path.append(member_label(name))
        raise


def header_value(member, text: str):
    t = member.type_name
    if t == "string":
        if member.serialization.get("jsonvalue"):
            try:
                return json.loads(base64.b64decode(text).decode("utf-8"))
            except ValueError:
                raise BadScalar(text, "base64-encoded JSON") from None
        return text
    if t == "list":
        return [from_text(member.member, item) for item in split_header_list(text)]
    if t == "timestamp":
        return parse_timestamp(text)
    return from_text(member, text.strip())


def split_header_list(text: str) -> list[str]:
    """``a, "b,c", "d\\"e"`` -> ['a', 'b,c', 'd"e'] (botocore quotes items holding , or ")."""
    items, buf, quoted, i = [], [], False, 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\" and i + 1 < len(text):
                buf.append(text[i + 1])
                i += 1
            elif ch == '"':
                quoted = False
            else:
                buf.append(ch)
        elif ch == '"':
            quoted = True
        elif ch == ",":
            items.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
        i += 1
    items.append("".join(buf).strip())
    return items


def header_text(member, value) -> str:
    t = member.type_name
    if t == "timestamp":
        return _safe_header(str(format_timestamp(
            value, member.serialization.get("timestampFormat", "rfc822"))))
    if t == "list":
        parts = []
        for item in value:
            if item is None:
                continue
            text = header_text(member.member, item)
            if member.member.type_name == "string" and ("," in text or '"' in text):
                text = '"' + text.replace('"', '\\"') + '"'
            parts.append(text)
        return ",".join(parts)
    if t == "string" and member.serialization.get("jsonvalue"):
        return base64.b64encode(json.dumps(value, separators=(",", ":")).encode("utf-8")).decode("ascii")
    if t == "blob":
        return base64.b64encode(value if isinstance(value, bytes) else str(value).encode()).decode("ascii")
    return _safe_header(text_of(value))


def _safe_header(text: str) -> str:
    # A CR or LF would end the header early (response splitting); text beyond latin-1 cannot
    # travel in HTTP/1.1 headers, so it goes as an RFC 2047 encoded word, as S3 does.
    if "\r" in text or "\n" in text:
        text = text.replace("\r", " ").replace("\n", " ")
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        text = "=?UTF-8?B?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="
    return text
