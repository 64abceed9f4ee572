"""Hyperparameter tuning jobs: one driver thread per job in progress.

A driver asks its :class:`~kamado.tuning.search.Search` for hyperparameters, records each
training job through the training provider (so a child is checked, recorded and run exactly
like any training job, with ``TuningJobArn`` in its document), watches their objective
metric for early stopping, and ends the tuning job when its budget, a completion criterion,
its runtime or a stop request says so.

Nothing lives only in memory: a child is recorded before it runs, with its trial number and
tuned values, so a restarted server rebuilds the search from the store (:meth:`Tuning.recover`)
and goes on with the next trial; the training engine re-queues the children that were running.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
from typing import TYPE_CHECKING

from kamado.engine import training
from kamado.errors import AwsError
from kamado.store.types import now
from kamado.tuning import progress
from kamado.tuning.plan import Definition, Plan, parse_request
from kamado.tuning.progress import Child
from kamado.tuning.search import Record, Search

if TYPE_CHECKING:
    from kamado.engine.engine import Engine, Scope

log = logging.getLogger("kamado.engine")

TYPE = "HyperParameterTuningJob"
TERMINAL = ("Completed", "Failed", "Stopped")
RETRIES = 2  # times a training job that failed for an internal reason is run again
FAIL_FAST = 3  # a search whose first jobs all fail for the same reason is not going to improve
IDLE_POLL = 1.0
WATCH_POLL = 0.2  # while a pruner watches the running jobs' objective metric
_CHILD_KEYS = ("InputDataConfig", "VpcConfig", "EnableNetworkIsolation",
               "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining",
               "CheckpointConfig", "RetryStrategy", "Environment")


def children(platform, metrics, scope, job, plan: Plan | None = None) -> list[Child]:
    """A tuning job's training jobs, oldest first, with their objective values."""
    plan = plan or parse_request(job.data)
    rows, _ = platform.resources.list(scope, training.TYPE, where={"TuningJobArn": job.arn},
                                      sort_by="CreationTime", sort_order="Ascending")
    values = metrics.last_of([r.arn for r in rows], {d.objective_name for d in plan.definitions})
    found, last_of_trial = [], {}
    for r in rows:
        t = r.data.get("_tuning") or {}
        d = plan.definition(t.get("Definition"))
        child = Child(r.name, r.arn, r.status, r.creation_time, d.name, t.get("Tuned") or {},
                      d.objective_name, d.objective_type, values.get((r.arn, d.objective_name)),
                      r.data.get("TrainingStartTime"), r.data.get("TrainingEndTime"),
                      r.data.get("FailureReason"), t.get("Trial", 0))
        if child.trial in last_of_trial:
            last_of_trial[child.trial].retried = True
        last_of_trial[child.trial] = child
        found.append(child)
    return found


def child_name(tuning_name: str, index: int, arn: str) -> str:
    """``<tuning job>-<index>-<8 hex>``, as SageMaker names a tuning job's training jobs."""
    digest = hashlib.sha1(f"{arn}/{index}".encode()).hexdigest()[:8]
    return f"{tuning_name}-{index:03d}-{digest}"


def child_request(d: Definition, name: str, tuned: dict[str, str]) -> dict:
    spec = d.request
    algorithm = {k: v for k, v in spec["AlgorithmSpecification"].items()
                 if k in ("TrainingImage", "AlgorithmName", "TrainingInputMode",
                          "MetricDefinitions")}
    hyperparameters = {**d.static, **tuned}
    # As SageMaker passes it: the built-in algorithms emit the metric they are tuned on.
    hyperparameters.setdefault("_tuning_objective_metric", d.objective_name)
    request = {"TrainingJobName": name, "AlgorithmSpecification": algorithm,
               "RoleArn": spec["RoleArn"], "HyperParameters": hyperparameters,
               "OutputDataConfig": spec["OutputDataConfig"],
               "StoppingCondition": spec["StoppingCondition"]}
    request.update({k: spec[k] for k in _CHILD_KEYS if k in spec})
    resources = spec.get("ResourceConfig") or {
        k: v for k, v in (spec.get("HyperParameterTuningResourceConfig") or {}).items()
        if k in ("InstanceType", "InstanceCount", "VolumeSizeInGB", "VolumeKmsKeyId")}
    request["ResourceConfig"] = {"InstanceType": "ml.m5.large", "InstanceCount": 1,
                                 "VolumeSizeInGB": 1, **resources}
    return request


