"""The fork server: a program forked from it behaves as one started afresh."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from kamado.engine.forkserver import ForkServer, ForkServers, fits
from kamado.images.registry import Image

PROGRAM = """
import json, os, sys, time
import numpy as np
mode = sys.argv[1]
if mode == "report":
    print(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(), "job": os.environ.get("JOB"),
                      "leftover": os.environ.get("LEFTOVER"), "pgid": os.getpgid(0),
                      "pid": os.getpid(), "random": float(np.random.rand()),
                      "main": __name__}), flush=True)
    print("to stderr", file=sys.stderr)
    sys.exit(int(sys.argv[2]))
if mode == "raise":
    raise ValueError("the last error line")
if mode == "wait":
    print("waiting", flush=True)
    time.sleep(600)
"""


class Lines:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []
        self.changed = threading.Condition()

    def __call__(self, stream: str, line: str) -> None:
        with self.changed:
            self.items.append((stream, line))
            self.changed.notify_all()

    def wait_for(self, text: str, timeout: float = 30) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: any(text in l for _, l in self.items), timeout)


@pytest.fixture
def server(tmp_path):
    (tmp_path / "forkprog.py").write_text(PROGRAM)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHONPATH")}
    env["LEFTOVER"] = "the server's"
    srv = ForkServer(["numpy"], env)
    yield srv, tmp_path
    srv.close()


def run(srv, cwd, *args, env=None):
    lines = Lines()
    proc = srv.start("forkprog", list(args), env=env or {"JOB": "one"}, cwd=cwd, sink=lines)
    return proc, lines


def test_a_forked_program_gets_the_jobs_argv_cwd_environment_and_group(server):
    srv, cwd = server
    proc, lines = run(srv, cwd, "report", "3")
    assert proc.wait(30) == 3
    proc.finish()
    report = json.loads(next(l for s, l in lines.items if s == "stdout"))
    assert report["argv"] == ["report", "3"]
    assert report["cwd"] == str(cwd)
    assert report["job"] == "one" and report["leftover"] is None
    assert report["pid"] == proc.pid == report["pgid"]  # a session and group of its own
    assert report["main"] == "__main__"
    assert ("stderr", "to stderr") in lines.items


def test_children_do_not_share_numpy_random_state(server):
    srv, cwd = server
    draws = []
    for _ in range(2):
        proc, lines = run(srv, cwd, "report", "0")
        assert proc.wait(30) == 0
        proc.finish()
        draws.append(json.loads(next(l for s, l in lines.items if s == "stdout"))["random"])
    assert draws[0] != draws[1]


def test_an_exception_exits_1_with_its_traceback(server):
    srv, cwd = server
    proc, lines = run(srv, cwd, "raise")
    assert proc.wait(30) == 1
    proc.finish()
    assert lines.items[-1] == ("stderr", "ValueError: the last error line")


def test_terminate_ends_the_group_and_reports_the_signal(server):
    srv, cwd = server
    proc, lines = run(srv, cwd, "wait")
    lines.wait_for("waiting")
    assert proc.poll() is None
    assert proc.terminate(5) == -signal.SIGTERM


def test_an_exit_wakes_its_watchers_whichever_way_the_program_started(server):
    """The training job's watcher sleeps until a program ends, not on a poll."""
    import sys

    from kamado.engine.process import SpawnedProcess

    srv, cwd = server
    forked, lines = run(srv, cwd, "wait")
    spawned = SpawnedProcess([sys.executable, "-c", "import time; time.sleep(600)"], env={},
                             cwd=cwd, sink=lambda *_: None)
    lines.wait_for("waiting")
    for proc in (forked, spawned):
        woke = threading.Event()
        proc.on_exit(woke)
        assert not woke.wait(0)
        proc.signal_group(signal.SIGTERM)
        assert woke.wait(30) and proc.poll() == -signal.SIGTERM
        late = threading.Event()
        proc.on_exit(late)  # after the exit: set at once
        assert late.wait(30)


def test_a_dead_server_ends_its_children_and_reports_them_killed(server):
    srv, cwd = server
    proc, lines = run(srv, cwd, "wait")
    lines.wait_for("waiting")
    srv.proc.kill()
    assert proc.wait(30) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while not gone(proc.pid):  # killed by the engine's side, then reaped by whoever adopted it
        assert time.monotonic() < deadline, f"pid {proc.pid} still runs"
        time.sleep(0.05)


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def test_jobs_that_change_load_time_variables_start_afresh():
    server_env = {"PATH": "/bin", "PYTHONUNBUFFERED": "1"}
    assert fits({"PATH": "/other", "PYTHONUNBUFFERED": "1", "SM_HOSTS": "[]"}, server_env)
    assert not fits({"PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "4"}, server_env)
    assert not fits({}, server_env)
    assert not fits({"PYTHONUNBUFFERED": "1", "LD_PRELOAD": "x.so"}, server_env)


def test_only_python_m_programs_of_images_with_a_preload_are_forked(tmp_path):
    import sys

    servers = ForkServers({"PYTHONUNBUFFERED": "1"})
    try:
        plain = Image("plain", "", "algorithm", train=(sys.executable, "-m", "json.tool"))
        argv = [sys.executable, "-m", "json.tool", "train"]
        assert servers.start(plain, argv, env={"PYTHONUNBUFFERED": "1"}, cwd=tmp_path,
                             sink=Lines()) is None
        assert servers.warm(plain) is None
        preloaded = Image("pre", "", "algorithm", train=(sys.executable, "-m", "json.tool"),
                          preload=("json",))
        assert servers.start(preloaded, ["/bin/echo", "train"], env={"PYTHONUNBUFFERED": "1"},
                             cwd=tmp_path, sink=Lines()) is None
        assert servers.start(preloaded, argv, env={"OMP_NUM_THREADS": "2"}, cwd=tmp_path,
                             sink=Lines()) is None
        (tmp_path / "in.json").write_text('{"a": 1}')
        lines = Lines()
        proc = servers.start(preloaded, [*argv[:3], "in.json"],
                             env={"PYTHONUNBUFFERED": "1"}, cwd=tmp_path, sink=lines)
        assert proc is not None and proc.wait(30) == 0
        proc.finish()
        assert [l for _, l in lines.items] == ["{", '    "a": 1', "}"]
    finally:
        servers.close()
