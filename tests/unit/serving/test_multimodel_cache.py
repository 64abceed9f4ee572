"""The platform's per-instance model cache of a multi-model endpoint: loads on first use,
least-recently-used eviction under the memory budget, the disk tier, ModelCacheSetting
Disabled, missing models, ModelNotReadyException, a server that lost its models."""

from __future__ import annotations

import io
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from kamado.serving import multimodel
from kamado.serving.multimodel import ModelCache, ModelMissing, ModelNotReady, LoadFailed


@dataclass
class Reply:
    status: int
    body: bytes


class FakeServer:
    """A multi-model container in memory: what is loaded, and every call made."""

    def __init__(self) -> None:
        self.loaded: dict[str, str] = {}
        self.calls: list[tuple[str, str]] = []
        self.gate: threading.Event | None = None  # a load waits on it when set
        self.full_once = False  # the next load answers 507
        self.process = object()

    def generation(self):
        return self.process

    def load(self, name, url):
        self.calls.append(("load", name))
        if self.gate is not None:
            assert self.gate.wait(10)
        if self.full_once:
            self.full_once = False
            return 507, "out of memory"
        if name in self.loaded:
            return 409, "already loaded"
        if Path(url, "broken").exists():
            return 500, "cannot load: broken"
        self.loaded[name] = url
        return 200, "loaded"

    def unload(self, name):
        self.calls.append(("unload", name))
        return 200 if self.loaded.pop(name, None) else 404

    def invoke(self, name, body, headers, timeout):
        self.calls.append(("invoke", name))
        if name not in self.loaded:
            return Reply(404, b'{"code": 404, "message": "Model not found: ' + name.encode()
                         + b'"}')
        return Reply(200, Path(self.loaded[name], "weights").read_bytes()[:8] + b"|" + body)


def tarball(size: int, fill: bytes = b"w", broken: bool = False) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        files = {"weights": fill * size}
        if broken:
            files["broken"] = b""
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Bucket:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.downloads: list[str] = []

    def download(self, uri: str, path: Path) -> None:
        self.downloads.append(uri)
        if uri not in self.objects:
            raise FileNotFoundError(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.objects[uri])


PREFIX = "s3://bucket/models/"


@pytest.fixture
def bucket() -> Bucket:
    b = Bucket()
    for name, fill in (("a", b"a"), ("b", b"b"), ("c", b"c")):
        b.objects[f"{PREFIX}{name}.tar.gz"] = tarball(100, fill)
    return b


def cache(tmp_path, bucket, budget=250, **kw) -> tuple[ModelCache, FakeServer, list[str]]:
    server, lines = FakeServer(), []
    c = ModelCache(server, tmp_path / "models", PREFIX.rstrip("/"), bucket.download,
                   budget_bytes=budget, log=lines.append, **kw)
    return c, server, lines


def loaded_targets(c: ModelCache, server: FakeServer) -> set[str]:
    names = {multimodel.model_name(t): t for t in ("a.tar.gz", "b.tar.gz", "c.tar.gz")}
    return {names[n] for n in server.loaded}


def test_loads_on_first_use_then_serves_warm(tmp_path, bucket):
    c, server, lines = cache(tmp_path, bucket)
    reply, waited = c.invoke("a.tar.gz", b"x", {}, 5)
    assert (reply.status, reply.body) == (200, b"aaaaaaaa|x")
    assert waited > 0
    reply, waited = c.invoke("a.tar.gz", b"y", {}, 5)
    assert reply.body == b"aaaaaaaa|y" and waited == 0
    assert [k for k, _ in server.calls] == ["load", "invoke", "invoke"]
    assert bucket.downloads == [f"{PREFIX}a.tar.gz"]
    assert any("model a.tar.gz loaded (0.00 MB)" in line for line in lines)
    # the key never becomes a path: the directory is a digest
    assert (tmp_path / "models" / multimodel.model_name("a.tar.gz") / "model" / "weights"
            ).stat().st_size == 100


def test_least_recently_used_is_unloaded_to_fit_the_budget(tmp_path, bucket):
    c, server, lines = cache(tmp_path, bucket, budget=250)  # two 100-byte models fit
    c.invoke("a.tar.gz", b"", {}, 5)
    c.invoke("b.tar.gz", b"", {}, 5)
    c.invoke("a.tar.gz", b"", {}, 5)  # b is now the least recently used
    c.invoke("c.tar.gz", b"", {}, 5)
    assert loaded_targets(c, server) == {"a.tar.gz", "c.tar.gz"}
    assert c.names() == ["a.tar.gz", "c.tar.gz"]
    assert any("model b.tar.gz unloaded (least recently used)" in line for line in lines)
    # b comes back from the instance's disk, not from S3
    reply, waited = c.invoke("b.tar.gz", b"", {}, 5)
    assert reply.body.startswith(b"bbbb") and waited > 0
    assert bucket.downloads.count(f"{PREFIX}b.tar.gz") == 1
    assert loaded_targets(c, server) == {"b.tar.gz", "c.tar.gz"}


