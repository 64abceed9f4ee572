"""The model servers behind one deployed endpoint configuration.

A *fleet* has a *variant* per production (and shadow) variant; a variant has instances; an
instance runs one model-server process per container of the variant's model (one, or several
for a serial inference pipeline), each on a loopback port of its own, in a directory laid out
like a serving container's ``/opt/ml``. The model data is downloaded and extracted once per
variant; every instance's ``model/`` points at it.

A model-server process that dies is started again (its variant keeps serving on the others
while it comes back); requests wait a short while for a ready instance rather than fail.
"""

from __future__ import annotations

import http.client
import itertools
import logging
import random
import secrets
import shutil
import socket
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from kamado.engine import artifacts
from kamado.engine.joblog import JobLog
from kamado.engine.process import JobProcess, SpawnedProcess
from kamado.images.environment import translate
from kamado.images.registry import jumpstart_source
from kamado.serving.artifacts import ArtifactError, extract

log = logging.getLogger("kamado.engine")

LOG_GROUP = "/aws/sagemaker/Endpoints"
DEFAULT_STARTUP_SECONDS = 240  # AWS: a container must answer /ping within 4 minutes
READY_WAIT_SECONDS = 30.0  # how long a request waits for a restarting variant
PING_TIMEOUT = 2.0
MONITOR_SECONDS = 0.25
PIDS_FILE = "pids"  # in a fleet's directory: "<pid> <kernel start time>" per model server


class DeployError(Exception):
    """A variant could not be brought up; the message is the endpoint's FailureReason."""


@dataclass
class Reply:
    """What a container answered."""

    status: int
    body: bytes
    content_type: str | None
    custom_attributes: str | None


