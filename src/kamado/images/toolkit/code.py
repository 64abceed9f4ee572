"""Getting the user's code into ``code/``.

``sagemaker_submit_directory`` may be an ``s3://`` tarball (the engine has usually extracted
it already), a local directory or a local tarball. Like SageMaker's toolkit, a ``code/`` that
already has files is used as it is.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path

from kamado.images.environment import in_job_dir


class CodeError(Exception):
    """The source directory cannot be had; the user's to fix."""


def provide(submit_directory: str | None, code_dir: Path, base: Path,
            region: str | None = None) -> None:
    code_dir.mkdir(parents=True, exist_ok=True)
    if any(code_dir.iterdir()) or not submit_directory:
        return
    if submit_directory.startswith("s3://"):
        with tempfile.TemporaryDirectory() as tmp:
            tarball = Path(tmp) / "sourcedir.tar.gz"
            _download(submit_directory, tarball, region)
            _extract(tarball, code_dir, submit_directory)
        return
    source = local_path(submit_directory, base)
    if source.is_dir():
        if source.resolve() != code_dir.resolve():
            shutil.copytree(source, code_dir, symlinks=True, dirs_exist_ok=True)
    elif source.is_file():
        _extract(source, code_dir, submit_directory)
    else:
        raise CodeError(f"The source directory {submit_directory} (sagemaker_submit_directory) "
                        "does not exist.")


def local_path(location: str, base: Path) -> Path:
    """A local source location, with ``/opt/ml/...`` read as the job directory's: the SDK
    writes such paths in local mode and with network isolation (``/opt/ml/input/data/code``)."""
    path = Path(location.removeprefix("file://"))
    return path if path.exists() else in_job_dir(str(path), base)


def _extract(tarball: Path, target: Path, origin: str) -> None:
    try:
        with tarfile.open(tarball, "r:*") as tar:
            if hasattr(tarfile, "data_filter"):
                # Refuses members that would land outside code/ (absolute paths, ../, links).
                tar.extractall(target, filter="data")
            else:  # Python before 3.11.4
                tar.extractall(target)
    except (tarfile.TarError, OSError) as exc:
        raise CodeError(f"The source directory {origin} is not a readable tar.gz: {exc}") from None


def _download(uri: str, dest: Path, region: str | None) -> None:
    # boto3 is imported here because only this fallback needs it; it finds kamado's server in
    # AWS_ENDPOINT_URL and the job's credentials in the environment.
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket or not key:
        raise CodeError(f"The source directory {uri} is not an s3://bucket/key URI.")
    try:
        boto3.client("s3", region_name=region).download_file(bucket, key, str(dest))
    except (BotoCoreError, ClientError) as exc:
        raise CodeError(f"Cannot download the source directory {uri}: {exc}") from None
