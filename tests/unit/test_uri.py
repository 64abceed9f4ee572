"""URI resolution and the fsspec filesystem over the built-in object store."""

from __future__ import annotations

import pytest
from fsspec.implementations.local import LocalFileSystem
from fsspec.implementations.memory import MemoryFileSystem

from kamado.config import Config
from kamado.storage import uri as uri_mod
from kamado.storage.fs import KamadoObjectFileSystem
from kamado.storage.objectstore import ObjectStore
from kamado.storage.uri import filesystem, open_uri, split_s3_uri


@pytest.fixture
def store(tmp_path):
    s = ObjectStore(tmp_path / "objects")
    s.create_bucket("bkt")
    yield s
    s.close()


@pytest.fixture
def fs(store):
    fs, path = filesystem("s3://bkt", objects=store)
    assert path == "bkt"
    return fs


def test_schemes_resolve(tmp_path, store):
    fs, path = filesystem(str(tmp_path / "x.csv"))
    assert isinstance(fs, LocalFileSystem) and path == str(tmp_path / "x.csv")
    fs, path = filesystem(f"file://{tmp_path}/x.csv")
    assert isinstance(fs, LocalFileSystem) and path == f"{tmp_path}/x.csv"
    fs, path = filesystem("s3://bkt/a/b.csv", objects=store)
    assert isinstance(fs, KamadoObjectFileSystem) and path == "bkt/a/b.csv"
    fs, path = filesystem("memory://scratch/x")
    assert isinstance(fs, MemoryFileSystem) and path.endswith("scratch/x")
    assert split_s3_uri("s3://bkt/a/b") == ("bkt", "a/b")
    with pytest.raises(ValueError):
        split_s3_uri("s3:///no-bucket")
    with pytest.raises(ValueError, match="objects="):
        filesystem("s3://bkt/k")  # neither a store nor a config to find one


def test_config_opens_the_store_once(tmp_path):
    config = Config(home=tmp_path / "home")
    fs1, _ = filesystem("s3://bkt/x", config=config)
    fs2, _ = filesystem("s3://bkt/y", config=config)
    assert fs1.objects is fs2.objects
    assert fs1.objects.root == (tmp_path / "home" / "objects").resolve()
    fs1.objects.create_bucket("bkt")
    fs1.pipe_file("bkt/x", b"via config")
    assert fs2.cat_file("bkt/x") == b"via config"
    fs1.objects.close()
    uri_mod._stores.clear()


def test_external_endpoint_needs_s3fs(tmp_path, monkeypatch):
    config = Config(home=tmp_path, s3_endpoint_url="http://127.0.0.1:9000")
    monkeypatch.setitem(__import__("sys").modules, "s3fs", None)  # as if not installed
    with pytest.raises(RuntimeError, match="s3fs"):
        filesystem("s3://bkt/k", config=config)


def test_write_read_roundtrip(fs, store):
    with fs.open("bkt/dir/data.txt", "w") as f:
        f.write("line 1\nline 2\n")
    assert store.read_object("bkt", "dir/data.txt") == b"line 1\nline 2\n"
    with fs.open("bkt/dir/data.txt", "r") as f:
        assert f.readlines() == ["line 1\n", "line 2\n"]
    assert fs.cat_file("bkt/dir/data.txt", start=5, end=6) == b"1"
    assert fs.cat_file("bkt/dir/data.txt", start=-7) == b"line 2\n"
    with open_uri("s3://bkt/dir/data.txt", "rb", objects=store) as f:
        assert f.read(4) == b"line"


def test_failed_write_publishes_nothing(fs, store):
    fs.pipe_file("bkt/k", b"old")
    with pytest.raises(RuntimeError):
        with fs.open("bkt/k", "wb") as f:
            f.write(b"half of the new")
            raise RuntimeError("writer died")
    assert fs.cat_file("bkt/k") == b"old"
    assert list((store.root / "tmp").iterdir()) == []


