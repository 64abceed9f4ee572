"""model.tar.gz / output.tar.gz: what the engine packs is a gzip'd tar any reader opens."""

from __future__ import annotations

import builtins
import gzip
import hashlib
import os
import tarfile

import pytest

from kamado.engine import artifacts
from kamado.storage.objectstore import ObjectStore


def _model_dir(tmp_path):
    root = tmp_path / "model"
    (root / "code" / "lib").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "model.json").write_text('{"trees": 3}')
    (root / "code" / "lib" / "util.py").write_text("x = 1\n")
    # incompressible and several of the compressor's blocks long
    (root / "weights.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    return root


@pytest.mark.parametrize("isal", [True, False], ids=["isal", "stdlib"])
def test_pack_round_trips_every_file_and_directory(tmp_path, monkeypatch, isal):
    if not isal:  # the standard library's gzip when ISA-L is not installed
        real_import = builtins.__import__

        def no_isal(name, *args, **kwargs):
            if name.startswith("isal"):
                raise ImportError(name)
            return real_import(name, *args, **kwargs)
        monkeypatch.setattr(builtins, "__import__", no_isal)
    root = _model_dir(tmp_path)
    tarball = tmp_path / "model.tar.gz"
    md5 = artifacts.pack(root, tarball)

    assert md5 == hashlib.md5(tarball.read_bytes()).hexdigest()
    assert tarball.read_bytes()[:2] == b"\x1f\x8b"
    gzip.decompress(tarball.read_bytes())  # one valid gzip stream, CRC and length checked
    with tarfile.open(tarball, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == ["code", "code/lib", "code/lib/util.py", "empty",
                                   "model.json", "weights.bin"]
        assert members["empty"].isdir() and members["code/lib"].isdir()
        for name in ("model.json", "code/lib/util.py", "weights.bin"):
            assert tar.extractfile(name).read() == (root / name).read_bytes()


@pytest.mark.parametrize("fsync", [False, True])
def test_a_packed_model_is_moved_into_the_store_with_its_etag(tmp_path, fsync):
    root = _model_dir(tmp_path)
    objects = ObjectStore(tmp_path / "objects", fsync=fsync)
    objects.create_bucket("out", "us-east-1")
    tarball = tmp_path / "model.tar.gz"
    body_md5 = artifacts.pack(root, tarball)
    body = tarball.read_bytes()

    artifacts.upload_file(tarball, "s3://out/job/output/model.tar.gz", md5_hex=body_md5,
                          config=None, objects=objects)

    info = objects.get_object("out", "job/output/model.tar.gz")
    assert info.etag == f'"{hashlib.md5(body).hexdigest()}"' and info.size == len(body)
    assert info.path.read_bytes() == body
    assert not tarball.exists()  # moved, not copied
