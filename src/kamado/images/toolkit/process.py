"""Running a child (pip, the user's script) the way the job log needs it.

The child's stdout is ours (the same file descriptor), so it reaches the job log unchanged and
as soon as the child writes it. Its stderr is copied to ours as it arrives, while the last few
KiB are kept: that is where the error line for the failure file comes from.

The engine stops a job with SIGTERM, then SIGKILL after a grace period. SIGTERM sent to the
toolkit alone is passed on to the running child, so a script can save its work. The engine may
also signal the whole process group; then the child gets it twice, which a script's handler
must tolerate on SageMaker as well.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

TAIL_BYTES = 16 * 1024
COMMAND_NOT_RUNNABLE = 127  # what a shell answers for a command it cannot start


class Stopping(Exception):
    """SIGTERM arrived while no child was running: start nothing more."""


@dataclass
class Result:
    exit_code: int
    stderr_tail: list[str] = field(default_factory=list)


class Supervisor:
    """Runs one child at a time and forwards SIGTERM to it. Use as a context manager around
    everything the toolkit does, so that a stop between two children is noticed too."""

    def __init__(self) -> None:
        self._child: subprocess.Popen | None = None
        self._pending: int | None = None  # a signal that came while a child was being started
        self._starting = False
        self._previous = None
        self.stopping = False

    def __enter__(self) -> "Supervisor":
        try:
            self._previous = signal.signal(signal.SIGTERM, self._on_signal)
        except ValueError:  # not the main thread (a test driving the toolkit): nothing to catch
            self._previous = None
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)

    def _on_signal(self, signum, frame) -> None:
        self.stopping = True
        child = self._child
        if child is not None:
            try:
                child.send_signal(signum)
            except ProcessLookupError:
                pass
        elif self._starting:
            self._pending = signum

    def run(self, cmd: list[str], *, cwd: Path, env: dict[str, str]) -> Result:
        if self.stopping:
            raise Stopping()
        # Our own buffered lines must come before the child's, which share the descriptor.
        sys.stdout.flush()
        sys.stderr.flush()
        self._starting = True
        try:
            child = self._child = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=None,
                                                   stderr=subprocess.PIPE)
        except OSError as exc:
            return Result(COMMAND_NOT_RUNNABLE, [f"{cmd[0]}: {exc.strerror or exc}"])
        finally:
            self._starting = False
        if self._pending is not None:
            child.send_signal(self._pending)
            self._pending = None
        tail = bytearray()
        pump = threading.Thread(target=_copy_stderr, args=(child.stderr, tail), daemon=True)
        pump.start()
        try:
            exit_code = child.wait()
        finally:
            self._child = None
        # The pipe closes when the child and everything it started have exited; a grandchild
        # that keeps it open must not hold the job, so wait only a little for the rest.
        pump.join(timeout=5)
        return Result(exit_code, _lines(bytes(tail)))


def _copy_stderr(stream, tail: bytearray) -> None:
    fd = stream.fileno()
    out = sys.stderr.buffer
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out.write(chunk)
        out.flush()
        tail += chunk
        del tail[:-TAIL_BYTES]
    stream.close()


def _lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", "replace").replace("\r", "\n")
    return [line for line in text.split("\n") if line.strip()]
