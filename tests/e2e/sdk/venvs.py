"""One virtualenv per SageMaker Python SDK version, layered on the test interpreter.

``<repo>/.venv-sdk/<version>`` sees every package the test interpreter sees (kamado's numpy,
xgboost, scikit-learn, boto3), then ``pip install sagemaker==<version>`` adds the SDK and
whatever it needs on top, as a user's ``pip install sagemaker`` would. A marker file written
after a successful install lets later runs reuse the venv; an exclusive ``flock`` keeps
pytest-xdist workers from building the same one twice.

``python -m venv --system-site-packages`` alone is not enough when the test interpreter is
itself a venv (kamado's ``.venv``): it exposes the *base* interpreter's site-packages, not the
venv's. So the test interpreter's own site-packages are added with a ``.pth`` file, and the
system ones only when the test interpreter sees them too.
"""

from __future__ import annotations

import fcntl
import json
import os
import site
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
ROOT = REPO / ".venv-sdk"
MARKER = "kamado-sdk.json"
PTH = "kamado-test-interpreter.pth"
PIP = "pip>=25"


class SdkVenvError(RuntimeError):
    pass


def _sees_system_site() -> bool:
    if sys.prefix == sys.base_prefix:
        return True
    cfg = Path(sys.prefix) / "pyvenv.cfg"
    try:
        lines = cfg.read_text().splitlines()
    except OSError:
        return False
    return any(line.replace(" ", "").lower() == "include-system-site-packages=true"
               for line in lines)


def _layers() -> list[str]:
    """The site-packages of the test interpreter that a venv made from it would not see."""
    if sys.prefix == sys.base_prefix:
        return []
    return [p for p in site.getsitepackages() if Path(p).is_dir()]


def _marker(version: str) -> dict:
    return {"sagemaker": version, "pip": PIP, "base": sys.executable, "layers": _layers(),
            "system_site": _sees_system_site()}


def _build_log(version: str) -> Path:
    return ROOT / f"{version}.build.log"


def sdk_python(version: str) -> Path:
    """The interpreter of the venv that has ``sagemaker==version``, building it if needed."""
    ROOT.mkdir(exist_ok=True)
    venv = ROOT / version
    python = venv / "bin" / "python"
    with open(ROOT / f".{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        marker = venv / MARKER
        try:
            if json.loads(marker.read_text()) == _marker(version) and python.exists():
                return python
        except (OSError, ValueError):
            pass
        started = time.monotonic()
        cmd = [sys.executable, "-m", "venv", "--clear", str(venv)]
        if _sees_system_site():
            cmd.insert(-1, "--system-site-packages")
        _run(cmd, version)
        purelib = Path(subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True, text=True, check=True).stdout.strip())
        if _layers():
            (purelib / PTH).write_text("".join(
                f"import site; site.addsitedir({p!r})\n" for p in _layers()))
        # The pip that `venv` bundles with Python 3.11 backtracks for many minutes over
        # sagemaker 3.x's dependencies (s3fs -> aiobotocore -> botocore pins); a current
        # pip resolves them in about a minute.
        pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--no-input"]
        _run(pip + ["install", "-q", "--upgrade", PIP], version)
        _run(pip + ["install", f"sagemaker=={version}"], version)
        got = _run([str(python), "-c",
                    "from importlib.metadata import version; print(version('sagemaker'))"],
                   version).strip()
        if got != version:
            raise SdkVenvError(f"{venv} has sagemaker {got}, not {version}")
        marker.write_text(json.dumps(_marker(version)))
        with open(_build_log(version), "a") as log:
            log.write(f"built in {time.monotonic() - started:.0f}s\n")
        return python


def _run(cmd: list[str], version: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    with open(_build_log(version), "a") as log:
        log.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    if proc.returncode != 0:
        raise SdkVenvError(f"{' '.join(cmd)} exited {proc.returncode}:\n"
                           f"{proc.stdout[-8000:]}\n{proc.stderr[-8000:]}")
    return proc.stdout


if __name__ == "__main__":
    for v in sys.argv[1:]:
        print(sdk_python(v))
