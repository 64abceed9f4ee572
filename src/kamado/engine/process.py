"""One program of a job, in its own process group, with its output read line by line.

The program's process group is its own (``start_new_session``) so that stopping a job reaches
every process the program started (a toolkit and the user's script under it), and so that the
group can be found and ended after a server restart from the pid and start time kept in the
store.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import BinaryIO, Callable, Sequence

LineSink = Callable[[str, str], None]  # (stream name "stdout"/"stderr", line without newline)


def start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (None if it is gone): with the pid, a process's
    identity across a restart, since pids are reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]


def end_group(pid: int, started: str | None) -> bool:
    """SIGKILL the process group led by ``pid`` if that process is still the one we started."""
    if started is None or start_time(pid) != started:
        return False
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def pin(pid: int, cpus: Sequence[int]) -> None:
    """Let a program run only on ``cpus`` (its threads, started later, inherit that)."""
    try:
        os.sched_setaffinity(pid, set(cpus))
    except (AttributeError, OSError):  # not on Linux, or the program already ended
        pass


class JobProcess:
    """A running program: its output pumped line by line into ``sink``, its group signalled.
    Subclasses say how it started and how its exit status is learnt."""

    pid: int
    started: str | None

    def _read(self, stdout: BinaryIO, stderr: BinaryIO, sink: LineSink) -> None:
        self._readers = [threading.Thread(target=self._pump, args=(pipe, name, sink), daemon=True,
                                          name=f"job-{self.pid}-{name}")
                         for pipe, name in ((stdout, "stdout"), (stderr, "stderr"))]
        for r in self._readers:
            r.start()

    @staticmethod
    def _pump(pipe, name: str, sink: LineSink) -> None:
        with pipe:
            for raw in iter(pipe.readline, b""):
                sink(name, raw.decode("utf-8", "replace").rstrip("\r\n"))

    def poll(self) -> int | None:
        raise NotImplementedError

    def on_exit(self, event: threading.Event) -> None:
        """Set ``event`` when the program ends (at once if it has), so a watcher wakes then
        rather than on its next poll."""
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit status (negative: the signal that ended it); None if still running after
        ``timeout`` seconds."""
        raise NotImplementedError

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def terminate(self, grace: float) -> int:
        """SIGTERM the group, wait up to ``grace`` seconds, then SIGKILL it (SageMaker's stop)."""
        self.signal_group(signal.SIGTERM)
        if self.wait(grace) is None:
            self.signal_group(signal.SIGKILL)
        code = self.wait()
        # The program may be gone while a child it left still runs in the group.
        self.signal_group(signal.SIGKILL)
        return code

    def finish(self, timeout: float = 10.0) -> None:
        """Wait for the output readers, so every line is in the sink before we report."""
        deadline = time.monotonic() + timeout
        for r in self._readers:
            r.join(max(0.0, deadline - time.monotonic()))


class SpawnedProcess(JobProcess):
    """A program started the ordinary way: a new process running ``argv``."""

    def __init__(self, argv: Sequence[str], *, env: dict[str, str], cwd: Path | str,
                 sink: LineSink, cpus: Sequence[int] | None = None) -> None:
        self.proc = subprocess.Popen(
            list(argv), env=env, cwd=str(cwd), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.pid = self.proc.pid
        if cpus:  # a fresh interpreter starts no threads before this lands
            pin(self.pid, cpus)
        self.started = start_time(self.pid)
        self._read(self.proc.stdout, self.proc.stderr, sink)

    def poll(self) -> int | None:
        return self.proc.poll()

    def on_exit(self, event: threading.Event) -> None:
        def waiter():
            self.proc.wait()
            event.set()
        threading.Thread(target=waiter, daemon=True, name=f"job-{self.pid}-exit").start()

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
