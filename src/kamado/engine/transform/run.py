"""One transform job's way from queued to Completed, Failed or Stopped.

The model's servers are started as an endpoint's are (:mod:`kamado.engine.fleet`), one
instance per ``TransformResources.InstanceCount``; each instance takes input objects from a
shared queue, so a slow object does not hold up the others. Within an object, up to
``MaxConcurrentTransforms`` mini-batches are in flight at once and their answers are written
in input order. An object's ``.out`` is uploaded only when every record of it was answered;
an object that fails fails the job, but the other objects are still transformed (AWS keeps
their outputs too).

What happens is written to the store first (``_started``, the model servers' pids), so a
server that dies mid-job finds it at its next start (:mod:`kamado.engine.transform.jobs`).

The fast path: when the model server is kamado's own (a built-in algorithm) and an object is
a file of kamado's own store, MultiRecord over lines hands the server the file's path and
the byte ranges of its mini-batches, cut where the ordinary way cuts them
(:func:`records.line_ranges`), and the server reads them itself
(:mod:`kamado.serving.batch`). Whatever it does not answer — or answers with anything but
exactly the bytes ``/invocations`` would — sends the whole object the ordinary way, which
then says what it always says about a bad record.
"""

from __future__ import annotations

import copy
import gzip
import http.client
import json
import logging
import mmap
import os
import queue
import secrets
import socket
import tempfile
import threading
import time
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kamado.engine import artifacts, channels
from kamado.engine.fleet import READY_WAIT_SECONDS, ContainerDown, DeployError, Fleet, Instance
from kamado.engine.joblog import JobLog
from kamado.engine.transform import records
from kamado.engine.transform.processing import (DataProcessing, ProcessingError, kind_of,
                                                per_record)
from kamado.images.environment import FAILURE_LIMIT
from kamado.serving import batch as batch_route
from kamado.errors import AwsError
from kamado.storage.uri import filesystem, is_s3, split_s3_uri
from kamado.store.types import now

if TYPE_CHECKING:
    from kamado.engine.engine import Engine, Scope

log = logging.getLogger("kamado.engine")

TYPE = "TransformJob"
LOG_GROUP = "/aws/sagemaker/TransformJobs"
TERMINAL = ("Completed", "Failed", "Stopped")
DEFAULT_PAYLOAD_MB = 6
DEFAULT_TIMEOUT = 600  # ModelClientConfig.InvocationsTimeoutInSeconds
DEFAULT_RETRIES = 3    # ModelClientConfig.InvocationsMaxRetries
MB = 1024 * 1024
PROBE_LIMIT = 1000  # records of a refused mini-batch sent alone to find the bad one


class End(Exception):
    """Ends a run with a final status."""

    def __init__(self, status: str, reason: str | None = None) -> None:
        super().__init__(reason or status)
        self.status, self.reason = status, reason


class ObjectFailed(Exception):
    """One input object cannot be transformed; the message names it and says why."""


