"""One training job's way from queued to a final status (training-contract.md §11).

Starting → Downloading → Training → Uploading → Completed, or Failed / Stopped /
MaxRuntimeExceeded. Each step is written to the store before it starts, so what a user
describes is what is happening; a server that dies mid-job finds the job InProgress at its
next start and re-queues it (:meth:`Engine.recover`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import signal
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kamado.engine import artifacts, channels, container, jobdir
from kamado.engine.joblog import JobLog, MetricRule
from kamado.engine.process import JobProcess, SpawnedProcess
from kamado.images.environment import FAILURE_LIMIT, in_job_dir
from kamado.images.registry import jumpstart_algorithm
from kamado.storage.uri import filesystem, is_s3
from kamado.store.metrics import MetricPoint
from kamado.store.types import now

if TYPE_CHECKING:
    from kamado.engine.engine import Engine, Scope

log = logging.getLogger("kamado.engine")

TYPE = "TrainingJob"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
TERMINAL = ("Completed", "Failed", "Stopped")
MESSAGES = {
    "Starting": "Preparing the instances for training",
    "Downloading": "Downloading input data",
    "Training": "Training image download completed. Training in progress.",
    "Uploading": "Uploading generated training model",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopping": "Stopping the training job",
    "Stopped": "Training job stopped",
    "MaxRuntimeExceeded": "Training job runtime exceeded MaxRuntimeInSeconds provided",
    "Restarting": "kamado restarted while the job ran; starting it again",
}
_KNOWN_PREFIXES = ("ClientError", "AlgorithmError", "InternalServerError", "CapacityError")


def failure_reason(text: str) -> str:
    text = text.strip()
    if not text.startswith(_KNOWN_PREFIXES):
        text = f"AlgorithmError: {text}"
    return text[:FAILURE_LIMIT]


def add_transition(data: dict, status: str, message: str | None = None,
                   at: dt.datetime | None = None) -> dict:
    """Close the current secondary status and open ``status`` (each EndTime is the next
    StartTime; a final status starts and ends at once)."""
    at = at or now()
    transitions = list(data.get("SecondaryStatusTransitions") or [])
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1] = {**transitions[-1], "EndTime": at}
    entry = {"Status": status, "StartTime": at,
             "StatusMessage": message or MESSAGES.get(status, status)}
    if status in ("Completed", "Failed", "Stopped", "MaxRuntimeExceeded"):
        entry["EndTime"] = at
    transitions.append(entry)
    data["SecondaryStatusTransitions"] = transitions
    data["SecondaryStatus"] = status
    return data


def inherited_environment() -> dict[str, str]:
    """What every job's programs inherit from the server's environment (a fork server too)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KAMADO_", "AWS_", "SM_", "SAGEMAKER_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _decoded(value: str | None) -> str | None:
    """A hyperparameter as the toolkit reads it: JSON-decoded when it is JSON."""
    if value is None:
        return None
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value


@dataclass
class Host:
    name: str
    env: object  # TrainingEnvironment
    stream: str
    joblog: JobLog | None = None
    process: JobProcess | None = None
    feeders: list = field(default_factory=list)
    checkpoints: artifacts.CheckpointSync | None = None


class Outcome(Exception):
    """Ends a run early with a final status (e.g. a channel that cannot be downloaded)."""

    def __init__(self, secondary: str, reason: str | None = None) -> None:
        super().__init__(reason or secondary)
        self.secondary, self.reason = secondary, reason


