"""The engine: one scheduler for every kind of job, their job directories, and what a server
does with jobs it finds unfinished when it starts."""

from __future__ import annotations

import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kamado.engine import training
from kamado.engine.forkserver import ForkServers
from kamado.engine.hosting import Hosting
from kamado.engine.process import end_group
from kamado.engine.scheduler import Scheduler
from kamado.engine.transform.jobs import TransformJobs
from kamado.engine.tuning import Tuning
from kamado.images.registry import ImageRegistry
from kamado.store.metrics import MetricStore

if TYPE_CHECKING:
    from kamado.platform import Platform

log = logging.getLogger("kamado.engine")

# A job interrupted by a server restart is started again this many times at most, unless its
# RetryStrategy allows more (SageMaker retries a job that failed for an internal reason).
DEFAULT_RESTARTS = 1


@dataclass(frozen=True)
class Scope:
    """The account and region a job belongs to (what a RequestContext gives a provider)."""

    account_id: str
    region: str


class Engine:
    def __init__(self, platform: "Platform") -> None:
        self.platform = platform
        config = platform.config
        self.images = ImageRegistry(config.home)
        self.metrics = MetricStore(platform.db)
        self.stop_grace = float(config.stop_grace_seconds)
        self.scheduler = Scheduler(config.max_concurrent_jobs or os.cpu_count() or 1)
        self.forks = ForkServers(training.inherited_environment(), enabled=config.fork_server)
        self.hosting = Hosting(self)
        self.transforms = TransformJobs(self)
        self._runs: dict = {}  # ARN -> a queued or running job's run, of any kind
        self._listeners: list = []
        self.tuning = Tuning(self)
        self._cpu_lock = threading.Lock()
        self._cpu_next = 0
        self.started = False

    def job_root(self, scope: Scope, type: str, name: str) -> Path:
        root = self.platform.config.home / "jobs" / f"{scope.account_id}-{scope.region}" / type / name
        root.mkdir(parents=True, exist_ok=True)
        return root

    def cpu_share(self, hosts: int = 1) -> list[int]:
        """The CPUs one host of a job starting now may use: the machine divided among the jobs
        running, or that tuning jobs will keep running (each SageMaker job has its instance's
        cores to itself; here concurrent jobs that each took every core would only contend).
        Successive jobs get successive CPUs."""
        try:
            cpus = sorted(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux: no pinning
            return []
        running = max(1, len(self.scheduler.active()), self.tuning.demand()) * max(1, hosts)
        share = max(1, len(cpus) // running)
        with self._cpu_lock:
            start, self._cpu_next = self._cpu_next, self._cpu_next + share
        return [cpus[(start + i) % len(cpus)] for i in range(share)]

    def remove_job_dir(self, scope: Scope, type: str, name: str) -> None:
        shutil.rmtree(self.job_root(scope, type, name), ignore_errors=True)

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Recover what the last server left unfinished, then start the slots."""
        if self.started:
            return
        self.started = True
        self.recover()
        self.transforms.recover()
        self.hosting.recover()
        self.scheduler.start()
        self.tuning.recover()

    def close(self) -> None:
        self.tuning.close()  # before the jobs: a driver must not act on jobs being abandoned
        for run in self.scheduler.close():
            run.abandon()
        self.hosting.close()
        self.forks.close()

    def on_finish(self, listener) -> None:
        """``listener(run)`` is called when a job reaches a final status (experiments, tuning)."""
        self._listeners.append(listener)

    def finished(self, run) -> None:
        self._runs.pop(run.key, None)
        for listener in self._listeners:
            try:
                listener(run)
            except Exception:  # noqa: BLE001
                log.exception("a finish listener failed for %s", run.key)

    # --- jobs -------------------------------------------------------------------------------------
    def submit(self, run) -> None:
        """Queue a job of any kind (a task with ``key``, ``run()``, ``stop()``, ``abandon()``);
        :meth:`stop` finds it by its key until it calls :meth:`release`."""
        self._runs[run.key] = run
        self.scheduler.submit(run)

    def release(self, run) -> None:
        self._runs.pop(run.key, None)

    def submit_training(self, scope: Scope, name: str, arn: str) -> None:
        run = training.TrainingRun(self, Scope(scope.account_id, scope.region), name, arn)
        self._runs[arn] = run
        self.scheduler.submit(run)

    def stop(self, arn: str) -> str:
        """"queued" if the job had not started (it is taken out of the queue), "running" if its
        programs are being stopped, "unknown" if this engine does not run it."""
        if self.scheduler.cancel(arn):
            self._runs.pop(arn, None)
            return "queued"
        run = self._runs.get(arn)
        if run is None:
            return "unknown"
        run.stop()
        return "running"

    def end_queued(self, scope: Scope, name: str) -> None:
        """A job stopped before it left the queue is Stopped at once."""
        self._end(scope, name, "Stopped", None)

    def recover(self) -> None:
        resources = self.platform.resources
        for job in resources.scan(training.TYPE, statuses=("InProgress", "Stopping")):
            scope = Scope(job.account_id, job.region)
            for pid, started in (job.data.get("_processes") or {}).values():
                if end_group(pid, started):
                    log.warning("ended the orphaned program (pid %s) of %s", pid, job.name)
            if job.status == "Stopping":
                self._end(scope, job.name, job.data.get("_stop_reason") or "Stopped", None)
                continue
            if not job.data.get("_started"):
                self.submit_training(scope, job.name, job.arn)  # never left the queue
                continue
            allowed = max(DEFAULT_RESTARTS,
                          (job.data.get("RetryStrategy") or {}).get("MaximumRetryAttempts", 0))
            if job.data.get("_restarts", 0) >= allowed:
                self._end(scope, job.name, "Failed",
                          "InternalServerError: kamado stopped while the job ran "
                          f"({job.data.get('_restarts', 0) + 1} times); it was not retried again.")
                continue

            def requeue(data):
                data = training.add_transition(data, "Restarting")
                data = training.add_transition(data, "Starting", "Starting the training job")
                data["_restarts"] = data.get("_restarts", 0) + 1
                data["_started"] = False
                data.pop("_processes", None)
                return data
            resources.update(scope, training.TYPE, job.name, requeue)
            self.submit_training(scope, job.name, job.arn)

    def _end(self, scope: Scope, name: str, secondary: str, reason: str | None) -> None:
        primary = {"Completed": "Completed", "Failed": "Failed"}.get(secondary, "Stopped")

        def change(data):
            data = training.add_transition(data, secondary)
            data["TrainingEndTime"] = training.now()
            data.pop("_processes", None)
            if reason:
                data["FailureReason"] = reason
            return data
        self.platform.resources.update(scope, training.TYPE, name, change, status=primary)
