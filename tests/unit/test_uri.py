"""URI resolution, and the two S3 filesystems held to one behaviour: the built-in object store
in-process, and an external S3 endpoint (here a real kamado server reached over HTTP)."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from fsspec.implementations.local import LocalFileSystem
from fsspec.implementations.memory import MemoryFileSystem

from kamado.config import Config
from kamado.storage import uri as uri_mod
from kamado.storage.external import ExternalS3FileSystem
from kamado.storage.fs import KamadoObjectFileSystem
from kamado.storage.objectstore import ObjectStore
from kamado.storage.uri import filesystem, open_uri, split_s3_uri


@pytest.fixture
def store(tmp_path):
    s = ObjectStore(tmp_path / "objects")
    s.create_bucket("bkt")
    yield s
    s.close()


def _external_config(server, home) -> Config:
    akid, secret = server.keys
    return Config(home=home, s3_endpoint_url=server.endpoint, s3_access_key_id=akid,
                  s3_secret_access_key=secret)


def _empty_buckets(s3, *names) -> None:
    for name in names:
        try:
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", [])]
        except s3.exceptions.NoSuchBucket:
            continue
        for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
        if keys:
            s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": k} for k in keys]})
        s3.delete_bucket(Bucket=name)


@pytest.fixture(params=["builtin", "external"])
def backend(request, tmp_path):
    """fs: the filesystem for s3://bkt; put/read/leftovers: a side door to the same bucket;
    uri_kwargs: what open_uri needs to reach it."""
    if request.param == "builtin":
        store = request.getfixturevalue("store")
        fs, path = filesystem("s3://bkt", objects=store)
        return SimpleNamespace(
            fs=fs, uri_kwargs={"objects": store},
            put=lambda key, data: store.put_object("bkt", key, data),
            read=lambda key: store.read_object("bkt", key),
            leftovers=lambda: list((store.root / "tmp").iterdir()))
    server = request.getfixturevalue("server")
    s3 = server.client("s3")
    _empty_buckets(s3, "bkt", "fresh-bucket")  # the server is shared by this worker's tests
    s3.create_bucket(Bucket="bkt")
    config = _external_config(server, tmp_path / "home")
    fs, path = filesystem("s3://bkt", config=config)
    return SimpleNamespace(
        fs=fs, uri_kwargs={"config": config},
        put=lambda key, data: s3.put_object(Bucket="bkt", Key=key, Body=data),
        read=lambda key: s3.get_object(Bucket="bkt", Key=key)["Body"].read(),
        leftovers=lambda: s3.list_multipart_uploads(Bucket="bkt").get("Uploads", []))


@pytest.fixture
def fs(backend):
    return backend.fs


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


def test_external_endpoint_is_reached_with_the_configured_keys(server, tmp_path):
    config = _external_config(server, tmp_path)
    fs, path = filesystem("s3://bkt/k", config=config)
    assert isinstance(fs, ExternalS3FileSystem) and path == "bkt/k"
    wrong = Config(home=tmp_path, s3_endpoint_url=server.endpoint,
                   s3_access_key_id=config.s3_access_key_id, s3_secret_access_key="not-the-secret")
    bad, _ = filesystem("s3://bkt/k", config=wrong)
    with pytest.raises(PermissionError, match="SignatureDoesNotMatch"):
        bad.ls("")


def test_write_read_roundtrip(fs, backend):
    with fs.open("bkt/dir/data.txt", "w") as f:
        f.write("line 1\nline 2\n")
    assert backend.read("dir/data.txt") == b"line 1\nline 2\n"
    with fs.open("bkt/dir/data.txt", "r") as f:
        assert f.readlines() == ["line 1\n", "line 2\n"]
    assert fs.cat_file("bkt/dir/data.txt", start=5, end=6) == b"1"
    assert fs.cat_file("bkt/dir/data.txt", start=-7) == b"line 2\n"
    with open_uri("s3://bkt/dir/data.txt", "rb", **backend.uri_kwargs) as f:
        assert f.read(4) == b"line"


@pytest.mark.parametrize("size", [15, 9 * 1024 * 1024])  # one request, or parts of an upload
def test_failed_write_publishes_nothing(fs, backend, size):
    fs.pipe_file("bkt/k", b"old")
    with pytest.raises(RuntimeError):
        with fs.open("bkt/k", "wb") as f:
            f.write(os.urandom(size))
            raise RuntimeError("writer died")
    assert fs.cat_file("bkt/k") == b"old"
    assert backend.leftovers() == []


def test_large_write_goes_in_parts_and_reads_back_by_range(fs, backend):
    data = os.urandom(19 * 1024 * 1024)
    with fs.open("bkt/big.bin", "wb", block_size=8 * 1024 * 1024) as f:
        for i in range(0, len(data), 3 * 1024 * 1024):
            f.write(data[i:i + 3 * 1024 * 1024])
    assert backend.read("big.bin") == data
    assert fs.info("bkt/big.bin")["size"] == len(data)
    with fs.open("bkt/big.bin", "rb") as f:
        f.seek(10 * 1024 * 1024)
        assert f.read(1000) == data[10 * 1024 * 1024:10 * 1024 * 1024 + 1000]
    assert fs.cat_file("bkt/big.bin", start=len(data) - 5) == data[-5:]


def test_exclusive_create(fs):
    with fs.open("bkt/once", "xb") as f:
        f.write(b"1")
    with pytest.raises(FileExistsError):
        fs.open("bkt/once", "xb")
    with pytest.raises(FileExistsError):
        fs.pipe_file("bkt/once", b"2", mode="create")
    assert fs.cat_file("bkt/once") == b"1"


def test_directory_emulation(fs, backend):
    for key in ("a/1.txt", "a/2.txt", "a/b/3.txt", "top.txt"):
        fs.pipe_file(f"bkt/{key}", key.encode())
    backend.put("marker/", b"")  # a console-made "folder" object
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
