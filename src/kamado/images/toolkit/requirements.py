"""``requirements.txt`` in the user's code, installed once per distinct file.

Each distinct file (with the interpreter it is for) gets a virtual environment under
``$KAMADO_CACHE_DIR/envs/<hash>``, layered over kamado's own packages (see :mod:`.venvs`), so
a second job with the same requirements starts at once and nothing is installed into kamado's
environment. The environment is built under a temporary name and renamed when complete,
holding a lock per hash: concurrent jobs with the same requirements build it once, and a build
that dies half-way leaves nothing a later job would use.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import sys
from pathlib import Path

from kamado.images.toolkit import venvs
from kamado.images.toolkit.failure import tail_message
from kamado.images.toolkit.process import Supervisor

COMPLETE = ".complete"
FILENAME = "requirements.txt"


class InstallError(Exception):
    def __init__(self, kind: str, exit_code: int, message: str, command: list[str]) -> None:
        super().__init__(message)
        self.kind, self.exit_code, self.message, self.command = kind, exit_code, message, command


def cache_dir() -> Path:
    return Path(os.environ.get("KAMADO_CACHE_DIR") or Path.home() / ".cache" / "kamado")


def digest(requirements: bytes) -> str:
    # The interpreter's prefix counts too: the environment is layered over its packages.
    key = b"\0".join([requirements, sys.version.encode(), os.fsencode(sys.prefix)])
    return hashlib.sha256(key).hexdigest()[:24]


def cacheable(requirements: str) -> bool:
    """An editable requirement points into this job's code directory, which does not outlive
    the job; an environment holding one is the job's alone."""
    return not any(line.strip().startswith(("-e", "--editable"))
                   for line in requirements.splitlines())


def pip_install(python: Path | str, args: list[str]) -> list[str]:
    # -I: the code directory (the cwd) must not shadow pip's own imports; -u: live output.
    return [str(python), "-I", "-u", "-m", "pip", "install", "--no-input", *args]


def install(prefix: Path, code_dir: Path, supervisor: Supervisor,
            parent_site_dirs: list[str] | None = None) -> None:
    """Make an environment at ``prefix`` with the code's requirements installed."""
    python = venvs.create(prefix, parent_site_dirs)
    command = pip_install(python, ["-r", FILENAME])
    print(f"Installing requirements with the following command:\n{' '.join(command)}",
          flush=True)
    result = supervisor.run(command, cwd=code_dir, env=dict(os.environ))
    if result.exit_code != 0:
        raise InstallError("InstallRequirementsError", result.exit_code,
                           tail_message(result.stderr_tail), command)


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("Waiting for another job that is installing the same requirements.txt",
                  flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield  # closing the file releases the lock, also when the process dies


def environment(code_dir: Path, supervisor: Supervisor, scratch: Path) -> Path | None:
    """The prefix of the environment the code's requirements are installed in, or None when
    the code has no requirements.txt. ``scratch`` is the job's own temporary directory."""
    path = code_dir / FILENAME
    if not path.is_file():
        return None
    text = path.read_bytes()
    if not cacheable(text.decode("utf-8", "replace")):
        prefix = scratch / "requirements-env"
        install(prefix, code_dir, supervisor)
        return prefix

    key = digest(text)
    envs = cache_dir() / "envs"
    target = envs / key
    if (target / COMPLETE).exists():
        print(f"Using the cached environment for requirements.txt: {target}", flush=True)
        return target
    envs.mkdir(parents=True, exist_ok=True)
    with _locked(envs / f"{key}.lock"):
        if (target / COMPLETE).exists():  # another job built it while we waited
            print(f"Using the cached environment for requirements.txt: {target}", flush=True)
            return target
        # Whatever is left of a build that died is garbage now that we hold the lock.
        for stale in envs.glob(f"{key}.building-*"):
            shutil.rmtree(stale, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        building = envs / f"{key}.building-{os.getpid()}"
        try:
            install(building, code_dir, supervisor)
            shutil.copyfile(path, building / FILENAME)
            venvs.relocate(building, target)
            (building / COMPLETE).touch()
            building.rename(target)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    print(f"Installed requirements.txt into the cached environment {target}", flush=True)
    return target
