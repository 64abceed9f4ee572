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
import subprocess
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
WORKER_FD = "KAMADO_SERVING_LISTEN_FD"  # set for the workers of a supervisor
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
    inherited = os.environ.get(WORKER_FD)
    if inherited is None:
        try:
            sock = listen(settings.host, settings.port)
        except OSError as exc:
            return _fail(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}")
        # One process for a multi-model server: the platform loads a model into the process
        # it talks to, and workers of their own would each hold a different set.
        if settings.workers > 1 and not settings.multi_model:
            return supervise(sock, settings.workers)
    else:
        sock = socket.socket(fileno=int(inherited))
    if settings.multi_model:
        from kamado.serving.models_api import run_multi_model

        return run_multi_model(sock, defaults, script, settings)
    try:
        handlers = build_handlers(defaults, script, settings)
    except (ModelLoadError, HandlerError) as exc:
        return _fail(f"the model cannot be loaded: {exc}")
    return run_worker(sock, handlers, settings)


def run_worker(sock: socket.socket, handlers: Handlers, settings: ServingSettings) -> int:
    import uvicorn

    service = ModelService(handlers, settings)
    config = uvicorn.Config(ModelServerApp(service), http="httptools", lifespan="on",
                            log_config=None, log_level="warning", access_log=False,
                            timeout_keep_alive=60, server_header=False, date_header=False)
    server = uvicorn.Server(config)

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


def _this_program() -> list[str]:
    """The command line that started this program. Not ``sys.orig_argv``: a program forked
    from kamado's fork server (kamado.engine.forkserver) has the fork server's there, and
    runs as ``python -m <package>`` with its arguments in sys.argv."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        return [sys.executable, "-m", spec.name.removesuffix(".__main__"), *sys.argv[1:]]
    return [sys.executable, *sys.orig_argv[1:]]


def supervise(sock: socket.socket, workers: int) -> int:
    """Start ``workers`` copies of this program on the shared socket; stop them all on
    SIGTERM, or when one fails (a worker that cannot load the model means none can)."""
    sock.set_inheritable(True)
    env = {**os.environ, WORKER_FD: str(sock.fileno())}
    command = _this_program()
    procs = [subprocess.Popen(command, env=env, pass_fds=(sock.fileno(),))
             for _ in range(workers)]
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    while any(p.poll() is None for p in procs):
        pid, code = os.wait()
        code = os.waitstatus_to_exitcode(code)
        for p in procs:
            if p.pid == pid:
                p.returncode = code
        if code != 0 and not stopping:
            status = code if code > 0 else 1
            stop(None, None)
    sock.close()
    return status
