"""``requirements.txt`` in the user's code, installed once per distinct file into a cached
virtual environment that sees kamado's own packages (``--system-site-packages``)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path


class InstallError(Exception):
    def __init__(self, code: int, stderr: str, command: list[str]) -> None:
        super().__init__(stderr)
        self.code, self.stderr, self.command = code, stderr, command


def cache_dir() -> Path:
    return Path(os.environ.get("KAMADO_CACHE_DIR") or Path.home() / ".cache" / "kamado")


def python_for(code_dir: Path) -> str:
    """The interpreter the user's script runs with: this one, or the cached environment that
    has the code's requirements installed."""
    requirements = code_dir / "requirements.txt"
    if not requirements.is_file():
        return sys.executable
    digest = hashlib.sha256(requirements.read_bytes() + sys.version.encode()
                            + sys.executable.encode()).hexdigest()[:16]
    envs = cache_dir() / "envs"
    envs.mkdir(parents=True, exist_ok=True)
    target = envs / digest
    python = target / "bin" / "python"
    with open(envs / f"{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build per requirements file; others wait and reuse it
        if (target / ".complete").exists():
            print(f"Using the cached environment for requirements.txt ({digest})", flush=True)
            return str(python)
        building = envs / f"{digest}.building"
        shutil.rmtree(building, ignore_errors=True)
        venv.EnvBuilder(system_site_packages=True, with_pip=False, symlinks=True).create(building)
        # pip from this interpreter installs into the new environment via --prefix semantics of
        # `python -m pip --python`; the new environment has no pip of its own.
        command = [sys.executable, "-m", "pip", "--python", str(building / "bin" / "python"),
                   "install", "--disable-pip-version-check", "-r", str(requirements)]
        print(f"Installing requirements: {' '.join(command)}", flush=True)
        done = subprocess.run(command, cwd=code_dir, capture_output=True, text=True)
        sys.stdout.write(done.stdout)
        sys.stdout.flush()
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            shutil.rmtree(building, ignore_errors=True)
            raise InstallError(done.returncode, done.stderr, command)
        (building / ".complete").touch()
        building.rename(target)
    return str(python)