class Tuning:
    """The engine's side of tuning: a driver per tuning job in progress."""

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        self.platform = engine.platform
        self.training = None  # the TrainingJobs provider, which records and stops children
        self._runs: dict[str, TuningRun] = {}
        self._children: dict[str, TuningRun] = {}  # a running child's ARN -> its driver
        self._lock = threading.Lock()
        engine.on_finish(self._child_finished)

    def attach(self, training_provider) -> None:
        self.training = training_provider

    def submit(self, scope: "Scope", name: str, arn: str) -> None:
        with self._lock:
            if arn in self._runs:
                return
            run = self._runs[arn] = TuningRun(self, scope, name, arn)
        run.thread.start()

    def demand(self) -> int:
        """How many training jobs the tuning jobs in progress mean to run at once."""
        with self._lock:
            runs = list(self._runs.values())
        return sum(run.plan.max_parallel for run in runs if getattr(run, "plan", None))

    def wake(self, arn: str) -> None:
        run = self._runs.get(arn)
        if run is not None:
            run.wake.set()

    def recover(self) -> None:
        from kamado.engine.engine import Scope as JobScope  # the engine imports this module

        for job in self.platform.resources.scan(TYPE, statuses=("InProgress", "Stopping")):
            self.submit(JobScope(job.account_id, job.region), job.name, job.arn)

    def close(self) -> None:
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.closing = True
            run.wake.set()
        for run in runs:
            run.thread.join(5)

    def _child_finished(self, run) -> None:
        driver = self._children.pop(run.key, None)
        if driver is not None:
            driver.finishing.add(run.key)
            driver.wake.set()