class ContainerDown(Exception):
    """The container could not be reached or closed the connection without an answer."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Container:
    """One model-server process of an instance."""

    def __init__(self, instance: "Instance", index: int, spec: dict, image, model_dir: Path | None,
                 code_dir: Path | None) -> None:
        self.instance, self.index, self.spec, self.image = instance, index, spec, image
        self.hostname = spec.get("ContainerHostname") or (
            "primary" if len(instance.variant.containers) == 1 else f"container-{index + 1}")
        self.base = instance.dir / (str(index) if len(instance.variant.containers) > 1 else "")
        self.model_dir, self.code_dir = model_dir, code_dir
        self.process: JobProcess | None = None
        self.port = 0
        self.joblog: JobLog | None = None
        self._pool: list[http.client.HTTPConnection] = []
        self._pool_lock = threading.Lock()

    # --- process -----------------------------------------------------------------------------
    def _environment(self) -> dict[str, str]:
        fleet = self.instance.variant.fleet
        env = fleet.hosting.base_environment(fleet.scope)
        env.update({"SAGEMAKER_BIND_TO_PORT": str(self.port),
                    "SAGEMAKER_BASE_DIR": str(self.base),
                    "SAGEMAKER_SAFE_PORT_RANGE": f"{self.port}-{self.port}"})
        if self.spec.get("Mode") == "MultiModel":
            env["SAGEMAKER_MULTI_MODEL"] = "true"
        for key, value in (self.spec.get("Environment") or {}).items():
            env[key] = translate(value, self.base)
        if self.code_dir is not None:
            env["SAGEMAKER_SUBMIT_DIRECTORY"] = str(self.code_dir)
        return env

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        link = self.base / "model"
        if self.model_dir is not None and not link.exists():
            link.symlink_to(self.model_dir, target_is_directory=True)
        self.port = free_port()
        fleet = self.instance.variant.fleet
        stream = f"{self.instance.variant.name}/{self.instance.id}" + (
            f"/{self.hostname}" if len(self.instance.variant.containers) > 1 else "")
        if self.joblog is None:
            self.joblog = fleet.open_log(stream)
        argv = list(self.image.serve) + ["serve"]
        # Every instance's stream starts with this line, whether or not its server talks.
        self.joblog.system(f"kamado: starting the {self.image.name} model server "
                           f"({self.hostname}) on port {self.port}")
        env = self._environment()
        forks = fleet.hosting.engine.forks
        try:
            self.process = (forks.start(self.image, argv, env=env, cwd=self.base,
                                        sink=self.joblog.line)
                            or SpawnedProcess(argv, env=env, cwd=self.base, sink=self.joblog.line))
        except OSError as exc:
            raise DeployError(f"Cannot start the serve program of image {self.image.name}: "
                              f"{exc.strerror}") from None
        # Model servers outlive a killed kamado; the next start ends them by these.
        with open(fleet.dir / PIDS_FILE, "a") as pids:
            pids.write(f"{self.process.pid} {self.process.started}\n")

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            code = self.process.poll()
            if code is not None:
                self.process.finish(2)
                words = self.joblog.last_words()
                last = f" Its last words: {words}" if words else ""
                raise DeployError(
                    f"The {self.hostname} container for {self.instance.variant.fleet.unit} "
                    f"{self.instance.variant.name} exited with code {code} before it passed "
                    f"the ping health check.{last}")
            if self.ping():
                return
            if time.monotonic() >= deadline:
                raise DeployError(
                    f"The {self.hostname} container for {self.instance.variant.fleet.unit} "
                    f"{self.instance.variant.name} did not pass the ping health check within "
                    f"{timeout:.0f} seconds. Please check the logs "
                    f"({self.instance.variant.fleet.log_group}).")
            time.sleep(0.02)  # the server is starting; /ping is cheap

    def ping(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=PING_TIMEOUT)
            try:
                conn.request("GET", "/ping")
                response = conn.getresponse()
                response.read()
                return response.status == 200
            finally:
                conn.close()
        except OSError:
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, []
        for conn in pool:
            conn.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate(grace)
        if self.process is not None:
            self.process.finish(2)
        if self.joblog is not None:
            self.joblog.close()

    # --- requests ---------------------------------------------------------------------------
    def invoke(self, body: bytes, headers: dict[str, str], timeout: float,
               path: str = "/invocations") -> Reply:
        with self._pool_lock:
            conn = self._pool.pop() if self._pool else None
        fresh = conn is None
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.timeout = timeout
        try:
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                if fresh:
                    raise
                # a kept-alive connection the server had closed: once more on a new one
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
            reply = Reply(response.status, response.read(), response.getheader("Content-Type"),
                          response.getheader("X-Amzn-SageMaker-Custom-Attributes"))
        except socket.timeout:
            conn.close()
            raise
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise ContainerDown(str(exc)) from None
        if response.will_close:
            conn.close()
        else:
            with self._pool_lock:
                self._pool.append(conn)
        return reply


class Instance:
    def __init__(self, variant: "Variant") -> None:
        self.variant = variant
        self.id = "i-" + secrets.token_hex(8)
        self.dir = variant.dir / self.id
        self.containers = [Container(self, i, spec, image, model_dir, code_dir)
                           for i, (spec, image, model_dir, code_dir)
                           in enumerate(variant.containers)]
        self.ready = False
        self.started = False  # until its first start succeeds, the fleet's watch leaves it be
        self.stopping = False

    def start(self, timeout: float) -> None:
        for c in self.containers:
            c.start()
        for c in self.containers:
            c.wait_ready(timeout)
        self.ready = self.started = True

    def stop(self, grace: float) -> None:
        self.stopping = True
        self.ready = False
        for c in self.containers:
            c.stop(grace)


@dataclass
class Variant:
    fleet: "Fleet"
    name: str
    spec: dict  # the ProductionVariant as configured
    model: dict  # the Model resource's data
    shadow: bool = False
    # (container spec, image, model dir, code dir) for each container of the model
    containers: list = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)
    weight: float = 1.0
    desired_weight: float = 1.0
    desired_count: int = 1
    answered: int = 0  # requests answered (shadow copies included)

    def __post_init__(self) -> None:
        self.dir = self.fleet.dir / self.name
        self.weight = self.desired_weight = float(self.spec.get("InitialVariantWeight", 1.0))
        self.desired_count = int(self.spec.get("InitialInstanceCount") or 1)
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._starting = threading.Lock()
        self.in_flight = 0
        self.last_used = time.monotonic()
        self.start_error: str | None = None  # why a serverless cold start failed

    @property
    def startup_timeout(self) -> float:
        return float(self.spec.get("ContainerStartupHealthCheckTimeoutInSeconds")
                     or self.fleet.hosting.startup_seconds)

    def prepare(self) -> None:
        """Download and extract each container's model data (and source directory) once."""
        from kamado.services.sagemaker.models import containers_of

        for index, spec in enumerate(containers_of(self.model)):
            where = self.dir / "data" / str(index)
            model_dir = code_dir = None
            if spec.get("ModelDataUrl") and spec.get("Mode") != "MultiModel":
                model_dir = self._unpack(spec["ModelDataUrl"], where, "model")
            elif spec.get("Mode") == "MultiModel":
                model_dir = where / "model"
                model_dir.mkdir(parents=True, exist_ok=True)
            # after the model is extracted: its files may say which image serves it
            image = self.fleet.hosting.engine.images.resolve_model(
                spec["Image"], self.fleet.scope.region, spec.get("Environment"), model_dir)
            submit = (spec.get("Environment") or {}).get("SAGEMAKER_SUBMIT_DIRECTORY", "")
            # AWS's JumpStart inference script, replaced by kamado's own image, stays unread
            if submit.startswith("s3://") and jumpstart_source(submit) != image.name:
                code_dir = self._unpack(submit, where, "code")
            self.containers.append((spec, image, model_dir, code_dir))

    def _unpack(self, uri: str, where: Path, name: str) -> Path:
        hosting = self.fleet.hosting
        archive = where / f"{name}.tar.gz"
        try:
            artifacts.download_file(uri, archive, config=hosting.platform.config,
                                    objects=hosting.platform.objects)
        except (FileNotFoundError, OSError) as exc:
            raise DeployError(f"Failed to download model data for {self.fleet.unit} "
                              f"{self.name} from {uri}: {exc}") from None
        try:
            extract(archive, where / name)
        except (ArtifactError, tarfile.TarError) as exc:
            raise DeployError(f"Failed to extract model data for {self.fleet.unit} "
                              f"{self.name} from {uri}: {exc}") from None
        finally:
            archive.unlink(missing_ok=True)
        return where / name

    def add_instance(self) -> Instance:
        instance = Instance(self)
        with self._lock:
            self.instances.append(instance)
        try:
            instance.start(self.startup_timeout)
        except DeployError:
            instance.stop(1.0)
            with self._lock:
                self.instances.remove(instance)
            raise
        return instance

    def scale(self, count: int, grace: float) -> None:
        while len(self.instances) < count:
            self.add_instance()
        while len(self.instances) > count:
            with self._lock:
                instance = self.instances.pop()
            instance.stop(grace)

    # --- serverless -----------------------------------------------------------------------
    @property
    def serverless(self) -> dict | None:
        return self.spec.get("ServerlessConfig")

    def enter(self) -> bool:
        """Count a request in; False when a serverless variant is at its MaxConcurrency."""
        with self._lock:
            self.last_used = time.monotonic()
            if self.serverless and self.in_flight >= self.serverless["MaxConcurrency"]:
                return False
            self.in_flight += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1
            self.last_used = time.monotonic()

    def _cold_start(self) -> bool:
        """A serverless variant's instance, started by the request that finds none (its
        setup time is the ModelSetupTime metric); concurrent requests wait for the same one."""
        with self._starting:
            if any(i.ready for i in self.instances):
                return True
            started = time.monotonic()
            try:
                self.add_instance()
            except DeployError as exc:
                self.start_error = str(exc)
                log.warning("endpoint %s: serverless variant %s could not start: %s",
                            self.fleet.endpoint, self.name, exc)
                return False
            self.fleet.hosting.metrics.observe(self.fleet.scope, self.fleet.endpoint, self.name,
                                               "ModelSetupTime", time.monotonic() - started)
            return True

    def idle_out(self, idle_seconds: float) -> None:
        """Stop a serverless instance nobody has used for ``idle_seconds`` (provisioned
        concurrency keeps one up)."""
        keep = 1 if self.serverless.get("ProvisionedConcurrency") else 0
        with self._lock:
            idle = (self.in_flight == 0 and len(self.instances) > keep
                    and time.monotonic() - self.last_used >= idle_seconds)
            instance = self.instances.pop() if idle else None
        if instance is not None:
            instance.stop(1.0)

    def pick(self, wait: float = READY_WAIT_SECONDS) -> Instance | None:
        """The next ready instance in turn; waits a little for one that is restarting."""
        if self.serverless and not any(i.ready for i in self.instances):
            if not self._cold_start():
                return None
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                ready = [i for i in self.instances if i.ready]
            if ready:
                return ready[next(self._turn) % len(ready)]
            if time.monotonic() >= deadline or self.fleet.stopped:
                return None
            time.sleep(0.02)

    def summary(self, deployed: bool) -> dict:
        images = [{"SpecifiedImage": spec["Image"], "ResolvedImage": spec["Image"],
                   "ResolutionTime": self.fleet.started_at}
                  for spec, *_ in self.containers] if deployed else []
        out = {"VariantName": self.name, "DesiredWeight": self.desired_weight}
        if deployed:
            out["DeployedImages"] = images
            out["CurrentWeight"] = self.weight
        serverless = self.spec.get("ServerlessConfig")
        if serverless:
            if deployed:
                out["CurrentServerlessConfig"] = serverless
            out["DesiredServerlessConfig"] = serverless
        else:
            if deployed:
                out["CurrentInstanceCount"] = len([i for i in self.instances if i.ready])
            out["DesiredInstanceCount"] = self.desired_count
        return out


