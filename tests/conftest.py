"""Shared fixtures: a real `kamado server` process on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig

from kamado.credentials import _read_ini_section

PG_URL = os.environ.get("KAMADO_TEST_DATABASE_URL", "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KamadoServer:
    """A kamado server in its own process, as a user starts it."""

    def __init__(self, home: Path, database_url: str = "", region: str = "us-east-1",
                 extra_env: dict[str, str] | None = None) -> None:
        self.home = home
        self.extra_env = extra_env or {}
        self.port = free_port()
        self.region = region
        self.database_url = database_url
        self.aws_dir = home.parent / f"{home.name}-aws"
        self.proc: subprocess.Popen | None = None
        self.log_path = home.parent / f"{home.name}-server.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAMADO_", "AWS_"))}
        env.update(KAMADO_HOME=str(self.home), KAMADO_PORT=str(self.port),
                   AWS_SHARED_CREDENTIALS_FILE=str(self.aws_dir / "credentials"),
                   AWS_CONFIG_FILE=str(self.aws_dir / "config"))
        if self.database_url:
            env["KAMADO_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60.0) -> "KamadoServer":
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "kamado.cli.main", "server"],
                                     env=self.env(), stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kamado server exited with {self.proc.returncode}:\n"
                                   + self.log_path.read_text()[-4000:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)  # polling for the port to open, not synchronising on a guess
        raise RuntimeError("kamado server did not open its port:\n" + self.log_path.read_text()[-4000:])

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout)
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    @property
    def keys(self) -> tuple[str, str]:
        section = _read_ini_section(self.home / "credentials", "kamado")
        return section["aws_access_key_id"], section["aws_secret_access_key"]

    def client(self, service: str, region: str | None = None, **config):
        akid, secret = self.keys
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=region or self.region,
            aws_access_key_id=akid, aws_secret_access_key=secret,
            config=BotoConfig(retries={"max_attempts": 1}, **config))


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> KamadoServer:
    srv = KamadoServer(tmp_path_factory.mktemp("kamado") / "home").start()
    yield srv
    srv.stop()


@pytest.fixture
def fresh_server(tmp_path) -> KamadoServer:
    """A server of one's own, for tests that kill or restart it."""
    srv = KamadoServer(tmp_path / "home")
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        srv.stop()


@pytest.fixture(scope="session")
def sm(server):
    return server.client("sagemaker")


@pytest.fixture(scope="session")
def s3(server):
    return server.client("s3")


def wait_status(describe, status_of, statuses, what: str, timeout: float) -> dict:
    """Poll ``describe()`` (as a client does) until ``status_of(answer)`` is in ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        answer = describe()
        status = status_of(answer)
        if status in statuses:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} is still {status} after {timeout}s")
        time.sleep(0.05)
