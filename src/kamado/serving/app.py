"""The container's HTTP API as a bare ASGI application (inference-contract.md §2):
``GET /ping``, ``POST /invocations`` and, when the handlers define it,
``GET /execution-parameters``.

No framework in between: a request is a handful of headers and a body, and every
microsecond here is added to every prediction. Handlers run on one worker thread, one
request at a time, as a model server worker runs them (user code may assume that), while the
event loop keeps answering ``/ping``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import sys
import threading
import traceback
import queue

from kamado.serving import batch
from kamado.serving.content import resolve_accept
from kamado.serving.context import CUSTOM_ATTRIBUTES, Context
from kamado.serving.errors import InferenceError
from kamado.serving.handlers import Handlers
from kamado.serving.settings import ServingSettings

log = logging.getLogger("kamado.serving")
_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]


class HandlerThread:
    """The one thread handlers run on. A bare queue and ``call_soon_threadsafe`` rather than
    ``run_in_executor``: concurrent.futures' locks and callback chain cost a third of a
    millisecond per request on a busy two-core machine, as much as the HTTP round trip."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name="handler", daemon=True).start()

    def submit(self, fn, *args) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.jobs.put((loop, future, fn, args))
        return future

    def stop(self) -> None:
        self.jobs.put(None)

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            loop, future, fn, args = job
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting request
                loop.call_soon_threadsafe(_settle, future, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)


def _settle(future: asyncio.Future, result, exc) -> None:
    if future.cancelled():  # the request timed out and went away
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


class ModelService:
    """The model of one worker: loaded once (on a thread, so /ping can say 503 meanwhile),
    then invoked."""

    def __init__(self, handlers: Handlers, settings: ServingSettings,
                 model_dir: str | None = None) -> None:
        self.handlers = handlers
        self.settings = settings
        # a multi-model server's models each live in a directory of their own
        self.model_dir = model_dir or str(settings.model_dir)
        self.model = None
        self.error: BaseException | None = None
        self.loaded = threading.Event()
        self.worker = HandlerThread()

    def load(self) -> None:
        try:
            self.model = self.handlers.load(self.model_dir)
        except BaseException as exc:  # noqa: BLE001 - reported by the server, which exits
            self.error = exc
            raise
        finally:
            self.loaded.set()

    @property
    def ready(self) -> bool:
        return self.loaded.is_set() and self.error is None

    def invoke(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, list]:
        """(status, body, extra headers) of one invocation; never raises."""
        context = Context(headers, self.model_dir)
        try:
            accept = resolve_accept(headers.get("accept"), self._default_accept())
            payload, content_type = self.handlers.invoke(
                self.model, body, headers.get("content-type"), accept, context)
        except InferenceError as exc:
            if exc.status_code >= 500:
                log.error("invocation failed: %s", exc.message)
            return exc.status_code, exc.message.encode(), _TEXT
        except Exception as exc:  # noqa: BLE001 - any handler failure is the model's 500
            trace = traceback.format_exc()
            print(trace, file=sys.stderr, flush=True)
            message = f"{type(exc).__name__}: {exc}\n{trace}"
            return 500, message.encode(), _TEXT
        extra = [(b"content-type", content_type.encode("latin-1"))]
        extra += [(k.lower().encode("latin-1"), v.encode("latin-1"))
                  for k, v in context.response_headers.items()]
        return 200, payload, extra

    def _default_accept(self) -> str:
        return self.settings.default_accept or self.handlers.default_accept




