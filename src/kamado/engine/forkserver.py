"""A built-in image's programs started from a process that has already imported its libraries.

A job of a built-in image spends most of its first second importing NumPy, PyArrow and XGBoost.
The engine keeps one fork server per such image: a Python process that imported the image's
``preload`` modules once and forks a child for each job, which then runs the image's module as
``python -m`` would. The child is a job program like any other: its own session and process
group, its job directory as working directory, the job's environment, its output on the pipes
the engine reads; the fork server reports its exit status.

Only what a fresh interpreter would do differently is guarded against: a job whose environment
changes a variable that libraries read when they load (thread counts, allocators, Python's own
settings) is started the ordinary way (:func:`fits`), and the child reseeds NumPy's global
generator, which a fork would otherwise hand every job in the same state.

Protocol, over an ``AF_UNIX``/``SOCK_SEQPACKET`` pair (one JSON object per message; the
request carries the stdout and stderr pipe ends as ``SCM_RIGHTS``):
    engine -> server  {"id": n, "module": ..., "args": [...], "env": {...}, "cwd": ...}
    server -> engine  {"ready": true} once, after the preload
                      {"id": n, "pid": pid} or {"id": n, "error": message}
                      {"pid": pid, "exit": code}  (negative: the signal that ended it)
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Sequence

from kamado.engine.process import JobProcess, LineSink, start_time

log = logging.getLogger("kamado.engine")

MAX_MESSAGE = 1 << 20
# Variables read when a library (or Python itself) loads, not when it is used: a child of the
# fork server inherits them as the server had them, so a job that sets them starts afresh.
LOAD_TIME = re.compile(r"^(PYTHON|LD_|OMP_|GOMP_|KMP_|MKL_|OPENBLAS_|GOTO|BLIS_|VECLIB_"
                       r"|NUMEXPR_|ARROW_|MALLOC_|XGBOOST_)")


def fits(job_env: dict[str, str], server_env: dict[str, str]) -> bool:
    """Whether a job with ``job_env`` can be forked from a server started with ``server_env``."""
    names = {k for k in (*job_env, *server_env) if LOAD_TIME.match(k)}
    return all(job_env.get(k) == server_env.get(k) for k in names)


def _send(sock: socket.socket, message: dict) -> None:
    sock.send(json.dumps(message).encode())


# --- the server process ---------------------------------------------------------------------------
def _preload(entries: list[str]) -> None:
    import importlib

    for entry in entries:
        module, _, function = entry.partition(":")
        loaded = importlib.import_module(module)
        if function:
            getattr(loaded, function)()


def _child(request: dict, fds: list[int], sock: socket.socket, wakeup: int) -> None:
    """In the forked child: become the job's program, then exit with its status."""
    code = 1
    try:
        sock.close()
        os.close(wakeup)
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setsid()
        if request.get("cpus"):
            os.sched_setaffinity(0, set(request["cpus"]))
        devnull = os.open(os.devnull, os.O_RDONLY)
        for target, fd in ((0, devnull), (1, fds[0]), (2, fds[1])):
            os.dup2(fd, target)
        for fd in (devnull, *fds):
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[0] = request["cwd"]  # what `python -m` puts first
        sys.argv = ["-m", *request["args"]]
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        import runpy

        # preloaded as a module, run now as __main__: runpy warns about the stale copy
        sys.modules.pop(request["module"] + ".__main__", None)
        try:
            runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            if exc.code is None:
                code = 0
            elif isinstance(exc.code, int):
                code = exc.code
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except BaseException:  # noqa: BLE001 - reported as the interpreter would
            import traceback

            traceback.print_exc()
            code = 1
        import atexit
        import threading

        for thread in threading.enumerate():  # the interpreter waits for these at exit too
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join()
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code & 0xFF)


def serve(fd: int, preload: list[str]) -> None:
    sock = socket.socket(fileno=fd)
    _preload(preload)
    read_wakeup, write_wakeup = os.pipe()
    os.set_blocking(write_wakeup, False)
    signal.set_wakeup_fd(write_wakeup)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the selector through the pipe
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ, "request")
    selector.register(read_wakeup, selectors.EVENT_READ, "child")
    _send(sock, {"ready": True})
    children: set[int] = set()
    while True:
        for key, _ in selector.select():
            if key.data == "child":
                os.read(read_wakeup, 4096)
                _reap(sock, children)
                continue
            try:
                data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, 2)
            except OSError:
                data, fds = b"", []
            if not data:
                return  # the engine is gone; running children carry on as orphans
            request = json.loads(data)
            sys.stdout.flush()
            sys.stderr.flush()
            try:
                pid = os.fork()
            except OSError as exc:
                for fd in fds:
                    os.close(fd)
                _send(sock, {"id": request["id"], "error": f"fork failed: {exc}"})
                continue
            if pid == 0:
                _child(request, fds, sock, read_wakeup)
            for fd in fds:
                os.close(fd)
            children.add(pid)
            _send(sock, {"id": request["id"], "pid": pid})
        _reap(sock, children)


def _reap(sock: socket.socket, children: set[int]) -> None:
    for pid in list(children):
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done, status = pid, 255 << 8
        if done:
            children.discard(pid)
            _send(sock, {"pid": pid, "exit": os.waitstatus_to_exitcode(status)})


# --- the engine's side ----------------------------------------------------------------------------
class Unavailable(Exception):
    """The fork server cannot start this program; the engine starts it the ordinary way."""


