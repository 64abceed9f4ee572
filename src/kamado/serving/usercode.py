"""Finding and importing a user's inference script (inference-contract.md §4.1, §4.4).

``SAGEMAKER_PROGRAM`` (default ``inference.py``) is looked for in
``SAGEMAKER_SUBMIT_DIRECTORY`` — a local directory, a local ``sourcedir.tar.gz``, or an
``s3://`` tarball — and otherwise in ``code/`` inside the extracted model, where the SDK's
repack puts ``entry_point`` and ``source_dir``. ``/opt/ml/...`` paths are read as the job
directory's, since the SDK writes ``/opt/ml/model/code`` after repacking.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

from kamado.images.environment import in_job_dir
from kamado.serving.errors import ModelLoadError
from kamado.serving.settings import ServingSettings

DEFAULT_PROGRAM = "inference.py"


def code_directory(settings: ServingSettings) -> Path:
    """Where the user's code is, fetched or extracted into ``code/`` of the job directory
    when it is a tarball."""
    location = settings.submit_directory
    if not location:
        return settings.model_dir / "code"
    if location.startswith("s3://"):
        from kamado.images.toolkit.code import CodeError, provide

        target = settings.base / "code"
        try:
            provide(location, target, settings.base)
        except CodeError as exc:
            raise ModelLoadError(str(exc)) from None
        return target
    path = Path(location.removeprefix("file://"))
    if not path.exists():
        path = in_job_dir(str(path), settings.base)
    if path.is_file():
        from kamado.serving.artifacts import ArtifactError, extract

        target = settings.base / "code"
        try:
            extract(path, target)
        except ArtifactError as exc:
            raise ModelLoadError(f"SAGEMAKER_SUBMIT_DIRECTORY {location}: {exc}") from None
        return target
    return path


def find_program(settings: ServingSettings, required: bool) -> Path | None:
    """The script's file, or None when there is none and none is ``required`` (an image
    that serves its built-in handlers without one)."""
    program = settings.program or DEFAULT_PROGRAM
    directory = code_directory(settings)
    path = directory / program
    if path.is_file():
        return path
    if required or settings.program:
        raise ModelLoadError(
            f"The inference script {program} (SAGEMAKER_PROGRAM) is not in {directory}. Put it "
            "in the model's code/ directory (the SDK's entry_point does) or point "
            "SAGEMAKER_SUBMIT_DIRECTORY at the directory that holds it.")
    return None


def import_program(path: Path) -> ModuleType:
    """Import the script as a module of its directory, which goes first on sys.path so its
    own helper modules import as they do in AWS's containers."""
    directory = str(path.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = path.stem if path.suffix == ".py" else path.name
    try:
        return importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any error in the user's module fails the load
        raise ModelLoadError(f"The inference script {path.name} failed to import: "
                             f"{type(exc).__name__}: {exc}") from exc


def load_user_module(settings: ServingSettings, required: bool) -> ModuleType | None:
    path = find_program(settings, required)
    return None if path is None else import_program(path)