class ModelServerApp:
    def __init__(self, service: ModelService) -> None:
        self.service = service
        self.max_body = service.settings.max_payload_bytes
        self.timeout = service.settings.timeout
        # kamado's batch fast path: a batch transform's server with a built-in's handlers
        self.batch = (service.settings.batch and service.settings.batch_fast_path
                      and bool(service.settings.batch_token)
                      and service.handlers.batch_fn is not None)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/ping":
            if method not in ("GET", "HEAD"):
                return await _reply(send, 405, b"", _TEXT)
            if self.service.ready:
                return await _reply(send, 200, b"", [])
            return await _reply(send, 503, b"The model is loading.\n" if self.service.error is None
                                else b"The model failed to load.\n", _TEXT)
        if path == "/invocations":
            if method != "POST":
                return await _reply(send, 405, b"", _TEXT)
            return await self._invocations(scope, receive, send)
        if path == batch.ROUTE and self.batch:
            if method != "POST":
                return await _reply(send, 405, b"", _TEXT)
            return await self._batch(receive, send)
        if path == "/execution-parameters" and self.service.handlers.execution_parameters:
            body = json.dumps(self.service.handlers.execution_parameters(
                self.service.settings)).encode()
            return await _reply(send, 200, body, [(b"content-type", b"application/json")])
        await _reply(send, 404, b"Not found: this container serves /ping and /invocations.\n",
                     _TEXT)

    async def _loaded(self) -> bool:
        """Whether the model is loaded, waiting (up to the invocation timeout) while it loads.
        With several workers /ping is answered by whichever worker takes the connection, so a
        request can reach a worker still loading after another one said 200."""
        service = self.service
        if service.ready or service.error is not None:
            return service.ready
        await asyncio.to_thread(service.loaded.wait, self.timeout)
        return service.ready

    async def _invocations(self, scope, receive, send) -> None:
        if not await self._loaded():
            return await _reply(send, 503, b"The model is not loaded yet.\n", _TEXT)
        body = await _read_body(receive, self.max_body)
        if body is None:
            return await _reply(send, 413, f"The request body is larger than "
                                f"SAGEMAKER_MAX_PAYLOAD_IN_MB ({self.max_body >> 20} MB).\n"
                                .encode(), _TEXT)
        headers = {}
        for key, value in scope["headers"]:
            name = key.decode("latin-1")
            if name in ("content-type", "accept", CUSTOM_ATTRIBUTES.lower()) \
                    or name.startswith("x-amzn-"):
                headers[name] = value.decode("latin-1")
        job = self.service.worker.submit(self.service.invoke, body, headers)
        try:
            status, payload, extra = await asyncio.wait_for(job, self.timeout)
        except asyncio.TimeoutError:
            # The handler thread cannot be stopped; the next request waits for it to finish.
            return await _reply(send, 408, f"The model did not answer within {self.timeout} s "
                                "(SAGEMAKER_MODEL_SERVER_TIMEOUT).\n".encode(), _TEXT)
        await _reply(send, status, payload, extra)

    async def _batch(self, receive, send) -> None:
        """kamado's own batch transform fast path (:mod:`kamado.serving.batch`)."""
        if not await self._loaded():
            return await _reply(send, 503, b"The model is not loaded yet.\n", _TEXT)
        try:
            request = json.loads(await _read_body(receive, None))
            accept = resolve_accept(request.get("accept"), self.service._default_accept())
        except (ValueError, AttributeError) as exc:
            return await _reply(send, 400, f"Not a batch request: {exc}\n".encode(), _TEXT)
        # It reads and writes files: only for the job that started this server, which alone
        # knows the token (any local user can reach a loopback port).
        if not hmac.compare_digest(str(request.get("token", "")).encode(),
                                   self.service.settings.batch_token.encode()):
            return await _reply(send, 403, b"Not this server's job.\n", _TEXT)
        service = self.service
        cancelled = threading.Event()
        job = service.worker.submit(batch.answer, service.handlers.batch_fn, service.model,
                                    request, accept, self.max_body, cancelled)
        try:
            # as long as each of its mini-batches may take as an invocation
            ranges = request.get("ranges")
            timeout = self.timeout * max(1, len(ranges) if isinstance(ranges, list) else 1)
            body, records, size = await asyncio.wait_for(job, timeout)
        except asyncio.TimeoutError:
            cancelled.set()
            return await _reply(send, 408, b"The batch took too long.\n", _TEXT)
        except batch.Declined as exc:
            return await _reply(send, exc.status, f"{exc}\n".encode(), _TEXT)
        except Exception as exc:  # noqa: BLE001 - the job sends these batches the ordinary way
            log.exception("the batch fast path failed")
            return await _reply(send, 500, f"{type(exc).__name__}: {exc}\n".encode(), _TEXT)
        await _reply(send, 200, body, [(b"content-type", b"application/octet-stream"),
                                       (batch.RECORDS_HEADER.lower().encode(),
                                        str(records).encode()),
                                       (batch.BYTES_HEADER.lower().encode(),
                                        str(size).encode())])

    async def _lifespan(self, receive, send) -> None:
        await lifespan(receive, send, lambda: self.service.worker.stop())


async def lifespan(receive, send, on_shutdown) -> None:
    """ASGI lifespan for a model server: nothing to start; ``on_shutdown()`` at the end."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive, limit: int | None) -> bytes | None:
    """The whole body, or None once it passes ``limit`` bytes."""
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body"):
        return None if limit is not None and len(body) > limit else body
    parts, size = [body], len(body)
    while message.get("more_body"):
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


async def _reply(send, status: int, body: bytes, headers: list) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
