"""A serving container as the platform starts one: a job directory whose ``model/`` holds
the model, ``SAGEMAKER_BASE_DIR`` and ``SAGEMAKER_BIND_TO_PORT`` set, the image's ``serve``
program as a subprocess; readiness by polling ``/ping`` against a deadline."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import free_port

START_DEADLINE = 60.0


class Container:
    def __init__(self, image: str, base: Path, env: dict[str, str] | None = None) -> None:
        self.image, self.base = image, base
        self.port = free_port()
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("SAGEMAKER_")},
                    "SAGEMAKER_BASE_DIR": str(base), "SAGEMAKER_BIND_TO_PORT": str(self.port),
                    **(env or {})}
        self.log = base.parent / f"{base.name}-serve.log"
        self.proc: subprocess.Popen | None = None
        self._conn: http.client.HTTPConnection | None = None

    def command(self) -> list[str]:
        return [sys.executable, "-m", f"kamado.images.{self.image}", "serve"]

    def spawn(self) -> subprocess.Popen:
        self._log = open(self.log, "wb")
        self.proc = subprocess.Popen(self.command(), env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        return self.proc

    def start(self) -> "Container":
        self.spawn()
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}:\n{self.output()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/ping")
                if conn.getresponse().status == 200:
                    conn.close()
                    return self
                conn.close()
            except OSError:
                pass
            time.sleep(0.05)  # polling /ping against the deadline, not waiting on a guess
        raise RuntimeError(f"serve never answered /ping with 200:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def request(self, method: str, path: str, body: bytes = b"",
                headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
        """One request on a kept-alive connection, as the router holds them."""
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self._conn.request(method, path, body, headers or {})
                response = self._conn.getresponse()
                return (response.status, {k.lower(): v for k, v in response.getheaders()},
                        response.read())
            except (ConnectionError, http.client.HTTPException):
                self._conn.close()
                self._conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def invoke(self, body: bytes | str, content_type: str | None = None,
               accept: str | None = None, **headers) -> tuple[int, dict, bytes]:
        h = dict(headers)
        if content_type:
            h["Content-Type"] = content_type
        if accept:
            h["Accept"] = accept
        return self.request("POST", "/invocations",
                            body.encode() if isinstance(body, str) else body, h)

    def stop(self) -> int:
        if self._conn is not None:
            self._conn.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        self._log.close()
        return self.proc.returncode


def make_job(base: Path, hp: dict, X: np.ndarray, y: np.ndarray) -> Path:
    config = base / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps({k: str(v) for k, v in hp.items()}))
    folder = base / "input" / "data" / "train"
    folder.mkdir(parents=True)
    np.savetxt(folder / "train.csv", np.column_stack([y, X]), delimiter=",", fmt="%.9g")
    (config / "inputdataconfig.json").write_text(json.dumps(
        {"train": {"ContentType": "text/csv", "TrainingInputMode": "File"}}))
    (config / "resourceconfig.json").write_text(json.dumps(
        {"current_host": "algo-1", "hosts": ["algo-1"]}))
    return base


def train(image: str, base: Path) -> Path:
    result = subprocess.run([sys.executable, "-m", f"kamado.images.{image}", "train"],
                            env={**os.environ, "SAGEMAKER_BASE_DIR": str(base)},
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return base / "model"


@pytest.fixture(scope="session")
def features() -> np.ndarray:
    rng = np.random.default_rng(11)
    # float32 throughout and printed with 9 digits: every format carries the same numbers
    return rng.normal(size=(400, 6)).astype(np.float32)


def csv_rows(X: np.ndarray) -> str:
    return "\n".join(",".join(f"{v:.9g}" for v in row) for row in X)
