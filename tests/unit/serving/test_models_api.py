"""The multi-model container API (SAGEMAKER_MULTI_MODEL=true): a real model server process on
a loopback port, models loaded, listed, invoked and unloaded through /models."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import free_port

DEFAULTS = '''
import json
from pathlib import Path

def model_fn(model_dir):
    d = Path(model_dir)
    if (d / "oom").exists():
        raise MemoryError("no room")
    if (d / "broken").exists():
        raise RuntimeError("this model is broken")
    return float((d / "weight").read_text())

def transform_fn(model, body, content_type, accept):
    return json.dumps([v * model for v in json.loads(body)]), "application/json"
'''

SCRIPT = '''
import json
from pathlib import Path

def model_fn(model_dir):
    return Path(model_dir, "weight").read_text().strip()

def transform_fn(model, body, content_type, accept):
    return json.dumps({{"script": "{who}", "weight": model}}), "application/json"
'''


def make_model(root: Path, name: str, weight: str = "2", script: str | None = None,
               marker: str | None = None) -> Path:
    d = root / name / "model"
    d.mkdir(parents=True)
    (d / "weight").write_text(weight)
    if script:
        (d / "code").mkdir()
        (d / "code" / "inference.py").write_text(SCRIPT.format(who=script))
    if marker:
        (d / marker).write_text("")
    return d


class Server:
    def __init__(self, base: Path, handlers_dir: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAGEMAKER_")}
        env.update(SAGEMAKER_BASE_DIR=str(base), SAGEMAKER_BIND_TO_PORT=str(self.port),
                   SAGEMAKER_MULTI_MODEL="true",
                   PYTHONPATH=os.pathsep.join([str(handlers_dir), env.get("PYTHONPATH", "")]))
        self.log = base / "serve.log"
        self._log = open(self.log, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "kamado.serving", "--handlers",
                                      "mme_defaults", "--script", "optional"], env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if self.call("GET", "/ping")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.05)  # polling /ping against the deadline

    def call(self, method: str, path: str, body=None, headers=None) -> tuple[int, object]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
            conn.request(method, path, body=data, headers=headers or {})
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        self._log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("mme")
    handlers = tmp_path_factory.mktemp("handlers")
    (handlers / "mme_defaults.py").write_text(textwrap.dedent(DEFAULTS))
    s = Server(base, handlers)
    yield s
    s.stop()


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "models"


def test_load_list_invoke_unload(server, root):
    assert server.call("GET", "/models") == (200, {"models": []})
    url = str(make_model(root, "a", weight="2"))
    assert server.call("POST", "/models", {"model_name": "a", "url": url})[0] == 200
    status, body = server.call("POST", "/models", {"model_name": "a", "url": url})
    assert status == 409 and "already loaded" in body["message"]
    assert server.call("GET", "/models") == (200, {"models": [{"modelName": "a",
                                                               "modelUrl": url}]})
    assert server.call("GET", "/models/a") == (200, {"modelName": "a", "modelUrl": url})
    assert server.call("POST", "/models/a/invoke", b"[1, 2.5]",
                       {"Content-Type": "application/json"}) == (200, [2.0, 5.0])
    # MMS's other spelling of an invocation
    assert server.call("POST", "/invocations?model_name=a", b"[3]",
                       {"Content-Type": "application/json"}) == (200, [6.0])
    assert server.call("DELETE", "/models/a")[0] == 200
    assert server.call("POST", "/models/a/invoke", b"[1]",
                       {"Content-Type": "application/json"})[0] == 404
    assert server.call("GET", "/models/a")[0] == 404
    assert server.call("DELETE", "/models/a")[0] == 404
    assert server.call("GET", "/models") == (200, {"models": []})


def test_each_model_has_its_own_script(server, root):
    for name in ("s1", "s2"):
        url = str(make_model(root, name, weight=f"w-{name}", script=f"code-of-{name}"))
        assert server.call("POST", "/models", {"model_name": name, "url": url})[0] == 200
    plain = str(make_model(root, "plain", weight="3"))
    assert server.call("POST", "/models", {"model_name": "plain", "url": plain})[0] == 200
    assert server.call("POST", "/models/s1/invoke", b"[]")[1] == {"script": "code-of-s1",
                                                                   "weight": "w-s1"}
    assert server.call("POST", "/models/s2/invoke", b"[]")[1] == {"script": "code-of-s2",
                                                                   "weight": "w-s2"}
    assert server.call("POST", "/models/plain/invoke", b"[1]",
                       {"Content-Type": "application/json"})[1] == [3.0]
    for name in ("s1", "s2", "plain"):
        assert server.call("DELETE", f"/models/{name}")[0] == 200


def test_load_failures(server, root):
    status, body = server.call("POST", "/models", {"model_name": "x", "url": str(root / "no")})
    assert status == 400 and "does not exist" in body["message"]
    oom = str(make_model(root, "oom", marker="oom"))
    assert server.call("POST", "/models", {"model_name": "oom", "url": oom})[0] == 507
    broken = str(make_model(root, "broken", marker="broken"))
    status, body = server.call("POST", "/models", {"model_name": "broken", "url": broken})
    assert status == 500 and "this model is broken" in body["message"]
    assert server.call("POST", "/models", b"not json")[0] == 400
    assert server.call("POST", "/models", {"model_name": "y"})[0] == 400
    assert server.call("GET", "/models") == (200, {"models": []})
    # the server is still whole after failed loads
    ok = str(make_model(root, "ok", weight="1"))
    assert server.call("POST", "/models", {"model_name": "ok", "url": ok})[0] == 200
    assert server.call("DELETE", "/models/ok")[0] == 200


def test_list_pages(server, root):
    for name in ("p1", "p2", "p3"):
        url = str(make_model(root, name))
        assert server.call("POST", "/models", {"model_name": name, "url": url})[0] == 200
    status, page = server.call("GET", "/models?limit=2")
    assert [m["modelName"] for m in page["models"]] == ["p1", "p2"]
    status, rest = server.call("GET", f"/models?limit=2&next_page_token={page['nextPageToken']}")
    assert [m["modelName"] for m in rest["models"]] == ["p3"] and "nextPageToken" not in rest
    assert server.call("GET", "/models?limit=x")[0] == 400
    for name in ("p1", "p2", "p3"):
        server.call("DELETE", f"/models/{name}")


def test_single_model_routes_are_not_served(server):
    assert server.call("POST", "/invocations", b"[1]")[0] == 404


def test_a_model_without_code_gets_the_shared_submit_directory_script(tmp_path, monkeypatch):
    from kamado.serving.models_api import handlers_builder
    from kamado.serving.settings import ServingSettings

    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "inference.py").write_text(textwrap.dedent(SCRIPT.format(who="shared")))
    (tmp_path / "mme_defaults.py").write_text(textwrap.dedent(DEFAULTS))
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = ServingSettings(base=tmp_path, submit_directory=str(shared))
    build = handlers_builder("mme_defaults", "required", settings)
    own = make_model(tmp_path / "models", "own", script="own")
    plain = make_model(tmp_path / "models", "plain")
    assert "own/model/code/inference.py" in build("own", own).origin
    assert "shared/inference.py" in build("plain", plain).origin
    assert build("plain2", plain).origin == build("plain", plain).origin
    with pytest.raises(Exception, match="not in the model's code/"):
        handlers_builder("mme_defaults", "required", ServingSettings(base=tmp_path))(
            "plain", plain)