def test_exclusive_create(fs):
    with fs.open("bkt/once", "xb") as f:
        f.write(b"1")
    with pytest.raises(FileExistsError):
        fs.open("bkt/once", "xb")
    with pytest.raises(FileExistsError):
        fs.pipe_file("bkt/once", b"2", mode="create")
    assert fs.cat_file("bkt/once") == b"1"


def test_directory_emulation(fs, store):
    for key in ("a/1.txt", "a/2.txt", "a/b/3.txt", "top.txt"):
        fs.pipe_file(f"bkt/{key}", key.encode())
    store.put_object("bkt", "marker/", b"")  # a console-made "folder" object
    assert fs.ls("bkt", detail=False) == ["bkt/a", "bkt/marker", "bkt/top.txt"]
    assert fs.ls("s3://bkt/a/", detail=False) == ["bkt/a/1.txt", "bkt/a/2.txt", "bkt/a/b"]
    assert fs.ls("bkt/marker", detail=False) == []
    assert fs.ls("bkt/top.txt", detail=False) == ["bkt/top.txt"]
    assert fs.isdir("bkt/a") and fs.isdir("bkt/a/b") and fs.isdir("bkt")
    assert fs.isfile("bkt/a/1.txt") and not fs.isdir("bkt/a/1.txt")
    assert not fs.exists("bkt/nope") and not fs.exists("nobucket/x")
    assert fs.info("bkt/a/1.txt")["size"] == 7
    assert fs.find("bkt/a") == ["bkt/a/1.txt", "bkt/a/2.txt", "bkt/a/b/3.txt"]
    assert fs.find("bkt/a", withdirs=True) == ["bkt/a", "bkt/a/1.txt", "bkt/a/2.txt",
                                               "bkt/a/b", "bkt/a/b/3.txt"]
    assert fs.find("bkt/a", maxdepth=1) == ["bkt/a/1.txt", "bkt/a/2.txt"]
    assert fs.find("bkt/top.txt") == ["bkt/top.txt"]
    assert sorted(fs.glob("bkt/a/*.txt")) == ["bkt/a/1.txt", "bkt/a/2.txt"]
    assert fs.du("bkt/a") == 7 + 7 + 9
    with pytest.raises(FileNotFoundError):
        fs.ls("bkt/nope")
    with pytest.raises(FileNotFoundError):
        fs.open("bkt/nope", "rb")


def test_put_get_copy_remove(fs, tmp_path):
    local = tmp_path / "local"
    (local / "sub").mkdir(parents=True)
    (local / "one.bin").write_bytes(b"\x00\x01" * 1000)
    (local / "sub" / "two.bin").write_bytes(b"two")
    fs.put(str(local) + "/", "bkt/up/", recursive=True)
    assert fs.find("bkt/up") == ["bkt/up/one.bin", "bkt/up/sub/two.bin"]
    out = tmp_path / "out"
    fs.get("bkt/up/", str(out) + "/", recursive=True)
    assert (out / "one.bin").read_bytes() == b"\x00\x01" * 1000
    assert (out / "sub" / "two.bin").read_bytes() == b"two"
    fs.copy("bkt/up/one.bin", "bkt/copied.bin")
    assert fs.cat_file("bkt/copied.bin") == b"\x00\x01" * 1000
    fs.rm("bkt/up", recursive=True)
    assert not fs.exists("bkt/up") and fs.exists("bkt/copied.bin")
    fs.rm_file("bkt/copied.bin")
    assert fs.ls("bkt") == []


def test_buckets_as_top_level_directories(fs):
    fs.mkdir("fresh-bucket")
    assert "fresh-bucket" in fs.ls("", detail=False)
    with pytest.raises(FileExistsError):
        fs.makedirs("fresh-bucket")
    fs.makedirs("fresh-bucket", exist_ok=True)
    fs.pipe_file("fresh-bucket/k", b"x")
    with pytest.raises(OSError):
        fs.rmdir("fresh-bucket")
    fs.rm("fresh-bucket", recursive=True)
    assert "fresh-bucket" not in fs.ls("", detail=False)
    with pytest.raises(FileNotFoundError):
        fs.pipe_file("no-such-bucket/k", b"x")
