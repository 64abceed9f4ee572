"""Running the gateway under uvicorn: the `kamado server` command and the tests use this."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import sys
import threading

import uvicorn

from kamado.config import Config
from kamado.credentials import write_profile
from kamado.gateway.app import create_app
from kamado.platform import Platform
from kamado.sockets import tcp_socket


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("kamado")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


class _Server(uvicorn.Server):
    """uvicorn's server, except that a stop signal ends `run()` normally: uvicorn re-raises the
    captured signal after draining, which would kill the process before the platform closes."""

    @contextlib.contextmanager
    def capture_signals(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit)
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class CannotListen(RuntimeError):
    """The port is taken or the address is not this machine's: nothing was started."""


def listen(host: str, port: int) -> socket.socket:
    """Bind the server's socket before anything else starts, so a busy port fails cleanly."""
    try:
        return tcp_socket(host, port)  # not yet listening: refused until the platform is ready
    except OSError as exc:
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def build(config: Config) -> tuple[Platform, object]:
    platform = Platform(config)
    return platform, create_app(platform)


def serve(config: Config, *, announce=print, log_level: str = "INFO") -> None:
    configure_logging(log_level)
    sock = listen(config.host, config.port)
    platform, app = build(config)
    profile_files = None
    if config.write_aws_profile:
        profile_files = write_profile(config, platform.access_key_id, platform.secret_for(
            platform.access_key_id))
    announce(config, platform, profile_files)
    platform.start()
    server = _Server(uvicorn.Config(
        app, host=config.host, port=config.port, log_level="warning", access_log=False,
        lifespan="on", timeout_graceful_shutdown=10))
    try:
        server.run(sockets=[sock])  # drains in-flight requests on SIGINT/SIGTERM
    finally:
        sock.close()
        platform.close()
        logging.getLogger("kamado").info("kamado server stopped")


@contextlib.contextmanager
def embedded(home, **settings):
    """A kamado server inside this process on a free loopback port, for as long as the
    ``with`` lasts: ``(config, platform)``. Nothing is written outside ``home``."""
    sock = tcp_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = Config.load(home, _home_flag=True, host="127.0.0.1", port=port,
                         write_aws_profile=False, **settings)
    platform, app = build(config)
    platform.start()
    server = _Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                    lifespan="on", timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="kamado-embedded")
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the embedded kamado server did not start")
            thread.join(0.01)
        yield config, platform
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
        platform.close()
