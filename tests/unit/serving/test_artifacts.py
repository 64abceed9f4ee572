"""model.tar.gz extraction refuses every member that could write outside the model
directory, and names it."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from kamado.serving.artifacts import ArtifactError, extract, extract_model


def make_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return path


def file(name: str, data: bytes = b"x"):
    return tarfile.TarInfo(name), data


def link(name: str, target: str, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def special(name: str, kind):
    info = tarfile.TarInfo(name)
    info.type = kind
    return info, None


ATTACKS = {
    "absolute path": ([file("/tmp/kamado-evil")], "absolute path"),
    "dot-dot": ([file("../evil")], "'..'"),
    "nested dot-dot": ([file("code/../../evil")], "'..'"),
    "absolute symlink": ([link("etc", "/etc")], "absolute path"),
    "escaping symlink": ([link("code/up", "../../..")], "outside"),
    "escaping hard link": ([link("passwd", "../../etc/passwd", tarfile.LNKTYPE)], "outside"),
    "absolute hard link": ([link("passwd", "/etc/passwd", tarfile.LNKTYPE)], "absolute"),
    "symlink then write through it": ([link("here", "."), file("here/../evil")], "'..'"),
    "character device": ([special("console", tarfile.CHRTYPE)], "special file"),
    "block device": ([special("disk", tarfile.BLKTYPE)], "special file"),
    "fifo": ([special("pipe", tarfile.FIFOTYPE)], "special file"),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_each_attack_is_refused_with_the_member_named(tmp_path, attack):
    members, reason = ATTACKS[attack]
    archive = make_tar(tmp_path / "model.tar.gz", [file("xgboost-model", b"ok"), *members])
    target = tmp_path / "model"
    with pytest.raises(ArtifactError) as caught:
        extract(archive, target)
    bad = members[-1][0].name
    assert repr(bad) in str(caught.value) and reason in str(caught.value)
    # refused before anything was written, and nothing escaped
    assert not any(target.iterdir())
    assert not (tmp_path / "evil").exists()


def test_a_legitimate_model_with_an_inner_symlink_extracts(tmp_path):
    d = tarfile.TarInfo("code")
    d.type = tarfile.DIRTYPE
    archive = make_tar(tmp_path / "model.tar.gz", [
        file("xgboost-model", b"model-bytes"), (d, None),
        file("code/inference.py", b"def model_fn(d): return 1\n"),
        link("code/latest", "inference.py"), link("alias", "code/inference.py", tarfile.LNKTYPE)])
    target = extract(archive, tmp_path / "model")
    assert (target / "xgboost-model").read_bytes() == b"model-bytes"
    assert (target / "code" / "latest").resolve() == (target / "code" / "inference.py").resolve()
    assert (target / "alias").read_bytes().startswith(b"def model_fn")


def test_corrupt_archive_is_a_clear_error(tmp_path):
    bad = tmp_path / "model.tar.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(ArtifactError, match="model.tar.gz"):
        extract(bad, tmp_path / "model")


def test_extract_model_refuses_to_merge_into_a_used_directory(tmp_path):
    archive = make_tar(tmp_path / "model.tar.gz", [file("xgboost-model")])
    target = tmp_path / "model"
    target.mkdir()
    (target / "xgboost-model-1").write_bytes(b"stale")
    with pytest.raises(ArtifactError, match="not empty"):
        extract_model(archive, target)
