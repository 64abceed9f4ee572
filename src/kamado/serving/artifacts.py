"""Unpacking a ``model.tar.gz`` (or a ``sourcedir.tar.gz``) into a directory, safely.

A model archive comes from whoever can write to the bucket, and the serving process runs
with the platform's rights: a member must not land outside the target directory. Refused,
each with a message naming the member: absolute paths, ``..`` components, symbolic or hard
links whose target is absolute or outside the directory, and device files, FIFOs and other
special files. Python's own ``data`` extraction filter then runs as a second line (it also
follows symlinks already on disk, and clears set-uid bits and group/other write bits).
"""

from __future__ import annotations

import posixpath
import tarfile
from pathlib import Path


class ArtifactError(ValueError):
    """The archive cannot be extracted safely (or at all)."""


def _escapes(path: str) -> bool:
    """Whether a relative POSIX path leaves its starting directory."""
    normal = posixpath.normpath(path)
    return normal == ".." or normal.startswith("../")


def _is_absolute(name: str) -> bool:
    return name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":")


def check_member(member: tarfile.TarInfo) -> None:
    """Raise :class:`ArtifactError` for a member that could write outside the directory."""
    name = member.name
    if _is_absolute(name):
        raise ArtifactError(f"member {name!r} has an absolute path")
    if ".." in name.replace("\\", "/").split("/"):
        raise ArtifactError(f"member {name!r} has a '..' component and could land outside "
                            "the model directory")
    if member.issym() or member.islnk():
        kind = "symbolic link" if member.issym() else "hard link"
        target = member.linkname
        if _is_absolute(target):
            raise ArtifactError(f"member {name!r} is a {kind} to the absolute path {target!r}")
        # A symlink's target is relative to its own directory, a hard link's to the archive.
        where = posixpath.join(posixpath.dirname(name), target) if member.issym() else target
        if _escapes(where):
            raise ArtifactError(f"member {name!r} is a {kind} to {target!r}, outside the "
                                "model directory")
    elif not (member.isfile() or member.isdir()):
        raise ArtifactError(f"member {name!r} is a device, FIFO or other special file")


def extract(archive: Path | str, target: Path | str) -> Path:
    """Extract ``archive`` (tar, optionally gzip/bzip2/xz) into ``target``; returns it."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    try:
        tar = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise ArtifactError(f"{Path(archive).name} is not a readable tar archive: {exc}") from None
    with tar:
        try:
            members = tar.getmembers()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ArtifactError(f"{Path(archive).name} is truncated or corrupt: {exc}") from None
        for member in members:
            check_member(member)
        for member in members:
            try:
                tar.extract(member, target, filter="data")
            except tarfile.FilterError as exc:
                raise ArtifactError(f"member {member.name!r} refused: {exc}") from None
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise ArtifactError(f"member {member.name!r} could not be extracted: "
                                    f"{exc}") from None
    return target


def extract_model(archive: Path | str, model_dir: Path | str) -> Path:
    """``model.tar.gz`` into the model directory, as SageMaker does before ``serve``."""
    model_dir = Path(model_dir)
    if model_dir.exists() and any(model_dir.iterdir()):
        # Never merge two models: stale files (an old xgboost-model-1) would be served too.
        raise ArtifactError(f"{model_dir} is not empty")
    return extract(archive, model_dir)


__all__ = ["ArtifactError", "check_member", "extract", "extract_model"]
