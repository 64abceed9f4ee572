"""Running the user's entry point and reporting the way SageMaker's toolkit does."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

TAIL_LINES = 30


def command(entry_point: str, code_dir: Path, python: str, args: list[str]) -> list[str]:
    if entry_point.endswith(".py"):
        return [python, entry_point, *args]
    if entry_point.endswith(".sh") or not (code_dir / "setup.py").exists():
        path = code_dir / entry_point
        if path.exists():
            path.chmod(0o777)
        return ["/bin/sh", "-c", f"./{entry_point} {' '.join(shlex.quote(a) for a in args)}"]
    return [python, "-m", entry_point.removesuffix(".py"), *args]


def error_message(stderr_tail: list[str]) -> str:
    """The line that says what went wrong (a Python exception's last line), then context."""
    lines = [l for l in stderr_tail if l.strip()]
    if not lines:
        return ""
    for line in reversed(lines):
        head = line.split(":", 1)[0].strip()
        if head and (head.endswith(("Error", "Exception")) or head in ("KeyboardInterrupt",
                                                                       "SystemExit")):
            return line.strip()
    return lines[-1].strip()


def run(cmd: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    """Run ``cmd`` with its output passed through live; return its exit code and stderr tail.
    A SIGTERM we receive is passed on, so the script can save its work."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=None, stderr=subprocess.PIPE)
    tail: deque[str] = deque(maxlen=TAIL_LINES)

    def forward(signum, frame):
        try:
            proc.send_signal(signum)
        except ProcessLookupError:
            pass
    previous = signal.signal(signal.SIGTERM, forward)

    def pump():
        for raw in iter(proc.stderr.readline, b""):
            sys.stderr.buffer.write(raw)
            sys.stderr.buffer.flush()
            tail.append(raw.decode("utf-8", "replace").rstrip("\n"))
    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    code = proc.wait()
    reader.join(10)
    signal.signal(signal.SIGTERM, previous)
    return code, list(tail)
