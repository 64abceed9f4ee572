"""The serving environment, and the listening socket that asyncio will set TCP_NODELAY on."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from kamado.serving.server import listen
from kamado.serving.settings import ServingSettings


def test_defaults_and_sagemaker_variables(tmp_path):
    s = ServingSettings.from_env({"SAGEMAKER_BASE_DIR": str(tmp_path)})
    assert (s.port, s.host, s.timeout, s.workers, s.program) == (8080, "127.0.0.1", 60, 1, None)
    assert s.model_dir == tmp_path / "model"
    s = ServingSettings.from_env({
        "SAGEMAKER_BASE_DIR": str(tmp_path), "SAGEMAKER_BIND_TO_PORT": "9001",
        "SAGEMAKER_PROGRAM": "serve.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT": "5", "SAGEMAKER_MODEL_SERVER_WORKERS": "3",
        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv", "SAGEMAKER_MAX_PAYLOAD_IN_MB": "2"})
    assert (s.port, s.program, s.submit_directory, s.timeout, s.workers, s.default_accept,
            s.max_payload_bytes) == (9001, "serve.py", "/opt/ml/model/code", 5, 3, "text/csv",
                                     2 << 20)


def test_base_dir_defaults_to_opt_ml(monkeypatch):
    monkeypatch.delenv("SAGEMAKER_BASE_DIR", raising=False)
    assert ServingSettings.from_env({}).base == Path("/opt/ml")


@pytest.mark.parametrize("name,value", [("SAGEMAKER_BIND_TO_PORT", "http"),
                                        ("SAGEMAKER_MODEL_SERVER_WORKERS", "0")])
def test_bad_values_are_named(name, value):
    with pytest.raises(ValueError, match=name):
        ServingSettings.from_env({name: value})


def test_listening_socket_says_tcp_so_accepted_sockets_get_nodelay():
    sock = listen("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        client = socket.create_connection(sock.getsockname())
        accepted, _ = sock.accept()
        # what asyncio's _set_nodelay checks before setting TCP_NODELAY
        assert accepted.proto == socket.IPPROTO_TCP
        accepted.close()
        client.close()
    finally:
        sock.close()
