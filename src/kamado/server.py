"""Running the gateway under uvicorn: the `kamado server` command and the tests use this."""

from __future__ import annotations

import logging
import sys

import uvicorn

from kamado.config import Config
from kamado.credentials import write_profile
from kamado.gateway.app import create_app
from kamado.platform import Platform


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("kamado")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def build(config: Config) -> tuple[Platform, object]:
    platform = Platform(config)
    return platform, create_app(platform)


def serve(config: Config, *, announce=print, log_level: str = "INFO") -> None:
    configure_logging(log_level)
    platform, app = build(config)
    profile_files = None
    if config.write_aws_profile:
        profile_files = write_profile(config, platform.access_key_id, platform.secret_for(
            platform.access_key_id))
    announce(config, platform, profile_files)
    server = uvicorn.Server(uvicorn.Config(
        app, host=config.host, port=config.port, log_level="warning", access_log=False,
        lifespan="on", timeout_graceful_shutdown=10))
    try:
        server.run()  # uvicorn installs SIGINT/SIGTERM handlers and drains in-flight requests
    finally:
        platform.close()
        logging.getLogger("kamado").info("kamado server stopped")