def test_a_model_larger_than_the_budget_is_served_alone(tmp_path, bucket):
    bucket.objects[f"{PREFIX}big.tar.gz"] = tarball(1000)
    c, server, _ = cache(tmp_path, bucket, budget=250)
    c.invoke("a.tar.gz", b"", {}, 5)
    assert c.invoke("big.tar.gz", b"", {}, 5)[0].status == 200
    assert c.names() == ["big.tar.gz"] and len(server.loaded) == 1


def test_the_disk_keeps_a_bounded_number_of_unloaded_models(tmp_path, bucket):
    c, server, _ = cache(tmp_path, bucket, budget=100)  # one in memory, up to 4 on disk
    for key in ("a", "b", "c"):
        c.invoke(f"{key}.tar.gz", b"", {}, 5)
    assert len(list((tmp_path / "models").iterdir())) == 3
    for i in range(4):
        bucket.objects[f"{PREFIX}m{i}.tar.gz"] = tarball(100)
        c.invoke(f"m{i}.tar.gz", b"", {}, 5)
    # one loaded plus at most 4 budgets' worth on disk
    assert len(list((tmp_path / "models").iterdir())) == 5


def test_a_server_out_of_memory_unloads_another_and_retries(tmp_path, bucket):
    c, server, _ = cache(tmp_path, bucket, budget=10_000)
    c.invoke("a.tar.gz", b"", {}, 5)
    server.full_once = True
    assert c.invoke("b.tar.gz", b"", {}, 5)[0].body.startswith(b"bbbb")
    assert loaded_targets(c, server) == {"b.tar.gz"}


def test_cache_disabled_unloads_and_deletes_after_each_invocation(tmp_path, bucket):
    c, server, lines = cache(tmp_path, bucket, cache_enabled=False)
    for _ in range(2):
        reply, waited = c.invoke("a.tar.gz", b"", {}, 5)
        assert reply.status == 200 and waited > 0
        assert server.loaded == {} and c.names() == []
        assert not (tmp_path / "models" / multimodel.model_name("a.tar.gz")).exists()
    assert [k for k, _ in server.calls] == ["load", "invoke", "unload"] * 2
    assert len(bucket.downloads) == 2
    assert any("ModelCacheSetting Disabled" in line for line in lines)


def test_a_missing_model_names_bucket_and_key(tmp_path, bucket):
    c, server, _ = cache(tmp_path, bucket)
    with pytest.raises(ModelMissing) as e:
        c.invoke("nope/model.tar.gz", b"", {}, 5)
    assert (e.value.bucket, e.value.key) == ("bucket", "models/nope/model.tar.gz")
    assert server.calls == [] and c.pending == {}


def test_a_model_that_fails_to_load_is_a_load_failure_and_not_kept(tmp_path, bucket):
    bucket.objects[f"{PREFIX}bad.tar.gz"] = tarball(10, broken=True)
    bucket.objects[f"{PREFIX}corrupt.tar.gz"] = b"not a tarball"
    c, server, _ = cache(tmp_path, bucket)
    with pytest.raises(LoadFailed) as e:
        c.invoke("bad.tar.gz", b"", {}, 5)
    assert e.value.status == 500 and "broken" in e.value.text
    with pytest.raises(LoadFailed) as e:
        c.invoke("corrupt.tar.gz", b"", {}, 5)
    assert "Failed to extract" in e.value.text
    assert c.names() == [] and c.reserved == {}


def test_a_slow_load_is_model_not_ready_while_it_goes_on(tmp_path, bucket, monkeypatch):
    monkeypatch.setattr(multimodel, "LOAD_WAIT_SECONDS", 0.05)
    c, server, _ = cache(tmp_path, bucket)
    server.gate = threading.Event()
    with pytest.raises(ModelNotReady):
        c.invoke("a.tar.gz", b"", {}, 5)
    with pytest.raises(ModelNotReady):  # a retry joins the load under way
        c.invoke("a.tar.gz", b"", {}, 5)
    loading = c.pending["a.tar.gz"]
    server.gate.set()
    loading.result(10)
    assert c.invoke("a.tar.gz", b"", {}, 5)[0].status == 200
    assert [k for k, _ in server.calls].count("load") == 1


def test_concurrent_first_requests_load_once(tmp_path, bucket):
    c, server, _ = cache(tmp_path, bucket)
    server.gate = threading.Event()
    results = []
    threads = [threading.Thread(target=lambda: results.append(c.invoke("a.tar.gz", b"", {}, 5)))
               for _ in range(4)]
    for t in threads:
        t.start()
    server.gate.set()
    for t in threads:
        t.join(10)
    assert [r.status for r, _ in results] == [200] * 4
    assert [k for k, _ in server.calls].count("load") == 1


def test_a_restarted_server_gets_its_models_again_from_disk(tmp_path, bucket):
    c, server, _ = cache(tmp_path, bucket)
    c.invoke("a.tar.gz", b"", {}, 5)
    server.process, server.loaded = object(), {}  # the fleet started a new process
    assert c.invoke("a.tar.gz", b"", {}, 5)[0].status == 200
    assert bucket.downloads == [f"{PREFIX}a.tar.gz"]
    # and a server that dropped a model without restarting: 404, loaded again, answered
    server.loaded.clear()
    assert c.invoke("a.tar.gz", b"", {}, 5)[0].status == 200
    assert [k for k, _ in server.calls].count("load") == 3