class Fleet:
    unit = "production variant"  # what a variant is called in a failure reason

    def __init__(self, hosting, scope, endpoint: str, config: dict, root: Path) -> None:
        self.hosting, self.scope, self.endpoint, self.config = hosting, scope, endpoint, config
        self.dir = root / ("d-" + secrets.token_hex(4))
        self.started_at = None
        self.stopped = False
        self.capture = None  # a CaptureWriter when the configuration captures data
        self.async_workers = None  # AsyncWorkers when the configuration is asynchronous
        self.variants: dict[str, Variant] = {}
        self.shadows: dict[str, Variant] = {}
        for spec in config["ProductionVariants"]:
            self.variants[spec["VariantName"]] = Variant(
                self, spec["VariantName"], spec, self._model(spec["ModelName"]))
        for spec in config.get("ShadowProductionVariants") or []:
            self.shadows[spec["VariantName"]] = Variant(
                self, spec["VariantName"], spec, self._model(spec["ModelName"]), shadow=True)
        self._monitor: threading.Thread | None = None

    def _model(self, name: str) -> dict:
        # A model may be deleted while a configuration still names it (AWS allows that);
        # deploying the configuration then fails.
        model = self.hosting.platform.resources.get(self.scope, "Model", name, missing_ok=True)
        if model is None:
            raise DeployError(f'Could not find model "{name}".')
        return model.data

    @property
    def log_group(self) -> str:
        return f"{LOG_GROUP}/{self.endpoint}"

    def open_log(self, stream: str) -> JobLog:
        """The log a model server of this fleet writes to (a batch transform's fleet writes
        to another group)."""
        return self.hosting.endpoint_log(self.scope, self.endpoint, stream)

    @property
    def all_variants(self) -> list[Variant]:
        return [*self.variants.values(), *self.shadows.values()]

    def start(self) -> None:
        """Bring every variant up (instances start side by side); DeployError if one fails."""
        from kamado.store.types import now

        try:
            for variant in self.all_variants:
                variant.prepare()
            errors: list[DeployError] = []

            def bring_up(variant: Variant) -> None:
                try:
                    serverless = variant.spec.get("ServerlessConfig")
                    if not serverless:
                        variant.scale(variant.desired_count, 1.0)
                    elif serverless.get("ProvisionedConcurrency"):
                        variant.scale(1, 1.0)  # kept warm: no cold start for the first
                except DeployError as exc:
                    errors.append(exc)
            threads = [threading.Thread(target=bring_up, args=(v,), daemon=True)
                       for v in self.all_variants]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise errors[0]
        except BaseException:
            self.stop(1.0)
            raise
        self.started_at = now()
        capture = self.config.get("DataCaptureConfig")
        if capture:
            from kamado.serving.capture import CaptureWriter

            platform = self.hosting.platform
            self.capture = CaptureWriter(capture, self.endpoint, lambda uri, data: (
                artifacts.write_bytes(uri, data, config=platform.config,
                                      objects=platform.objects)))
        if self.config.get("AsyncInferenceConfig"):
            from kamado.serving.asynchronous import AsyncWorkers

            self.async_workers = AsyncWorkers(self)
            self.async_workers.start()
        self._monitor = threading.Thread(target=self._watch, daemon=True,
                                         name=f"fleet-{self.endpoint}")
        self._monitor.start()

    def _watch(self) -> None:
        """Start again any model server that died, so its variant keeps its capacity."""
        while not self.stopped:
            time.sleep(MONITOR_SECONDS)
            for variant in self.all_variants:
                if variant.serverless:
                    variant.idle_out(self.hosting.platform.config.serverless_idle_seconds)
                for instance in list(variant.instances):
                    if instance.stopping or not instance.started or self.stopped:
                        continue
                    dead = [c for c in instance.containers if not c.alive()]
                    if not dead:
                        continue
                    instance.ready = False
                    for c in dead:
                        code = c.process.poll()
                        c.process.finish(2)
                        c.joblog.system(f"kamado: the model server exited with code {code}; "
                                        "starting it again")
                        log.warning("endpoint %s: a model server of variant %s exited (%s); "
                                    "restarting it", self.endpoint, variant.name, code)
                        try:
                            c.start()
                            c.wait_ready(variant.startup_timeout)
                        except DeployError as exc:
                            c.joblog.system(f"kamado: {exc}")
                            break
                    else:
                        instance.ready = not self.stopped

    def choose(self, target: str | None) -> Variant:
        if target is not None:
            return self.variants[target]
        variants = list(self.variants.values())
        total = sum(v.weight for v in variants)
        if total <= 0:
            return variants[0]
        point = random.uniform(0, total)
        for v in variants:
            point -= v.weight
            if point <= 0:
                return v
        return variants[-1]

    def summaries(self) -> list[dict]:
        return [v.summary(deployed=True) for v in self.variants.values()]

    def shadow_summaries(self) -> list[dict]:
        return [v.summary(deployed=True) for v in self.shadows.values()]

    def stop(self, grace: float) -> None:
        self.stopped = True
        if self.async_workers is not None:
            self.async_workers.stop()
        if self.capture is not None:
            self.capture.close()
        for variant in self.all_variants:
            for instance in list(variant.instances):
                instance.stop(grace)
        shutil.rmtree(self.dir, ignore_errors=True)
