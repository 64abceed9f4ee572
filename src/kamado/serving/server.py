"""Starting a model server: the listening socket, the handlers, uvicorn, and — when
``SAGEMAKER_MODEL_SERVER_WORKERS`` asks for more than one — a supervisor whose workers share
the socket (each worker is this same program, started again, so each loads its own model
without forking a process that already holds XGBoost's or torch's threads).

Exit status: 0 after a clean stop (SIGTERM), 1 when the model cannot be loaded (the reason on
stderr), 2 for a bad serving environment.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import socket
import sys
import threading
import time

from kamado.serving.app import ModelServerApp, ModelService
from kamado.serving.errors import ModelLoadError
from kamado.serving.handlers import HandlerError, Handlers
from kamado.serving.settings import ServingSettings
from kamado.serving.usercode import load_user_module
from kamado.sockets import tcp_socket

log = logging.getLogger("kamado.serving")
SCRIPT_MODES = ("none", "optional", "required")


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound before the model loads so that a busy port fails at once."""
    sock = tcp_socket(host, port)
    try:
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


def build_handlers(defaults: str | None, script: str, settings: ServingSettings) -> Handlers:
    """The image's default handlers (a module name) under the user's script, if any.
    ``script``: "none" (a built-in algorithm), "optional" (script mode when
    SAGEMAKER_PROGRAM names one) or "required" (a framework image)."""
    if script not in SCRIPT_MODES:
        raise ValueError(f"script must be one of {SCRIPT_MODES}")
    default_module = importlib.import_module(defaults) if defaults else None
    user = None
    if script == "required" or (script == "optional" and settings.program):
        user = load_user_module(settings, required=True)
    elif script == "none" and settings.program:
        log.warning("SAGEMAKER_PROGRAM=%s is ignored: this image serves its built-in "
                    "algorithm", settings.program)
    if user is None and default_module is None:
        raise ModelLoadError("No handlers: give an inference script or a handler module.")
    return Handlers.from_modules(user, default_module)


def preload() -> None:
    """What every model server loads before it serves: uvicorn and the modules it loads
    when it starts. A fork server preloads this for its image's model servers
    (``kamado.images.registry``), a multi-worker server before it forks its workers."""
    for module in ("uvicorn", "uvicorn.protocols.http.httptools_impl", "uvicorn.lifespan.on"):
        importlib.import_module(module)


def _fail(message: str, code: int = 1) -> int:
    print(f"kamado model server: {message}", file=sys.stderr, flush=True)
    return code


def serve(defaults: str | None = None, script: str = "required") -> int:
    """Run one container's model server until SIGTERM; see the module's exit statuses."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="[%(asctime)s %(levelname)s %(name)s] %(message)s")
    try:
        settings = ServingSettings.from_env()
    except ValueError as exc:
        return _fail(f"bad serving environment: {exc}", 2)
    try:
        sock = listen(settings.host, settings.port)
    except OSError as exc:
        return _fail(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}")
    # One process for a multi-model server: the platform loads a model into the process it
    # talks to, and workers of their own would each hold a different set.
    if settings.workers > 1 and not settings.multi_model:
        # The handlers' modules are imported once, here; the workers are forked from this
        # process with them loaded (a fresh interpreter each would take seconds), uvicorn
        # too.
        preload()
        try:
            handlers = build_handlers(defaults, script, settings)
        except (ModelLoadError, HandlerError) as exc:
            return _fail(f"the model cannot be loaded: {exc}")
        return supervise(sock, settings.workers, lambda: run_worker(sock, handlers, settings))
    if settings.multi_model:
        from kamado.serving.models_api import run_multi_model

        return run_multi_model(sock, defaults, script, settings)
    try:
        handlers = build_handlers(defaults, script, settings)
    except (ModelLoadError, HandlerError) as exc:
        return _fail(f"the model cannot be loaded: {exc}")
    return run_worker(sock, handlers, settings)


def _prompt_server():
    """uvicorn's server, stopping as soon as it is told to. uvicorn looks for a stop request
    every 0.1 s and then pauses 0.1 s for open connections even when there are none: a
    fifth of a second at the end of every batch transform job, which waits for its servers
    to stop before it says it ended."""
    import asyncio

    import uvicorn

    class PromptServer(uvicorn.Server):
        _wake: asyncio.Event | None = None
        _loop: asyncio.AbstractEventLoop | None = None

        def handle_exit(self, sig, frame) -> None:
            super().handle_exit(sig, frame)
            if self._loop is not None and self._wake is not None:
                try:
                    self._loop.call_soon_threadsafe(self._wake.set)
                except RuntimeError:  # the loop has closed: nothing left to wake
                    pass

        async def main_loop(self) -> None:
            self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
            counter = 0
            while not await self.on_tick(counter):
                counter = (counter + 1) % 864000
                try:
                    await asyncio.wait_for(self._wake.wait(), 0.1)
                except asyncio.TimeoutError:
                    pass

        async def shutdown(self, sockets=None) -> None:
            # uvicorn's own steps, waiting for connections only while some are open
            for server in self.servers:
                server.close()
            for sock in sockets or []:
                sock.close()
            state = self.server_state
            for connection in list(state.connections):
                connection.shutdown()
            loop = asyncio.get_running_loop()
            grace = self.config.timeout_graceful_shutdown
            deadline = None if grace is None else loop.time() + grace
            while ((state.connections or state.tasks) and not self.force_exit
                   and (deadline is None or loop.time() < deadline)):
                await asyncio.sleep(0.005)
            for task in list(state.tasks):
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
            for server in self.servers:
                await server.wait_closed()
            if not self.force_exit:
                await self.lifespan.shutdown()
    return PromptServer


def run_worker(sock: socket.socket, handlers: Handlers, settings: ServingSettings) -> int:
    import uvicorn

    service = ModelService(handlers, settings)
    config = uvicorn.Config(ModelServerApp(service), http="httptools", lifespan="on",
                            log_config=None, log_level="warning", access_log=False,
                            timeout_keep_alive=60, server_header=False, date_header=False)
    server = _prompt_server()(config)

    def load() -> None:
        started = time.monotonic()
        try:
            service.load()
        except BaseException:  # noqa: BLE001 - reported below, after the server stops
            server.should_exit = True
            return
        log.info("model loaded from %s in %.2f s; serving on port %d (pid %d)",
                 settings.model_dir, time.monotonic() - started, sock.getsockname()[1],
                 os.getpid())

    # The model loads while the server already answers /ping with 503, as a container that
    # is up but not yet healthy does.
    threading.Thread(target=load, name="model-loader", daemon=True).start()
    server.run(sockets=[sock])
    if service.error is not None:
        exc = service.error
        detail = exc.message if hasattr(exc, "message") else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, (ModelLoadError, HandlerError)):
            import traceback

            traceback.print_exception(exc)
        return _fail(f"the model cannot be loaded from {settings.model_dir}: {detail}")
    return 0


def supervise(sock: socket.socket, workers: int, worker) -> int:
    """Fork ``workers`` processes that each run ``worker()`` on the shared socket; stop them
    all on SIGTERM, or when one fails (a worker that cannot load the model means none can)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pids: dict[int, int | None] = {}
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                code = worker()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        pids[pid] = None
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        for pid, code in pids.items():
            if code is None:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    while any(code is None for code in pids.values()):
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        code = os.waitstatus_to_exitcode(code)
        if pid in pids:
            pids[pid] = code
        if code != 0 and not stopping:
            status = code if code > 0 else 1
            stop(None, None)
    sock.close()
    return status