class TrainingRun:
    def __init__(self, engine: "Engine", scope: "Scope", name: str, arn: str) -> None:
        self.engine, self.scope, self.name, self.key = engine, scope, name, arn
        self.platform = engine.platform
        self.config = engine.platform.config
        self.objects = engine.platform.objects
        self.stop_requested = threading.Event()
        self.wake = threading.Event()  # a program ended, or a stop was asked for
        self.abandoned = False
        self.hosts: list[Host] = []
        self.reason_stop: str | None = None  # "Stopped" or "MaxRuntimeExceeded"
        self.model_uri: str | None = None

    # --- store ---------------------------------------------------------------------------------
    def job(self):
        return self.platform.resources.get(self.scope, TYPE, self.name)

    def update(self, change, status: str | None = None) -> None:
        """Apply ``change(data)`` to the stored job, unless this run was abandoned at shutdown
        (then the store keeps saying InProgress, and the next start re-queues the job)."""
        if self.abandoned:
            return
        resources = self.platform.resources
        with resources.transaction():
            current = resources.get(self.scope, TYPE, self.name, for_update=True)
            data = change(dict(current.data))
            new_status = status
            if current.status == "Stopping" and status == "InProgress":
                new_status = None  # a stop request already changed the primary status
            kwargs = {} if new_status is None else {"status": new_status}
            resources.update(self.scope, TYPE, self.name, lambda _: data, **kwargs)

    def transition(self, secondary: str, message: str | None = None,
                   primary: str = "InProgress", also=None) -> None:
        """Open ``secondary`` (unless a stop came first); ``also(data)``, another change
        written in the same transaction, is applied either way."""
        def change(data):
            if also is not None:
                data = also(data)
            if data.get("SecondaryStatus") == "Stopping" and secondary not in (
                    "Stopped", "MaxRuntimeExceeded", "Uploading", "Failed", "Completed"):
                return data
            return add_transition(data, secondary, message)
        self.update(change, status=primary)

    # --- the run -------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._run()
        except Outcome as end:
            self._finish(end.secondary, end.reason)
        except Exception as exc:  # noqa: BLE001 - kamado's own failure, reported as AWS does
            log.exception("training job %s failed inside kamado", self.name)
            self._finish("Failed", f"InternalServerError: {type(exc).__name__}: {exc}")
        finally:
            for host in self.hosts:
                self._close_host(host)

    def _run(self) -> None:
        job = self.job()
        if job.status != "InProgress":
            return
        data = job.data
        self.image = self.engine.images.resolve_training(
            data["AlgorithmSpecification"].get("TrainingImage")
            or data["AlgorithmSpecification"].get("AlgorithmName"), self.scope.region,
            data.get("HyperParameters"))
        if not data["AlgorithmSpecification"].get("ContainerEntrypoint"):
            self.engine.forks.warm(self.image)  # its imports overlap the download
        deadline = time.monotonic() + (data.get("StoppingCondition") or {}).get(
            "MaxRuntimeInSeconds", 86400)
        def started(d):
            transitions = d.get("SecondaryStatusTransitions") or []
            if transitions and transitions[-1]["Status"] == "Starting":
                transitions[-1] = {**transitions[-1], "StatusMessage": MESSAGES["Starting"]}
            return {**d, "_started": True, "SecondaryStatusTransitions": transitions}
        # the job directories first (prepare starts each afresh, so a rerun after a crash
        # finds nothing in its way), then one write: started, and downloading
        names = jobdir.host_names((data.get("ResourceConfig") or {}).get("InstanceCount", 1))
        epoch = int(time.time())
        root = self.engine.job_root(self.scope, TYPE, self.name)
        for name in names:
            base = root / name
            ckpt = None
            if data.get("CheckpointConfig"):
                ckpt = in_job_dir(data["CheckpointConfig"].get("LocalPath")
                                  or "/opt/ml/checkpoints", base)
            env = jobdir.prepare(base, data, name, names, ckpt)
            self.hosts.append(Host(name, env, f"{self.name}/{name}-{epoch}"))

        self.transition("Downloading", also=started)
        self._check_output_bucket(data)
        for index, host in enumerate(self.hosts):
            self._deliver_channels(data, host, index, len(self.hosts))
            self._deliver_code(data, host)
            if data.get("CheckpointConfig"):
                host.checkpoints = artifacts.CheckpointSync(
                    host.env.checkpoint_dir, data["CheckpointConfig"]["S3Uri"],
                    config=self.config, objects=self.objects)
                host.checkpoints.restore()
        if self.stop_requested.is_set():
            raise Outcome(self.reason_stop or "Stopped")

        self.transition("Training", also=lambda d: {
            **d, "TrainingStartTime": d.get("TrainingStartTime") or now()})
        rules = MetricRule.compile_all(data["AlgorithmSpecification"].get("MetricDefinitions") or [])
        for host in self.hosts:
            self._start_host(data, host, rules)
        codes = self._watch(deadline)
        for host in self.hosts:
            host.process.finish()
            host.joblog.close()
            if host.checkpoints:
                host.checkpoints.stop()
        if self.abandoned:
            return

        if self.reason_stop:
            self._upload(data, best_effort=True)
            raise Outcome(self.reason_stop)
        failed = [(h, c) for h, c in zip(self.hosts, codes) if c != 0]
        if failed:
            raise Outcome("Failed", self._failure(*failed[0]))
        self._upload(data, best_effort=False)
        raise Outcome("Completed")

    # --- steps ---------------------------------------------------------------------------------
    def _check_output_bucket(self, data: dict) -> None:
        uri = data["OutputDataConfig"]["S3OutputPath"]
        if is_s3(uri) and not artifacts.bucket_exists(uri, config=self.config, objects=self.objects):
            raise Outcome("Failed", f"ClientError: The S3OutputPath {uri} names a bucket that "
                                    "does not exist; create it first.")

    def _deliver_channels(self, data: dict, host: Host, index: int, count: int) -> None:
        role = data.get("RoleArn", "")
        for channel in data.get("InputDataConfig") or []:
            name = channel["ChannelName"]
            if name == "model" and self._jumpstart(data):
                continue  # AWS's pre-trained dummy model: out of kamado's reach, and unused
            try:
                items = channels.list_channel(channel, config=self.config, objects=self.objects,
                                              region=self.scope.region, role=role,
                                              host_index=index, host_count=count)
                mode = channel.get("InputMode") or data["AlgorithmSpecification"].get(
                    "TrainingInputMode", "File")
                # kamado's built-in algorithms read their channels from files, so a Pipe-mode
                # channel reaches them as files; their result is the same.
                if mode == "Pipe" and self.image.kind != "algorithm":
                    feeder = channels.PipeFeeder(channel, items, host.env.data_dir,
                                                 config=self.config, objects=self.objects)
                    feeder.start()
                    host.feeders.append(feeder)
                else:
                    channels.download(channel, items, host.env.channel_dir(name),
                                      config=self.config, objects=self.objects,
                                      link=self._reads_only(data))
            except channels.ChannelError as exc:
                raise Outcome("Failed", str(exc)) from None

    def _reads_only(self, data: dict) -> bool:
        """kamado's own algorithm runs, not a user's script, so nothing writes the channels."""
        hp = data.get("HyperParameters") or {}
        return (self.image.kind == "algorithm" and not data["AlgorithmSpecification"].get(
            "ContainerEntrypoint") and ("sagemaker_program" not in hp or self._jumpstart(data)))

    def _jumpstart(self, data: dict) -> bool:
        """A JumpStart tabular job that runs kamado's own algorithm in place of AWS's script
        (ImageRegistry.resolve_training): its script tarball and model channel stay unread."""
        return jumpstart_algorithm(data.get("HyperParameters")) == self.image.name

    def _deliver_code(self, data: dict, host: Host) -> None:
        """Script mode: the source tarball the SDK uploaded, extracted into ``code/``
        (the toolkit extracts only into an empty code directory, so it finds it done)."""
        uri = _decoded((data.get("HyperParameters") or {}).get("sagemaker_submit_directory"))
        if not uri or not is_s3(uri) or self._jumpstart(data):
            return
        fs, path = filesystem(uri, config=self.config, objects=self.objects)
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "sourcedir.tar.gz"
            try:
                fs.get_file(path, str(local))
                with tarfile.open(local) as tar:
                    tar.extractall(host.env.code_dir, filter="data")
            except FileNotFoundError:
                raise Outcome("Failed", f"ClientError: The source directory {uri} "
                                        "(sagemaker_submit_directory) does not exist.") from None
            except (tarfile.TarError, OSError) as exc:
                raise Outcome("Failed", f"ClientError: The source directory {uri} is not a "
                                        f"readable tar.gz: {exc}") from None

    def _command(self, data: dict, host: Host, variables: dict[str, str]) -> list[str]:
        """The host's command line (a container entrypoint may add to ``variables``)."""
        spec = data["AlgorithmSpecification"]
        if spec.get("ContainerEntrypoint"):
            return container.prepare(spec, host.env, variables)
        if self.image.train is None:
            raise Outcome("Failed", f"ClientError: The image {self.image.name} has no train "
                                    "program.")
        return list(self.image.train) + list(spec.get("ContainerArguments") or ["train"])

    def _environment(self, data: dict, host: Host) -> dict[str, str]:
        env = inherited_environment()
        base = host.env.base
        env.update({
            "SAGEMAKER_BASE_DIR": str(base),
            "TRAINING_JOB_NAME": self.name, "TRAINING_JOB_ARN": self.key,
            "AWS_REGION": self.scope.region, "AWS_DEFAULT_REGION": self.scope.region,
            # The job acts as the account, the way a job acts as its execution role on AWS.
            "AWS_ENDPOINT_URL": self.config.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.platform.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.platform.secret_for(self.platform.access_key_id) or "",
            "KAMADO_CACHE_DIR": str(self.config.home / "cache"),
            # What SageMaker's framework images bake into their Dockerfiles.
            "SM_INPUT": str(host.env.input_dir), "SM_MODEL_DIR": str(host.env.model_dir),
            "SM_INPUT_TRAINING_CONFIG_FILE": str(host.env.config_dir / "hyperparameters.json"),
            "SM_INPUT_DATA_CONFIG_FILE": str(host.env.config_dir / "inputdataconfig.json"),
            "SM_CHECKPOINT_CONFIG_FILE": str(host.env.config_dir / "checkpointconfig.json"),
        })
        env.update(data.get("Environment") or {})
        return env

    def _start_host(self, data: dict, host: Host, rules: list[MetricRule]) -> None:
        logs, metrics = self.platform.logs, self.engine.metrics
        scope, arn, stream = self.scope, self.key, host.stream

        def write_events(events):
            logs.put_events(scope, LOG_GROUP, stream, events, create=True)

        def write_points(points: list[MetricPoint]):
            metrics.put(arn, points)

        host.joblog = JobLog(write_events, write_points, rules)
        variables = self._environment(data, host)
        argv = self._command(data, host, variables)
        cwd = self.image.cwd or host.env.base
        cpus = self.engine.cpu_share(len(self.hosts))
        try:
            host.process = (self.engine.forks.start(self.image, argv, env=variables, cwd=cwd,
                                                    sink=host.joblog.line, cpus=cpus)
                            or SpawnedProcess(argv, env=variables, cwd=cwd,
                                              sink=host.joblog.line, cpus=cpus))
        except OSError as exc:
            raise Outcome("Failed", f"ClientError: Cannot start the image's program "
                                    f"{argv[0]}: {exc.strerror}") from None
        self.update(lambda d: {**d, "_processes": {**(d.get("_processes") or {}),
                                                    host.name: [host.process.pid,
                                                                host.process.started]}})
        if host.checkpoints:
            host.checkpoints.start()

    def _watch(self, deadline: float) -> list[int]:
        """Wait for every host's program; stop them all on a stop request, on the runtime
        limit, or when one fails (the others cannot finish a job without it)."""
        grace = self.engine.stop_grace
        for host in self.hosts:
            host.process.on_exit(self.wake)
        while True:
            self.wake.clear()  # before looking, so an exit from now on wakes the wait below
            codes = [h.process.poll() for h in self.hosts]
            if all(c is not None for c in codes):
                return codes
            if self.abandoned:
                return [h.process.terminate(1.0) for h in self.hosts]
            if any(c not in (None, 0) for c in codes):
                return [h.process.terminate(grace) if c is None else c
                        for h, c in zip(self.hosts, codes)]
            if time.monotonic() >= deadline:
                self.reason_stop = "MaxRuntimeExceeded"
                self.update(lambda d: {**d, "_stop_reason": "MaxRuntimeExceeded"})
                self.transition("Stopping", primary="Stopping")
                self.stop_requested.set()
            if self.stop_requested.is_set():
                self.reason_stop = self.reason_stop or "Stopped"
                return [h.process.terminate(grace) for h in self.hosts]
            self.wake.wait(min(1.0, max(0.0, deadline - time.monotonic())))

    def _failure(self, host: Host, code: int) -> str:
        failure = host.env.failure_file
        if failure.exists():
            text = failure.read_text(errors="replace").strip()
            if text:
                return failure_reason(text)
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return failure_reason(f"The training program was killed by {name}"
                                  + (" (out of memory?)" if name == "SIGKILL" else "") + ".")
        last = host.joblog.last_words()
        return failure_reason(f"ExitCode {code}: {last}. See job logs for more information"
                              if last else "See job logs for more information")

    def _upload(self, data: dict, *, best_effort: bool) -> None:
        self.transition("Uploading")
        out = data["OutputDataConfig"]
        base = artifacts.join_uri(out["S3OutputPath"], self.name, "output")
        try:
            with tempfile.TemporaryDirectory(dir=self.engine.job_root(self.scope, TYPE, self.name)) as tmp:
                if len(self.hosts) == 1:  # packed where it lies: no copy of a large model
                    merged_model = self.hosts[0].env.model_dir
                    merged_output = self.hosts[0].env.output_data_dir
                else:
                    merged_model, merged_output = Path(tmp) / "model", Path(tmp) / "data"
                    for host in self.hosts:  # every host's files merged; a later host wins
                        shutil.copytree(host.env.model_dir, merged_model, dirs_exist_ok=True)
                        shutil.copytree(host.env.output_data_dir, merged_output,
                                        dirs_exist_ok=True)
                if out.get("CompressionType") == "NONE":
                    model_uri = artifacts.join_uri(base, "model") + "/"
                    artifacts.upload_tree(merged_model, model_uri, config=self.config,
                                          objects=self.objects)
                else:
                    model_uri = artifacts.join_uri(base, "model.tar.gz")
                    md5 = artifacts.pack(merged_model, Path(tmp) / "model.tar.gz")
                    artifacts.upload_file(Path(tmp) / "model.tar.gz", model_uri, md5_hex=md5,
                                          config=self.config, objects=self.objects)
                if any(merged_output.iterdir()):
                    md5 = artifacts.pack(merged_output, Path(tmp) / "output.tar.gz")
                    artifacts.upload_file(Path(tmp) / "output.tar.gz",
                                          artifacts.join_uri(base, "output.tar.gz"),
                                          md5_hex=md5, config=self.config, objects=self.objects)
        except OSError as exc:
            if best_effort:
                return
            raise Outcome("Failed", f"ClientError: Artifact upload failed: {exc}") from None
        self.model_uri = model_uri  # written with the final status

    def _finish(self, secondary: str, reason: str | None) -> None:
        primary = {"Completed": "Completed", "Failed": "Failed"}.get(secondary, "Stopped")

        def change(data):
            data = add_transition(data, secondary)
            data["TrainingEndTime"] = now()
            data.pop("_processes", None)
            if self.model_uri:
                data["ModelArtifacts"] = {"S3ModelArtifacts": self.model_uri}
            if reason and primary == "Failed":
                data["FailureReason"] = reason
            return data
        # One transaction: whoever sees the final status also sees what listeners recorded
        # with it (the experiment's trial component).
        with self.platform.resources.transaction():
            self.update(change, status=primary)
            if not self.abandoned:
                self.engine.finished(self)

    def _close_host(self, host: Host) -> None:
        for feeder in host.feeders:
            feeder.stop()
        if host.process and host.process.poll() is None:
            host.process.terminate(1.0)
        if host.joblog:
            host.joblog.close()
        # The channels' copies are the bulk of a job directory and have no use after it.
        shutil.rmtree(host.env.data_dir, ignore_errors=True)

    # --- control -------------------------------------------------------------------------------
    def stop(self) -> None:
        self.reason_stop = self.reason_stop or "Stopped"
        self.stop_requested.set()
        self.wake.set()

    def abandon(self) -> None:
        """Server shutdown: end the programs, write nothing; the next start re-queues the job."""
        self.abandoned = True
        self.stop_requested.set()
        self.wake.set()