class ForkedProcess(JobProcess):
    def __init__(self, server: "ForkServer") -> None:
        self.server = server
        self.pid = 0
        self.started = None
        self.error: str | None = None
        self._code: int | None = None
        self._exited = threading.Event()
        self._forked = threading.Event()
        self._watchers: list[threading.Event] = []

    def _exit(self, code: int) -> None:
        self._code = code
        self._exited.set()
        for event in self._watchers:
            event.set()

    def poll(self) -> int | None:
        return self._code

    def on_exit(self, event: threading.Event) -> None:
        self._watchers.append(event)
        if self._exited.is_set():
            event.set()

    def wait(self, timeout: float | None = None) -> int | None:
        self._exited.wait(timeout)
        return self._code


class ForkServer:
    """One fork server process, with the modules of one image imported."""

    def __init__(self, preload: Sequence[str], env: dict[str, str]) -> None:
        self.env = dict(env)
        self.ready = threading.Event()
        self.alive = True
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, ForkedProcess] = {}
        self._running: dict[int, ForkedProcess] = {}
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            # A session of its own: a Ctrl-C meant for the server must not reach it.
            self.proc = subprocess.Popen(
                [sys.executable, "-m", __name__, str(theirs.fileno()), *preload],
                pass_fds=[theirs.fileno()], env=self.env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        threading.Thread(target=self._listen, daemon=True, name="forkserver").start()
        threading.Thread(target=self._log_stderr, daemon=True, name="forkserver-log").start()

    def _log_stderr(self) -> None:
        with self.proc.stderr as pipe:
            for raw in iter(pipe.readline, b""):
                log.warning("fork server: %s", raw.decode("utf-8", "replace").rstrip())

    def _listen(self) -> None:
        while True:
            try:
                data = self.sock.recv(MAX_MESSAGE)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            if message.get("ready"):
                self.ready.set()
            elif "id" in message:
                process = self._pending.pop(message["id"])
                if "pid" in message:
                    process.pid = message["pid"]
                    process.started = start_time(process.pid)
                    self._running[process.pid] = process
                else:
                    process.error = message["error"]
                process._forked.set()
            elif "exit" in message:
                process = self._running.pop(message["pid"], None)
                if process is not None:
                    process._exit(message["exit"])
        self._lost()

    def _lost(self) -> None:
        """The server died (or was closed): nobody can report its children's exit any more,
        so they are ended here and reported killed."""
        self.alive = False
        self.ready.set()
        for process in list(self._pending.values()):
            process.error = "the fork server stopped"
            process._forked.set()
        for pid, process in list(self._running.items()):
            process.signal_group(signal.SIGKILL)
            process._exit(-signal.SIGKILL)
        self._pending.clear()
        self._running.clear()

    def start(self, module: str, args: Sequence[str], *, env: dict[str, str], cwd: Path | str,
              sink: LineSink, timeout: float = 60.0,
              cpus: Sequence[int] | None = None) -> ForkedProcess:
        if not self.ready.wait(timeout) or not self.alive:
            raise Unavailable("the fork server is not running")
        process = ForkedProcess(self)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            with self._lock:
                request_id = next(self._ids)
                self._pending[request_id] = process
                message = json.dumps({"id": request_id, "module": module, "args": list(args),
                                      "env": env, "cwd": str(cwd),
                                      "cpus": list(cpus or ())}).encode()
                try:
                    socket.send_fds(self.sock, [message], [out_w, err_w])
                except OSError as exc:
                    self._pending.pop(request_id, None)
                    raise Unavailable(f"the fork server did not take the request: {exc}") from None
        finally:
            os.close(out_w)
            os.close(err_w)
        if not process._forked.wait(timeout) or process.error:
            os.close(out_r)
            os.close(err_r)
            raise Unavailable(process.error or "the fork server did not answer")
        process._read(open(out_r, "rb"), open(err_r, "rb"), sink)
        return process

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class ForkServers:
    """The engine's fork servers, one per image that names modules to preload, each started
    the first time a job of its image runs."""

    def __init__(self, env: dict[str, str], enabled: bool = True) -> None:
        self.env = env
        self.enabled = enabled
        self._servers: dict[str, ForkServer] = {}
        self._lock = threading.Lock()

    def warm(self, image) -> ForkServer | None:
        """The image's fork server, started if need be (without waiting for its preload)."""
        if not self.enabled or not image.preload:
            return None
        with self._lock:
            server = self._servers.get(image.name)
            if server is None or not server.alive:
                try:
                    server = self._servers[image.name] = ForkServer(image.preload, self.env)
                except OSError as exc:
                    log.warning("cannot start the fork server of %s: %s", image.name, exc)
                    return None
            return server

    def start(self, image, argv: Sequence[str], *, env: dict[str, str], cwd: Path | str,
              sink: LineSink, cpus: Sequence[int] | None = None) -> JobProcess | None:
        """The program forked from the image's server; None when it has to start afresh."""
        program = tuple(argv[:3])
        if (program[:2] != (sys.executable, "-m") or len(program) != 3
                or program not in (tuple(image.train or ()), tuple(image.serve or ()))):
            return None
        if not fits(env, self.env):
            return None
        server = self.warm(image)
        if server is None:
            return None
        try:
            return server.start(program[2], argv[3:], env=env, cwd=cwd, sink=sink, cpus=cpus)
        except Unavailable as exc:
            log.warning("starting %s without its fork server: %s", image.name, exc)
            return None

    def close(self) -> None:
        with self._lock:
            servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            server.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2:])
