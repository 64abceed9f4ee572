"""Getting the user's code into ``code/``: a directory, a local tarball or an s3:// tarball
(the toolkit fills ``code/`` only when it is empty; kamado's engine has usually done it)."""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path


class CodeError(Exception):
    pass


def _extract(tarball: Path, target: Path) -> None:
    try:
        with tarfile.open(tarball) as tar:
            tar.extractall(target, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise CodeError(f"the source tarball {tarball.name} cannot be extracted: {exc}") from None


def _download(uri: str, dest: Path) -> None:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = uri[len("s3://"):].partition("/")
    try:
        boto3.client("s3").download_file(bucket, key, str(dest))
    except (BotoCoreError, ClientError) as exc:
        raise CodeError(f"cannot download the source directory {uri}: {exc}") from None


def provide(submit_directory: str | None, code_dir: Path) -> None:
    code_dir.mkdir(parents=True, exist_ok=True)
    if any(code_dir.iterdir()) or not submit_directory:
        return
    if submit_directory.startswith("s3://"):
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "sourcedir.tar.gz"
            _download(submit_directory, local)
            _extract(local, code_dir)
        return
    source = Path(submit_directory.removeprefix("file://"))
    if source.is_dir():
        if source.resolve() != code_dir.resolve():
            shutil.copytree(source, code_dir, dirs_exist_ok=True)
    elif source.is_file():
        _extract(source, code_dir)
    else:
        raise CodeError(f"the source directory {submit_directory} does not exist")
