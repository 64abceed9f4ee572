"""A worker that is still loading its model when a request reaches it: with several workers
/ping is answered by whichever worker takes the connection, so an invocation can arrive at a
worker that has not finished loading after another one said 200. It waits for the load."""

from __future__ import annotations

import asyncio
import json
import threading

from kamado.serving import defaults
from kamado.serving.app import ModelServerApp, ModelService
from kamado.serving.handlers import Handlers
from kamado.serving.settings import ServingSettings

from tests.unit.serving.test_handlers import Doubler, module


async def call(app: ModelServerApp, body: bytes) -> tuple[int, bytes]:
    scope = {"type": "http", "path": "/invocations", "method": "POST",
             "headers": [(b"content-type", b"application/json"), (b"accept", b"application/json")]}
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_an_invocation_waits_for_the_model_its_worker_is_loading(tmp_path):
    release = threading.Event()

    def model_fn(model_dir):
        release.wait(30)
        return Doubler()

    handlers = Handlers.from_modules(module("user", model_fn=model_fn), defaults)
    service = ModelService(handlers, ServingSettings(base=tmp_path))
    app = ModelServerApp(service)

    async def scenario():
        request = asyncio.create_task(call(app, json.dumps([[1, 2]]).encode()))
        await asyncio.sleep(0)  # one turn of the loop: the request now sees a model not loaded
        assert not request.done() and not service.ready
        loader = threading.Thread(target=service.load)
        loader.start()
        release.set()
        status, body = await request
        loader.join()
        return status, body

    status, body = asyncio.run(scenario())
    assert status == 200 and json.loads(body) == [[2, 4]]


def test_a_model_that_failed_to_load_answers_503_at_once(tmp_path):
    def model_fn(model_dir):
        raise ValueError("no such model")

    handlers = Handlers.from_modules(module("user", model_fn=model_fn), defaults)
    service = ModelService(handlers, ServingSettings(base=tmp_path, timeout=600))
    try:
        service.load()
    except ValueError:
        pass
    status, body = asyncio.run(call(ModelServerApp(service), b"[[1]]"))
    assert status == 503 and b"not loaded" in body