def batch_environment(data: dict) -> dict[str, str]:
    """What a model server learns of the job (§12.2): SAGEMAKER_BATCH always, the three
    knobs only when the request set them, then the job's own Environment."""
    env = {"SAGEMAKER_BATCH": "true"}
    if data.get("MaxPayloadInMB") is not None:
        env["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = str(data["MaxPayloadInMB"])
    if data.get("BatchStrategy"):
        env["SAGEMAKER_BATCH_STRATEGY"] = ("MULTI_RECORD" if data["BatchStrategy"] == "MultiRecord"
                                           else "SINGLE_RECORD")
    concurrency = data.get("MaxConcurrentTransforms") or 0
    if concurrency:
        env["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] = str(concurrency)
        # kamado's model servers start one worker unless told otherwise (AWS's start one per
        # CPU); more requests in flight than workers would only queue inside the server.
        env["SAGEMAKER_MODEL_SERVER_WORKERS"] = str(max(1, min(concurrency,
                                                               os.cpu_count() or 1)))
    return env


class BatchFleet(Fleet):
    """The model servers of one transform job: an endpoint's fleet with one variant named
    after the job, so each server logs to ``/aws/sagemaker/TransformJobs`` stream
    ``<job>/<instance-id>`` as on AWS."""

    unit = "transform job"

    def __init__(self, hosting, scope, job: str, model_name: str, env: dict[str, str],
                 count: int, root: Path) -> None:
        self._env = env
        config = {"ProductionVariants": [{"VariantName": job, "ModelName": model_name,
                                          "InitialInstanceCount": count}]}
        super().__init__(hosting, scope, job, config, root)

    def _model(self, name: str) -> dict:
        model = copy.deepcopy(super()._model(name))
        for key in ("PrimaryContainer", "Containers"):
            containers = model.get(key)
            for c in ([containers] if isinstance(containers, dict) else containers or []):
                # The job's Environment is merged over the model's, as on AWS.
                c["Environment"] = {**(c.get("Environment") or {}), **self._env}
        return model

    @property
    def log_group(self) -> str:
        return f"{LOG_GROUP} (stream {self.endpoint}/<instance-id>)"

    def open_log(self, stream: str) -> JobLog:
        return open_log(self.hosting.platform, self.scope, stream)

    @property
    def variant(self):
        return next(iter(self.variants.values()))


def open_log(platform, scope, stream: str) -> JobLog:
    logs = platform.logs

    def write_events(events):
        logs.put_events(scope, LOG_GROUP, stream, events, create=True)
    return JobLog(write_events, lambda points: None, [])


@dataclass
class Settings:
    """The job's knobs as they are resolved once its model servers answer."""

    multi: bool
    max_bytes: int | None
    concurrency: int
    split_type: str
    gzipped: bool
    assemble_line: bool
    accept: str | None
    content_type: str | None
    output_path: str
    timeout: float
    retries: int
    processing: DataProcessing


@dataclass
class Totals:
    objects: int = 0
    failures: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # kamado's own failures
    lock: threading.Lock = field(default_factory=threading.Lock)


# What the fast path answers when an object is for the ordinary way.
ORDINARY = object()
FAST_GROUP_BYTES = 128 * MB  # mini-batches per fast-path request: a second or so of work


def _groups(ranges: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Consecutive mini-batches in requests of up to FAST_GROUP_BYTES; one too small for the
    server's reader goes alone."""
    groups: list[list[tuple[int, int]]] = []
    size = 0
    for start, end in ranges:
        small = end - start < batch_route.SMALLEST_RANGE
        if (small or not groups or size + end - start > FAST_GROUP_BYTES
                or groups[-1][0][1] - groups[-1][0][0] < batch_route.SMALLEST_RANGE):
            groups.append([])
            size = 0
        groups[-1].append((start, end))
        size += end - start
    return groups


def _short(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class TransformRun:
    def __init__(self, engine: "Engine", scope: "Scope", name: str, arn: str) -> None:
        self.engine, self.scope, self.name, self.key = engine, scope, name, arn
        self.platform = engine.platform
        self.config, self.objects = engine.platform.config, engine.platform.objects
        self.stop_requested = threading.Event()
        self.abandoned = False
        self.fleet: BatchFleet | None = None
        self.data_logs: dict[str, JobLog] = {}
        self.fast_refused = False  # the model servers have no fast path for this job
        self.fast_token = secrets.token_hex(16)  # what its requests carry (serving.batch)

    # --- store ---------------------------------------------------------------------------------
    def job(self):
        return self.platform.resources.get(self.scope, TYPE, self.name)

    def update(self, change, status: str | None = None) -> None:
        """Apply ``change(data)`` to the stored job, unless the run was abandoned at shutdown
        (the store then keeps InProgress and the next start runs the job again)."""
        if self.abandoned:
            return
        kwargs = {} if status is None else {"status": status}
        self.platform.resources.update(self.scope, TYPE, self.name, change, **kwargs)

    # --- the run -------------------------------------------------------------------------------
    def run(self) -> None:
        outcome: tuple[str, str | None] | None = None
        try:
            self._run()
        except End as end:
            outcome = (end.status, end.reason)
        except Exception as exc:  # noqa: BLE001 - kamado's own failure, reported as AWS does
            log.exception("transform job %s failed inside kamado", self.name)
            outcome = ("Failed", f"InternalServerError: {type(exc).__name__}: {exc}")
        try:
            # The servers stop (and their logs are flushed) before the job says it ended, so
            # whoever sees the final status sees every log line too.
            if self.fleet is not None:
                self.fleet.stop(1.0)
            for joblog in self.data_logs.values():
                joblog.close()
        finally:
            if outcome is not None:
                self._finish(*outcome)
            self.engine.release(self)

    def _run(self) -> None:
        job = self.job()
        if job.status != "InProgress":
            return
        data = job.data
        self.update(lambda d: {**d, "_started": True, "TransformStartTime": now()})
        items = self._inputs(data)
        self._check_output(data)
        self._start_fleet(data)
        if self.stop_requested.is_set():
            raise End("Stopped")
        settings = self._settings(data)
        totals = Totals(objects=len(items))
        work: queue.Queue = queue.Queue()
        for item in items:
            work.put(item)
        threads = [threading.Thread(target=self._instance_loop, args=(i, work, settings, totals),
                                    daemon=True, name=f"transform-{self.name}-{i.id}")
                   for i in self.fleet.variant.instances]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if self.abandoned:
            return
        if self.stop_requested.is_set():
            raise End("Stopped")
        if totals.errors:
            raise End("Failed", f"InternalServerError: {totals.errors[0]}"[:FAILURE_LIMIT])
        if totals.failures:
            first = totals.failures[0]
            count = len(totals.failures)
            head = ("" if totals.objects == 1
                    else f"{count} of {totals.objects} input objects failed; the first: ")
            raise End("Failed", f"ClientError: {head}{first}"[:FAILURE_LIMIT])
        raise End("Completed")

    # --- steps ---------------------------------------------------------------------------------
    def _inputs(self, data: dict) -> list[tuple[str, str]]:
        """(object URI, its path relative to the input prefix's folder) for every object."""
        source = data["TransformInput"]["DataSource"]
        s3 = source["S3DataSource"]
        model = self.platform.resources.get(self.scope, "Model", data["ModelName"],
                                            missing_ok=True)
        role = (model.data.get("ExecutionRoleArn") if model else None) or ""
        try:
            found = channels.list_channel({"ChannelName": "input", "DataSource": source},
                                          config=self.config, objects=self.objects,
                                          region=self.scope.region, role=role,
                                          host_index=0, host_count=1)
        except channels.ChannelError as exc:
            raise End("Failed", str(exc)) from None
        if s3.get("S3DataType", "S3Prefix") != "S3Prefix":
            return [(o.uri, o.relative) for o in found]
        _, prefix = split_s3_uri(s3["S3Uri"])
        # The output keeps the input's key below the prefix's folder: s3://b/in/ and
        # s3://b/in/part both turn in/part-1.csv into part-1.csv.out.
        folder = prefix[:prefix.rfind("/") + 1]
        return [(o.uri, split_s3_uri(o.uri)[1][len(folder):]) for o in found]

    def _check_output(self, data: dict) -> None:
        uri = data["TransformOutput"]["S3OutputPath"]
        if is_s3(uri) and not artifacts.bucket_exists(uri, config=self.config,
                                                      objects=self.objects):
            raise End("Failed", f"ClientError: The S3OutputPath {uri} names a bucket that does "
                                "not exist; create it first.")

    def _start_fleet(self, data: dict) -> None:
        env = {**batch_environment(data), **(data.get("Environment") or {}),
               "KAMADO_BATCH_TOKEN": self.fast_token}
        count = int((data.get("TransformResources") or {}).get("InstanceCount") or 1)
        root = self.engine.job_root(self.scope, TYPE, self.name)
        try:
            self.fleet = BatchFleet(self.engine.hosting, self.scope, self.name,
                                    data["ModelName"], env, count, root)
            self.fleet.start()
        except DeployError as exc:
            if self.stop_requested.is_set():
                raise End("Stopped") from None
            raise End("Failed", f"ClientError: The model's container could not start: {exc}"
                                [:FAILURE_LIMIT]) from None
        processes = {f"{i.id}/{c.index}": [c.process.pid, c.process.started]
                     for i in self.fleet.variant.instances for c in i.containers}
        self.update(lambda d: {**d, "_processes": processes})
        for instance in self.fleet.variant.instances:
            self.data_logs[instance.id] = open_log(self.platform, self.scope,
                                                   f"{self.name}/{instance.id}/data-log")

    def _settings(self, data: dict) -> Settings:
        asked = self._execution_parameters()
        strategy = data.get("BatchStrategy") or {
            "MULTI_RECORD": "MultiRecord", "SINGLE_RECORD": "SingleRecord"}.get(
            str(asked.get("BatchStrategy", "")).upper(), "SingleRecord")
        payload = data.get("MaxPayloadInMB")
        if payload is None:
            payload = asked.get("MaxPayloadInMB") if isinstance(
                asked.get("MaxPayloadInMB"), int) else DEFAULT_PAYLOAD_MB
        concurrency = data.get("MaxConcurrentTransforms") or asked.get(
            "MaxConcurrentTransforms") or 1
        concurrency = max(1, int(concurrency)) if isinstance(concurrency, int) else 1
        self.update(lambda d: {**d, "_resolved": {"BatchStrategy": strategy,
                                                  "MaxPayloadInMB": payload,
                                                  "MaxConcurrentTransforms": concurrency}})
        client = data.get("ModelClientConfig") or {}
        tin, tout = data["TransformInput"], data["TransformOutput"]
        return Settings(
            multi=strategy == "MultiRecord", max_bytes=payload * MB if payload else None,
            concurrency=concurrency, split_type=tin.get("SplitType") or "None",
            gzipped=tin.get("CompressionType") == "Gzip",
            assemble_line=tout.get("AssembleWith") == "Line", accept=tout.get("Accept"),
            content_type=tin.get("ContentType"), output_path=tout["S3OutputPath"],
            timeout=float(client.get("InvocationsTimeoutInSeconds") or DEFAULT_TIMEOUT),
            retries=int(client.get("InvocationsMaxRetries", DEFAULT_RETRIES)),
            processing=DataProcessing(data.get("DataProcessing"), tin.get("ContentType")))

    def _execution_parameters(self) -> dict:
        """``GET /execution-parameters`` of the first model server; {} if it has none."""
        container = self.fleet.variant.instances[0].containers[0]
        try:
            conn = http.client.HTTPConnection("127.0.0.1", container.port, timeout=5)
            try:
                conn.request("GET", "/execution-parameters")
                response = conn.getresponse()
                body = response.read()
            finally:
                conn.close()
            if response.status != 200:
                return {}
            answer = json.loads(body)
            return answer if isinstance(answer, dict) else {}
        except (OSError, ValueError, http.client.HTTPException):
            return {}

    # --- an instance's work ---------------------------------------------------------------------
    def _instance_loop(self, instance: Instance, work: queue.Queue, settings: Settings,
                       totals: Totals) -> None:
        pool = ThreadPoolExecutor(settings.concurrency) if settings.concurrency > 1 else None
        datalog = self.data_logs[instance.id]
        try:
            while not self.stop_requested.is_set():
                try:
                    uri, relative = work.get_nowait()
                except queue.Empty:
                    return
                target = artifacts.join_uri(settings.output_path, relative + ".out")
                started = time.monotonic()
                try:
                    done = self._transform_object(instance, uri, target, settings, pool)
                except ObjectFailed as exc:
                    reason = f"{exc} See log stream {self.name}/{instance.id} in {LOG_GROUP}."
                    datalog.system(f"kamado: {uri}: failed: {exc}")
                    with totals.lock:
                        totals.failures.append(reason)
                    continue
                except Exception as exc:  # noqa: BLE001 - kamado's own: fails the job, never
                    # passes over the object as if it had none
                    log.exception("transform job %s: %s failed inside kamado", self.name, uri)
                    with totals.lock:
                        totals.errors.append(f"{uri}: {type(exc).__name__}: {exc}")
                    continue
                if done is not None:
                    count, fast = done
                    how = " (read from its file by the model server)" if fast else ""
                    datalog.system(f"kamado: {uri} -> {target}: {count} records in "
                                   f"{time.monotonic() - started:.2f} s{how}")
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)

    def _open(self, uri: str):
        if is_s3(uri) and not self.config.s3_endpoint_url:
            # An object of kamado's own store is a file: read it as one (a blob is never
            # rewritten; a replaced object gets a new one, and this handle keeps the old).
            try:
                return open(self.objects.get_object(*split_s3_uri(uri)).path, "rb")
            except AwsError as exc:  # deleted since the job listed it
                raise FileNotFoundError(uri) from exc
        if is_s3(uri):
            fs, path = filesystem(uri, config=self.config, objects=self.objects)
            return fs.open(path, "rb")
        return open(uri, "rb")

    def _transform_object(self, instance: Instance, uri: str, target: str, settings: Settings,
                          pool) -> tuple[int, bool] | None:
        """Transform one object into ``target``: its record count and whether the fast path
        did it, or None when stopped."""
        root = self.engine.job_root(self.scope, TYPE, self.name)
        fd, local = tempfile.mkstemp(dir=root, suffix=".out")
        try:
            with os.fdopen(fd, "wb") as out:
                count = self._fast(instance, uri, out, local, settings)
            fast = count is not ORDINARY
            if not fast:
                # a part file of its own: a server that gave up on the fast path may still
                # be writing into the other one
                Path(local).unlink(missing_ok=True)
                fd, local = tempfile.mkstemp(dir=root, suffix=".out")
                with os.fdopen(fd, "wb") as out:
                    count = self._ordinary(instance, uri, out, settings, pool)
            if count is None:
                return None
            try:
                artifacts.upload_file(Path(local), target, config=self.config,
                                      objects=self.objects)
            except OSError as exc:
                raise ObjectFailed(f"{uri}: the output could not be written to {target}: "
                                   f"{exc}") from None
            return count, fast
        except FileNotFoundError:
            raise ObjectFailed(f"{uri} does not exist (it was listed at the start of the "
                               "job).") from None
        except records.SplitError as exc:
            raise ObjectFailed(f"{uri}: cannot split it with SplitType "
                               f"{settings.split_type}: {exc}.") from None
        except (OSError, EOFError, zlib.error) as exc:
            what = " (CompressionType is Gzip: is it gzipped?)" if settings.gzipped else ""
            raise ObjectFailed(f"{uri} could not be read{what}: {exc}") from None
        finally:
            Path(local).unlink(missing_ok=True)

    def _ordinary(self, instance: Instance, uri: str, out, settings: Settings, pool
                  ) -> int | None:
        """The object read, cut into mini-batches and sent to ``/invocations``, answers
        written to ``out`` in order; its record count, or None when stopped."""
        count = 0
        with self._open(uri) as raw:
            stream = gzip.GzipFile(fileobj=raw) if settings.gzipped else raw
            pending: deque = deque()
            if settings.multi and settings.split_type == "Line" and not settings.processing.active:
                batches = records.line_chunks(stream, settings.max_bytes)
            else:
                batches = records.batches(records.split(stream, settings.split_type),
                                          multi=settings.multi, max_bytes=settings.max_bytes,
                                          split_type=settings.split_type)
            for batch in batches:
                if self.stop_requested.is_set():
                    for f in pending:
                        f.cancel()
                    return None
                count += batch.count if isinstance(batch, records.Chunk) else len(batch)
                if pool is None:
                    out.write(self._answer(instance, uri, batch, settings))
                    continue
                pending.append(pool.submit(self._answer, instance, uri, batch, settings))
                while len(pending) >= settings.concurrency:
                    out.write(pending.popleft().result())
            while pending:
                out.write(pending.popleft().result())
        return count

    # --- the fast path: kamado's own model server reads kamado's own object ---------------------
    def _fast_eligible(self, instance: Instance, uri: str, settings: Settings) -> bool:
        """MultiRecord over lines without data processing, of an object of kamado's own
        store (a file here), by a model server of kamado's own (one container, not a user's
        image) that has not said it cannot (:mod:`kamado.serving.batch`)."""
        return (not self.fast_refused and settings.multi and settings.split_type == "Line"
                and not settings.processing.active and not settings.gzipped
                and is_s3(uri) and not self.config.s3_endpoint_url
                and len(instance.containers) == 1
                and instance.containers[0].image.kind != "user")

    def _fast(self, instance: Instance, uri: str, out, local: str, settings: Settings):
        """The object transformed by the model server reading it from its file: its record
        count, None when stopped, or ORDINARY when it is for the ordinary way (anything the
        fast path does not answer exactly as the ordinary way would — including every
        failure, so that the ordinary way says what it always says)."""
        if not self._fast_eligible(instance, uri, settings):
            return ORDINARY
        try:
            path = self.objects.get_object(*split_s3_uri(uri)).path
            f = open(path, "rb")
        except (AwsError, OSError):
            return ORDINARY  # gone: the ordinary way says so
        with f:
            size = os.fstat(f.fileno()).st_size
            if size < batch_route.SMALLEST_RANGE:
                return ORDINARY  # nothing to gain
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                try:
                    ranges = list(records.line_ranges(data, settings.max_bytes))
                except records.SplitError:
                    return ORDINARY
                count = 0
                for group in _groups(ranges):
                    if self.stop_requested.is_set():
                        return None
                    if group[0][1] - group[0][0] < batch_route.SMALLEST_RANGE:
                        answer = self._fast_small(instance, data, group[0], settings)
                        if answer is not ORDINARY:
                            out.write(answer[0])
                    else:
                        # the server writes the answers into the part file itself
                        out.flush()
                        answer = self._fast_call(instance, path, group, settings, out, local)
                    if answer is ORDINARY:
                        return ORDINARY
                    count += answer[1]
                return count

    def _fast_call(self, instance: Instance, path: str, ranges: list, settings: Settings, out,
                   local: str):
        """The server answers ``ranges`` of the file at ``path`` into ``out`` (the part file
        at ``local``), from where it is; (b"", records) or ORDINARY."""
        container = instance.containers[0]
        offset = out.tell()
        # absolute: the server runs in a directory of its own
        request = json.dumps({"path": os.path.abspath(path), "ranges": ranges,
                              "threads": settings.concurrency,
                              "content_type": settings.content_type, "accept": settings.accept,
                              "output": os.path.abspath(local), "offset": offset,
                              "token": self.fast_token}).encode()
        try:
            # each mini-batch may take as long as an invocation
            conn = http.client.HTTPConnection("127.0.0.1", container.port,
                                              timeout=settings.timeout * len(ranges))
            try:
                conn.request("POST", batch_route.ROUTE, body=request,
                             headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                body = response.read()
            finally:
                conn.close()
        except (OSError, http.client.HTTPException):
            return ORDINARY  # the ordinary way retries, or says what went wrong
        if response.status in (404, 405, 501):
            self.fast_refused = True  # not a server, or a model, for it: no more asking
        if response.status != 200:
            log.debug("transform job %s: the fast path answered %s: %s", self.name,
                      response.status, body[:200])
            return ORDINARY
        count = response.getheader(batch_route.RECORDS_HEADER) or ""
        size = response.getheader(batch_route.BYTES_HEADER) or ""
        if not (count.isdigit() and size.isdigit()) or body:
            return ORDINARY
        # every answer ends with a newline (the server checks): AssembleWith adds nothing
        out.seek(offset + int(size))
        return b"", int(count)

    def _fast_small(self, instance: Instance, data, where: tuple[int, int],
                    settings: Settings):
        """A mini-batch too small for the server's reader (the object's last one, mostly),
        sent to /invocations as the ordinary way sends it."""
        piece = data[where[0]:where[1]]
        chunk = records.chunk_of(piece if piece.endswith(b"\n") else piece + b"\n", 0)
        if chunk is None:
            return b"", 0
        status, body, _ = self._call(instance, chunk.data, settings)
        if status >= 400:
            return ORDINARY  # the ordinary way finds the line and says why
        if settings.assemble_line and not body.endswith(b"\n"):
            body += b"\n"
        return body, chunk.count

    # --- requests ------------------------------------------------------------------------------
    def _answer(self, instance: Instance, uri: str, batch, settings: Settings) -> bytes:
        """The output bytes for one mini-batch (a list of records, or a Chunk of lines)."""
        if isinstance(batch, records.Chunk):
            status, body, _ = self._call(instance, batch.data, settings)
            if status >= 400:
                lines = batch.records()
                raise ObjectFailed(self._bad_record(instance, uri, lines, lines, settings,
                                                    status, body))
            if settings.assemble_line and not body.endswith(b"\n"):
                body += b"\n"
            return body
        processing = settings.processing
        originals = None
        if processing.active:
            try:
                originals = [processing.parse_input(r.data) for r in batch]
                sent = [records.Record(r.number, r.line, processing.select_input(o))
                        for r, o in zip(batch, originals)]
            except ProcessingError as exc:
                raise ObjectFailed(f"{uri}: {self._where(batch)}: {exc}.") from None
        else:
            sent = batch
        status, body, content_type = self._call(instance, records.body(sent, settings.split_type),
                                                settings)
        if status >= 400:
            raise ObjectFailed(self._bad_record(instance, uri, batch, sent, settings, status, body))
        if not processing.active:
            if settings.assemble_line and not body.endswith(b"\n"):
                body += b"\n"
            return body
        kind = kind_of(settings.accept) or kind_of(content_type)
        try:
            answers = per_record(body, len(batch), kind)
            lines = [processing.finish(o, a, kind) for o, a in zip(originals, answers)]
        except ProcessingError as exc:
            raise ObjectFailed(f"{uri}: {self._where(batch)}: {exc}.") from None
        end = b"\n" if settings.assemble_line or settings.split_type == "Line" else b""
        return b"".join(line + end for line in lines)

    @staticmethod
    def _where(batch: list[records.Record]) -> str:
        first, last = batch[0], batch[-1]
        if first.line:
            return (f"line {first.line}" if len(batch) == 1
                    else f"lines {first.line}-{last.line}")
        return (f"record {first.number}" if len(batch) == 1
                else f"records {first.number}-{last.number}")

    def _bad_record(self, instance, uri, batch, sent, settings, status, body) -> str:
        """The reason a mini-batch was refused, naming the first record the model refuses
        on its own when the batch held several (one request per record, on failure only)."""
        where, answer = self._where(batch), (status, body)
        # Only a 4xx is about the records; 413 is about the batch's size, not one record.
        if len(batch) > 1 and 400 <= status < 500 and status != 413:
            for original, record in list(zip(batch, sent))[:PROBE_LIMIT]:
                alone = self._call(instance, record.data, settings)
                if alone[0] >= 400:
                    where, answer = self._where([original]), alone
                    break
        message = _short(answer[1].decode("utf-8", "replace")) or "(no message)"
        return (f"{uri}: {where}: the model server answered {answer[0]}: {message}")

    def _call(self, instance: Instance, body: bytes, settings: Settings
              ) -> tuple[int, bytes, str | None]:
        """Send ``body`` through the model's containers in order; a server that is down or
        answers 5xx is tried again up to InvocationsMaxRetries times (a 4xx is the record's
        fault and is not)."""
        attempts = settings.retries + 1
        last: tuple[int, bytes, str | None] = (500, b"", None)
        for attempt in range(attempts):
            if attempt:
                self._wait_ready(instance)
            try:
                last = self._through(instance, body, settings)
            except socket.timeout:
                last = (408, (f"no answer within InvocationsTimeoutInSeconds "
                              f"({settings.timeout:.0f} s)").encode(), None)
                continue
            except ContainerDown as exc:
                last = (502, f"the model server closed the connection ({exc})".encode(), None)
                continue
            if last[0] < 500:
                return last
        return last

    @staticmethod
    def _through(instance: Instance, body: bytes, settings: Settings):
        content_type, reply = settings.content_type, None
        for index, container in enumerate(instance.containers):
            headers = {}
            if content_type:
                headers["Content-Type"] = content_type
            if settings.accept and index == len(instance.containers) - 1:
                headers["Accept"] = settings.accept
            reply = container.invoke(body, headers, settings.timeout)
            if not 200 <= reply.status < 300:
                return reply.status, reply.body, reply.content_type
            body, content_type = reply.body, reply.content_type
        return reply.status, reply.body, reply.content_type

    def _wait_ready(self, instance: Instance) -> None:
        deadline = time.monotonic() + READY_WAIT_SECONDS
        while not instance.ready and time.monotonic() < deadline \
                and not self.stop_requested.is_set():
            time.sleep(0.05)  # the fleet's monitor is starting the server again

    # --- the end -------------------------------------------------------------------------------
    def _finish(self, status: str, reason: str | None) -> None:
        def change(data):
            data = dict(data)
            data["TransformEndTime"] = now()
            data.pop("_processes", None)
            if reason and status == "Failed":
                data["FailureReason"] = reason
            return data
        self.update(change, status=status)

    # --- control -------------------------------------------------------------------------------
    def stop(self) -> None:
        self.stop_requested.set()

    def abandon(self) -> None:
        """Server shutdown: end the model servers, write nothing; the next start runs the
        job again."""
        self.abandoned = True
        self.stop_requested.set()