class TuningRun:
    def __init__(self, tuning: Tuning, scope: "Scope", name: str, arn: str) -> None:
        self.tuning, self.scope, self.name, self.arn = tuning, scope, name, arn
        self.platform = tuning.platform
        self.engine = tuning.engine
        self.metrics = tuning.engine.metrics
        self.wake = threading.Event()
        self.closing = False
        self.finishing: set[str] = set()  # children whose end is being committed
        self.thread = threading.Thread(target=self.run, daemon=True, name=f"tuning-{name}")
        self.told: set[str] = set()
        self.trial_of: dict[int, int] = {}  # our trial index -> Optuna's trial number
        self.cursor: dict[str, tuple[int, int]] = {}  # child ARN -> (metric id, steps seen)
        self.early: set[str] = set()  # children stopped early (pruned)
        self.ending: tuple[str, str | None, dict] | None = None
        self.converged_at = None

    # --- store ----------------------------------------------------------------------------------
    def job(self):
        return self.platform.resources.get(self.scope, TYPE, self.name)

    def update(self, change, status: str | None = None) -> None:
        kwargs = {} if status is None else {"status": status}
        self.platform.resources.update(self.scope, TYPE, self.name, change, **kwargs)

    # --- the run --------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 - kamado's own failure, reported as AWS does
            log.exception("tuning job %s failed inside kamado", self.name)
            if not self.closing:
                self._abandon_children()
                self._finish("Failed", f"InternalServerError: {type(exc).__name__}: {exc}")
        finally:
            with self.tuning._lock:
                self.tuning._runs.pop(self.arn, None)

    def _run(self) -> None:
        job = self.job()
        if job.status in TERMINAL:
            return
        plan = self.plan = parse_request(job.data)
        self.started = job.creation_time
        self.search = Search(name=job.arn, strategy=plan.strategy, maximize=plan.maximize,
                             spaces=plan.spaces(), seed=job.data["_Seed"],
                             max_jobs=plan.max_jobs, early_stopping=plan.early_stopping,
                             min_resource=plan.min_resource, max_resource=plan.max_resource)
        self.search.replay(job.data.get("_Priors") and self._priors(job) or [])
        self._resume(children(self.platform, self.metrics, self.scope, job, plan))
        while not self.closing:
            job = self.job()
            kids = children(self.platform, self.metrics, self.scope, job, plan)
            running = [c for c in kids if c.status in ("InProgress", "Stopping")]
            if job.status == "Stopping":
                self._stop_all(running)
                if not running:
                    self._finish("Stopped")
                    return
                self._wait(running)
                continue
            if self._take_finished(kids):
                continue  # a retry was recorded: look again before deciding anything
            self._watch(running)
            if self.ending is None:
                self.ending = self._should_end(kids, running)
            if self.ending is not None:
                self._stop_all(running)
                if not running:
                    self._finish(*self.ending)
                    return
            else:
                self._launch(kids, running)
            self._wait(running)

    def _wait(self, running: list[Child]) -> None:
        # A child's end is committed just after its engine says it finished; until the store
        # shows it, look again soon rather than after a full poll.
        self.finishing &= {c.arn for c in running}
        pending = bool(self.finishing)
        watching = self.plan.early_stopping or self.plan.strategy == "Hyperband"
        timeout = 0.02 if pending else (WATCH_POLL if watching and running else IDLE_POLL)
        self.wake.wait(timeout)
        self.wake.clear()

    def _abandon_children(self) -> None:
        """A driver that failed stops its training jobs rather than leave them unwatched."""
        try:
            job = self.job()
            self._stop_all(children(self.platform, self.metrics, self.scope, job))
        except Exception:  # noqa: BLE001 - already failing; the reason is logged above
            log.exception("could not stop the training jobs of %s", self.name)

    # --- resuming -------------------------------------------------------------------------------
    def _priors(self, job) -> list[Record]:
        """Warm start: the parents' finished training jobs, as trials the search knows."""
        records = []
        for parent_name in job.data["_Priors"]:
            parent = self.platform.resources.get(self.scope, TYPE, parent_name, missing_ok=True)
            if parent is None:
                continue
            for c in children(self.platform, self.metrics, self.scope, parent):
                if c.objective_status == "Succeeded":
                    records.append(Record(c.definition or "default", c.tuned, "Complete",
                                          c.objective))
        return records

    def _resume(self, kids: list[Child]) -> None:
        """Make the search's history what the store says (nothing after a fresh start)."""
        self.count = len(kids)
        latest: dict[int, Child] = {}
        for c in kids:
            latest[c.trial] = c
        records, order = [], sorted(latest)
        for t in order:
            c = latest[t]
            intermediate = {}
            if c.status in ("InProgress", "Stopping", "Stopped"):
                points = self.metrics.after(c.arn, c.objective_name, 0)
                intermediate = {step: p.value for step, (_, p) in enumerate(points, start=1)}
                if c.status != "Stopped":  # it goes on reporting from where it is
                    self.cursor[c.arn] = (points[-1][0] if points else 0, len(points))
                    self.tuning._children[c.arn] = self
            records.append(Record(c.definition or "default", c.tuned, self._state(c),
                                  c.objective, intermediate))
        for t, number in zip(order, self.search.replay(records)):
            self.trial_of[t] = number
        self.told.update(c.name for c in kids if c.status not in ("InProgress", "Stopping"))

    @staticmethod
    def _state(c: Child) -> str:
        if c.status in ("InProgress", "Stopping"):
            return "Running"
        if c.status == "Completed":
            return "Complete"
        return "Pruned" if c.status == "Stopped" else "Failed"

    # --- children -------------------------------------------------------------------------------
    def _take_finished(self, kids: list[Child]) -> bool:
        """Tell the search how finished jobs did; True if one was started again."""
        retried = False
        retries: dict[int, int] = {}
        for c in kids:
            retries[c.trial] = retries.get(c.trial, -1) + 1
        for c in kids:
            if c.name in self.told or c.status in ("InProgress", "Stopping") or c.retried:
                continue
            self.told.add(c.name)
            if c.retryable and retries[c.trial] < RETRIES and self.ending is None:
                self._start_child(self.plan.definition(c.definition), c.trial, c.tuned)
                retried = True
                continue
            state = self._state(c)
            if state == "Pruned" and c.arn not in self.early:
                state = "Complete"  # stopped at Hyperband's MaxResource, or by the user
            self.search.tell(self.trial_of.get(c.trial, -1), state, c.objective)
        return retried

    def _watch(self, running: list[Child]) -> None:
        """Early stopping and Hyperband: feed each running job's new objective values to the
        pruner; stop the jobs it gives up on, and Hyperband's jobs at MaxResource."""
        plan = self.plan
        if not (plan.early_stopping or plan.strategy == "Hyperband"):
            return
        for c in running:
            if c.status != "InProgress" or c.arn not in self.cursor:
                continue
            last_id, steps = self.cursor[c.arn]
            for point_id, point in self.metrics.after(c.arn, c.objective_name, last_id):
                last_id, steps = point_id, steps + 1
                if self.search.report(self.trial_of.get(c.trial, -1), steps, point.value):
                    self.early.add(c.arn)
                    self._stop_child(c)
                    break
                if plan.strategy == "Hyperband" and steps >= plan.max_resource:
                    self._stop_child(c)
                    break
            self.cursor[c.arn] = (last_id, steps)

    def _launch(self, kids: list[Child], running: list[Child]) -> None:
        trials = {c.trial for c in kids}
        room = self.plan.max_parallel - len(running)
        while room > 0 and len(trials) < self.plan.max_jobs and not self.search.exhausted():
            proposal = self.search.ask()
            index = len(trials)
            trials.add(index)
            self.trial_of[index] = proposal.trial
            self._start_child(self.plan.definition(proposal.definition), index,
                              proposal.hyperparameters)
            room -= 1

    def _start_child(self, d: Definition, trial: int, tuned: dict[str, str]) -> None:
        self.count += 1
        name = child_name(self.name, self.count, self.arn)
        request = child_request(d, name, tuned)
        extra = {"TuningJobArn": self.arn,
                 "_tuning": {"Trial": trial, "Definition": d.name, "Tuned": tuned}}
        try:
            arn = self.tuning.training.record(self.scope, request, extra=extra)
        except AwsError as exc:
            self.ending = ("Failed", f"ClientError: The training job {name} could not be "
                                     f"created: {exc.message}", {})
            return
        self.tuning._children[arn] = self
        self.cursor[arn] = (0, 0)

    def _stop_child(self, c: Child) -> None:
        try:
            self.tuning.training.stop(self.scope, c.name)
        except AwsError:
            pass  # it finished meanwhile

    def _stop_all(self, running: list[Child]) -> None:
        for c in running:
            if c.status == "InProgress":
                self._stop_child(c)

    # --- ending ---------------------------------------------------------------------------------
    def _should_end(self, kids: list[Child], running: list[Child]):
        plan = self.plan
        values = progress.objectives(kids)
        stale = progress.not_improving(values, plan.maximize)
        if plan.convergence and self.converged_at is None and progress.converged(
                values, plan.maximize):
            self.converged_at = now()
        details = {"NumberOfTrainingJobsObjectiveNotImproving": stale}
        if self.converged_at is not None:
            details["ConvergenceDetectedTime"] = self.converged_at
        best = progress.best(kids)
        if plan.max_runtime and (now() - self.started).total_seconds() >= plan.max_runtime:
            return ("Stopped", None, details)
        if plan.target is not None and best is not None and (
                best.objective >= plan.target if plan.maximize else best.objective <= plan.target):
            return ("Completed", None, details)
        if plan.not_improving and stale >= plan.not_improving:
            return ("Completed", None, details)
        if self.converged_at is not None:
            return ("Completed", None, details)
        final = [c for c in kids if not c.retried and c.status not in ("InProgress", "Stopping")]
        firsts = [c for c in final if c.trial < FAIL_FAST]
        if (len(firsts) == min(FAIL_FAST, plan.max_jobs)
                and all(c.objective_status == "Failed" for c in firsts)
                and not any(c.objective_status == "Succeeded" for c in kids)):
            return ("Failed", f"ClientError: The first {len(firsts)} training jobs failed; the "
                              f"last one, {firsts[-1].name}, with: "
                              f"{firsts[-1].failure or 'no objective metric ' + firsts[-1].objective_name}",
                    details)
        trials = {c.trial for c in kids}
        done = len(trials) >= plan.max_jobs or self.search.exhausted()
        if done and not running:
            if not any(c.objective_status == "Succeeded" for c in kids):
                last = final[-1] if final else None
                reason = (f"ClientError: No training job reported the objective metric "
                          f"{plan.definitions[0].objective_name}"
                          + (f"; the last one, {last.name}, ended {last.status}"
                             + (f": {last.failure}" if last.failure else "") if last else ""))
                return ("Failed", reason[:1024], details)
            return ("Completed", None, details)
        return None

    def _finish(self, status: str, reason: str | None = None, details: dict | None = None) -> None:
        def change(data):
            data["HyperParameterTuningEndTime"] = now()
            if reason:
                data["FailureReason"] = reason
            if details is not None:
                data["TuningJobCompletionDetails"] = details
            return data
        self.update(change, status=status)
        log.info("tuning job %s %s", self.name, status)


def seed_for(config: dict) -> int:
    seed = config.get("RandomSeed")
    return int(seed) if seed is not None else random.SystemRandom().randrange(2**31)


def runtime_seconds(job) -> int:
    end = job.data.get("HyperParameterTuningEndTime") or now()
    return max(0, int(round((end - job.creation_time).total_seconds())))
