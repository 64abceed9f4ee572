"""The container side of a multi-model endpoint (``SAGEMAKER_MULTI_MODEL=true``,
inference-contract.md §8): the multi-model-server API the platform drives.

| Call | Answer |
|---|---|
| ``POST /models`` ``{"model_name": …, "url": <directory>}`` | 200 loaded; 409 already loaded (or loading); 400 no such directory; 507 out of memory; 500 the model cannot be loaded |
| ``GET /models[?limit=N&next_page_token=T]`` | ``{"models": [{"modelName", "modelUrl"}], "nextPageToken"?}`` |
| ``GET /models/<name>`` | ``{"modelName", "modelUrl"}`` or 404 |
| ``DELETE /models/<name>`` | 200 or 404 |
| ``POST /models/<name>/invoke`` (also ``POST /invocations?model_name=<name>``) | as ``/invocations`` of a single-model server; 404 when not loaded |

Each loaded model has handlers of its own — the image's defaults under the script in its own
``code/`` directory when it has one — and a thread of its own, on which it is loaded and
invoked (one request at a time per model, as the multi-model server's one worker per model).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Callable
from urllib.parse import parse_qs

from kamado.serving.app import ModelServerApp, ModelService, _read_body, _reply, lifespan
from kamado.serving.errors import ModelLoadError
from kamado.serving.handlers import HandlerError, Handlers
from kamado.serving.settings import ServingSettings
from kamado.serving.usercode import DEFAULT_PROGRAM, code_directory

log = logging.getLogger("kamado.serving")
_JSON = [(b"content-type", b"application/json")]
PAGE_LIMIT = 100  # the multi-model server's default and largest page


def _module_from_file(path: Path, unique: str) -> ModuleType:
    """The script under a module name of its own: every model's ``inference.py`` would
    otherwise be one ``sys.modules["inference"]``, and the second model would get the first
    one's functions. Its directory goes first on sys.path so its helper modules import."""
    directory = str(path.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(unique, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - any error in the user's module fails the load
        sys.modules.pop(unique, None)
        raise ModelLoadError(f"The inference script {path.name} failed to import: "
                             f"{type(exc).__name__}: {exc}") from exc
    return module


def handlers_builder(defaults: str | None, script: str,
                     settings: ServingSettings) -> Callable[[str, Path], Handlers]:
    """``build(name, model_dir)``: one model's handlers. ``script`` as for a single model:
    "none" (the image's handlers only), "optional" (the model's ``code/<SAGEMAKER_PROGRAM or
    inference.py>`` when it has one) or "required". A model without a script of its own gets
    the one ``SAGEMAKER_SUBMIT_DIRECTORY`` names, shared by all (the SDK's MultiDataModel puts
    its ``entry_point`` there)."""
    default_module = importlib.import_module(defaults) if defaults else None
    program = settings.program or DEFAULT_PROGRAM
    shared: list[ModuleType | None] = []
    lock = threading.Lock()  # models load on threads of their own

    def shared_script() -> ModuleType | None:
        with lock:
            if not shared:
                path = code_directory(settings) / program
                shared.append(_module_from_file(path, "_kamado_shared_" + path.stem)
                              if path.is_file() else None)
            return shared[0]

    def build(name: str, model_dir: Path) -> Handlers:
        user = None
        if script != "none":
            path = model_dir / "code" / program
            if path.is_file():
                unique = f"_kamado_model_{name}_{path.stem}".replace("-", "_").replace(".", "_")
                user = _module_from_file(path, unique)
            elif settings.submit_directory:
                user = shared_script()
            if user is None and script == "required":
                raise ModelLoadError(f"The inference script {program} is not in the model's "
                                     "code/ directory (nor in SAGEMAKER_SUBMIT_DIRECTORY).")
        if user is None and default_module is None:
            raise ModelLoadError("No handlers: give an inference script in the model's code/ "
                                 "directory.")
        return Handlers.from_modules(user, default_module)
    return build


class MultiModelApp:
    def __init__(self, build: Callable[[str, Path], Handlers], settings: ServingSettings) -> None:
        self.build, self.settings = build, settings
        self.models: dict[str, ModelService] = {}
        self.apps: dict[str, ModelServerApp] = {}
        self.loading: set[str] = set()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/ping":
            return await _reply(send, 200, b"", [])
        if path == "/models":
            if method == "POST":
                return await self._load(scope, receive, send)
            if method == "GET":
                return await self._list(scope, send)
            return await _reply(send, 405, b"", [])
        if path == "/invocations" and method == "POST":
            name = (parse_qs(scope.get("query_string", b"").decode("latin-1"))
                    .get("model_name") or [""])[0]
            return await self._invoke(name, scope, receive, send)
        if path.startswith("/models/"):
            name = path[len("/models/"):]
            if method == "POST" and name.endswith("/invoke"):
                return await self._invoke(name[:-len("/invoke")], scope, receive, send)
            if method == "GET":
                if name not in self.models:
                    return await _message(send, 404, f"Model not found: {name}")
                return await _json(send, 200, self._describe(name))
            if method == "DELETE":
                return await self._unload(name, send)
            return await _reply(send, 405, b"", [])
        await _message(send, 404, "Not found: this multi-model container serves /ping, "
                       "/models and /models/<name>/invoke.")

    def _describe(self, name: str) -> dict:
        return {"modelName": name, "modelUrl": self.models[name].model_dir}

    async def _list(self, scope, send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        try:
            limit = min(int((query.get("limit") or [PAGE_LIMIT])[0]), PAGE_LIMIT)
            start = int((query.get("next_page_token") or [0])[0])
        except ValueError:
            return await _message(send, 400, "limit and next_page_token must be integers.")
        if limit < 1 or start < 0:
            return await _message(send, 400, "limit must be positive, next_page_token not "
                                  "negative.")
        names = sorted(self.models)
        out: dict = {"models": [self._describe(n) for n in names[start:start + limit]]}
        if start + limit < len(names):
            out["nextPageToken"] = str(start + limit)
        await _json(send, 200, out)

    async def _load(self, scope, receive, send) -> None:
        body = await _read_body(receive, 1 << 20)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        try:
            request = json.loads(body) if body and body.strip() else {}
        except ValueError:
            return await _message(send, 400, "The body must be JSON: "
                                  '{"model_name": ..., "url": ...}.')
        if not isinstance(request, dict):
            return await _message(send, 400, "The body must be a JSON object.")
        name = request.get("model_name") or (query.get("model_name") or [""])[0]
        url = request.get("url") or (query.get("url") or [""])[0]
        if not name or not url or not isinstance(name, str) or not isinstance(url, str):
            return await _message(send, 400, "model_name and url are required.")
        if name in self.models or name in self.loading:
            return await _message(send, 409, f"Model {name} is already loaded.")
        if not Path(url).is_dir():
            return await _message(send, 400, f"Model directory {url} does not exist.")
        self.loading.add(name)
        service = ModelService(None, self.settings, model_dir=url)
        started = time.monotonic()
        rss = _rss()

        def load() -> None:
            # the model's own thread: a script may keep thread-bound state between
            # model_fn and its invocations
            service.handlers = self.build(name, Path(url))
            service.load()
        try:
            await service.worker.submit(load)
        except MemoryError:
            service.worker.stop()
            return await _message(send, 507, f"Not enough memory to load model {name}.")
        except (ModelLoadError, HandlerError) as exc:
            service.worker.stop()
            return await _message(send, 500, f"Model {name} cannot be loaded: {exc}")
        except Exception as exc:  # noqa: BLE001 - the model's model_fn failed
            service.worker.stop()
            log.exception("model %s failed to load", name)
            return await _message(send, 500, f"Model {name} cannot be loaded: "
                                  f"{type(exc).__name__}: {exc}")
        finally:
            self.loading.discard(name)
        self.models[name] = service
        self.apps[name] = ModelServerApp(service)
        log.info("model %s loaded from %s in %.3f s (resident memory %+.1f MB)", name, url,
                 time.monotonic() - started, (_rss() - rss) / 2**20)
        await _message(send, 200, f'Model "{name}" loaded.')

    async def _unload(self, name: str, send) -> None:
        service = self.models.pop(name, None)
        self.apps.pop(name, None)
        if service is None:
            return await _message(send, 404, f"Model not found: {name}")
        # the thread ends after the requests already queued for it; then the model is garbage
        service.worker.stop()
        log.info("model %s unloaded", name)
        await _message(send, 200, f'Model "{name}" unregistered.')

    async def _invoke(self, name: str, scope, receive, send) -> None:
        app = self.apps.get(name)
        if app is None:
            return await _message(send, 404, f"Model not found: {name}")
        await app._invocations(scope, receive, send)

    async def _lifespan(self, receive, send) -> None:
        def stop_all() -> None:
            for service in self.models.values():
                service.worker.stop()
        await lifespan(receive, send, stop_all)


def _rss() -> int:
    """This process's resident memory in bytes (0 where /proc is not there)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


async def _json(send, status: int, value) -> None:
    await _reply(send, status, json.dumps(value).encode(), _JSON)


async def _message(send, status: int, text: str) -> None:
    await _json(send, status, {"code": status, "message": text})


def run_multi_model(sock, defaults: str | None, script: str, settings: ServingSettings) -> int:
    import uvicorn

    try:
        build = handlers_builder(defaults, script, settings)
    except ImportError as exc:
        print(f"kamado model server: the handler module cannot be imported: {exc}",
              file=sys.stderr, flush=True)
        return 1
    config = uvicorn.Config(MultiModelApp(build, settings), http="httptools", lifespan="on",
                            log_config=None, log_level="warning", access_log=False,
                            timeout_keep_alive=60, server_header=False, date_header=False)
    log.info("multi-model server on port %d (pid %d)", sock.getsockname()[1], os.getpid())
    uvicorn.Server(config).run(sockets=[sock])
    return 0
