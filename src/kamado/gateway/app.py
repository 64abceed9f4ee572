"""The gateway: one ASGI application that serves every service kamado speaks.

route → authenticate → parse with botocore's model → validate → call provider → serialize.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from functools import lru_cache
from typing import Callable

import anyio

from kamado.errors import AwsError, InternalFailure, NotImplementedOperation, resolve
from kamado.gateway import auth
from kamado.gateway.http import FileRange, Headers, HttpRequest, HttpResponse
from kamado.gateway.models import service_model
from kamado.gateway.protocols import get_protocol
from kamado.gateway.routing import identify_service, virtual_host_bucket
from kamado.gateway.spool import BodyTooLarge, check_declared_hash, read_body, spool_payload
from kamado.services.base import RequestContext

log = logging.getLogger("kamado.gateway")

# Non-streaming bodies are held in memory; anything larger than this is refused.
MAX_BODY = 64 * 1024 * 1024
_CHUNK = 1024 * 1024


def _has_streaming_payload(operation) -> bool:
    shape = operation.input_shape
    if shape is None:
        return False
    payload = shape.serialization.get("payload")
    if not payload:
        return False
    member = shape.members[payload]
    return member.type_name == "blob" and bool(member.serialization.get("streaming")
                                               or operation.has_streaming_input)


@lru_cache(maxsize=None)
def error_shape_names(service: str) -> frozenset[str]:
    return frozenset(shape.name for shape in service_model(service).error_shapes)


def _is_metrics_scrape(scope) -> bool:
    """``GET /metrics`` without AWS credentials is Prometheus asking for the endpoint metrics
    (signed, it would be S3's ListObjects of a bucket named "metrics")."""
    if scope["method"] != "GET" or scope["path"] != "/metrics":
        return False
    if b"x-amz-" in scope.get("query_string", b"").lower():
        return False
    return not any(k.lower() == b"authorization" for k, _ in scope["headers"])


class Gateway:
    def __init__(self, platform) -> None:
        self.platform = platform
        self.config = platform.config
        self._secret_for: Callable[[str], str | None] = platform.secret_for
        self._spool_dir = self.config.objects_dir / "tmp"
        self._spool_dir.mkdir(parents=True, exist_ok=True)

    # --- ASGI -------------------------------------------------------------------------------
    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if _is_metrics_scrape(scope):
            body = self.platform.engine.hosting.metrics.prometheus().encode()
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"text/plain; version=0.0.4; charset=utf-8"),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        raw_path = scope.get("raw_path") or scope["path"].encode()
        req = HttpRequest(
            method=scope["method"],
            path=raw_path.decode("latin-1").split("?", 1)[0],
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=Headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]),
        )
        label = "-"
        service = identify_service(req)
        protocol = get_protocol(service_model(service))
        try:
            label, response = await self._handle(req, service, protocol, receive, request_id)
        except AwsError as exc:
            response = protocol.serialize_error(
                resolve(exc, protocol.name, error_shape_names(service)), request_id)
        except Exception:  # a bug in kamado: the client gets an AWS error, the server lives on
            log.error("unhandled error in %s %s\n%s", req.method, req.path, traceback.format_exc())
            response = protocol.serialize_error(
                InternalFailure("kamado hit an internal error; see the server log"), request_id)
        finally:
            if req.payload is not None and req.payload.path.exists():
                req.payload.path.unlink(missing_ok=True)
        await self._send(send, req.method, response)
        log.info("%s %s %d %.1fms", service, label, response.status,
                 (time.perf_counter() - started) * 1000)

    # --- one request ------------------------------------------------------------------------
    async def _handle(self, req: HttpRequest, service: str, protocol, receive, request_id: str):
        route_req = req
        if service == "s3":
            bucket = virtual_host_bucket(req.headers.get("host", ""), self.config)
            if bucket:
                route_req = HttpRequest(req.method, f"/{bucket}{req.path}", req.query_string,
                                        req.headers)
        # json/query name their operation in the body; rest protocols in the path.
        if protocol.name in ("json", "query"):
            req.body = route_req.body = await self._read(receive, req)
        operation, lookup_error, uri_params = None, None, {}
        try:
            operation, uri_params = protocol.find_operation(route_req)
        except AwsError as exc:
            lookup_error = exc
        label = operation.name if operation is not None else "?"

        # S3 streams big bodies to disk and says their hash in a header; other services'
        # payloads (InvokeEndpoint's Body) are small and signed over their bytes.
        if operation is not None and service == "s3" and _has_streaming_payload(operation):
            identity = auth.verify(req, self._secret_for, default_region=self.config.region)
            req.payload = await spool_payload(receive, req, identity, self._spool_dir,
                                              fsync=self.config.object_fsync)
        else:
            if protocol.name not in ("json", "query"):
                req.body = route_req.body = await self._read(receive, req)
            identity = auth.verify(req, self._secret_for, default_region=self.config.region)
            check_declared_hash(req)
        if lookup_error is not None:
            raise lookup_error
        route_req.payload = req.payload

        handler = self.platform.services.handler(service, operation.name)
        if handler is None:
            raise NotImplementedOperation(service, operation.name)
        params = protocol.parse(operation, route_req, uri_params)
        ctx = RequestContext(account_id=self.config.account_id, region=identity.region,
                             service=service, operation=operation.name, request_id=request_id,
                             access_key_id=identity.access_key_id, headers=req.headers)
        result = await anyio.to_thread.run_sync(handler, params, ctx)
        response = protocol.serialize(operation, result or {}, request_id)
        if isinstance(response.body, FileRange):
            # Open now: once open, the bytes stay readable even if the object is replaced.
            response.body = _OpenRange.open(response.body)
        return label, response

    async def _read(self, receive, req: HttpRequest) -> bytes:
        try:
            return await read_body(receive, MAX_BODY)
        except BodyTooLarge:
            raise AwsError(f"The request body exceeds kamado's limit of {MAX_BODY} bytes for "
                           "this operation.", code="RequestEntityTooLarge", status=413)

    # --- response ---------------------------------------------------------------------------
    async def _send(self, send, method: str, response: HttpResponse) -> None:
        body = response.body
        headers = {k.lower(): str(v) for k, v in response.headers.items()}
        # HEAD, 204 and 304 carry no body; HEAD keeps the length of what GET would send.
        bodiless = method == "HEAD" or response.status in (204, 304)
        if response.status in (204, 304):
            headers.pop("content-length", None)
        elif isinstance(body, _OpenRange):
            headers["content-length"] = str(body.length)
        elif method != "HEAD" or "content-length" not in headers:
            headers["content-length"] = str(len(body))
        await send({"type": "http.response.start", "status": response.status,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                                for k, v in headers.items()]})
        if bodiless:
            if isinstance(body, _OpenRange):
                body.handle.close()
            await send({"type": "http.response.body", "body": b""})
            return
        if isinstance(body, _OpenRange):
            remaining = body.length
            with body.handle as fh:
                while remaining > 0:
                    chunk = fh.read(min(_CHUNK, remaining))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                    await send({"type": "http.response.body", "body": chunk,
                                "more_body": remaining > 0})
            if remaining > 0:  # file shrank under us; close the stream rather than hang
                await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.body", "body": body})


class _OpenRange:
    """A FileRange whose file is already open and positioned."""

    def __init__(self, handle, length: int) -> None:
        self.handle, self.length = handle, length

    @classmethod
    def open(cls, rng: FileRange) -> "_OpenRange":
        try:
            fh = open(rng.path, "rb")
        except FileNotFoundError:
            raise AwsError("The object changed while it was being read; retry the request.",
                           code="InternalError", status=500)
        size = fh.seek(0, 2)
        start = min(rng.start, size)
        fh.seek(start)
        length = size - start if rng.length is None else min(rng.length, size - start)
        return cls(fh, length)


def create_app(platform) -> Gateway:
    return Gateway(platform)
