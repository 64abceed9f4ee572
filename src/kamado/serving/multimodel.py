"""Multi-model endpoints, the platform's side (inference-contract.md §8).

A model whose container has ``Mode: MultiModel`` names an S3 prefix; ``InvokeEndpoint``'s
``TargetModel`` is a key under it. Each instance keeps a :class:`ModelCache`: on a model's
first request it is downloaded to the instance's disk (``<instance>/models/<name>/``, the
container's ``/opt/ml/models``), extracted with the archive checks of single models, and
loaded into the model server (``POST /models``); it then stays loaded. Before a load, the
least recently used models are unloaded (``DELETE /models/<name>``) until the new one fits the
instance's memory budget (``KAMADO_MME_MEMORY_MB``). A model's memory is counted as the size
of its extracted files — known before the load, the same on every run, and what a model's
weights take once read — not the server's resident memory, which allocators and imported
libraries blur (the container logs that growth beside each load). A model larger than the
whole budget is served alone. Unloaded models stay on disk (up to ``DISK_FACTOR`` budgets),
so a reload skips the download, as AWS keeps them until disk runs short.

A request that waits for its model's load reports the wait as ``ModelLoadingWaitTime`` (the
endpoint's metrics and a line in its log stream). Past ``LOAD_WAIT_SECONDS`` it is answered
``ModelNotReadyException`` (429) while the load goes on, for the client to retry.
``MultiModelConfig.ModelCacheSetting = Disabled`` unloads and deletes a model after each
invocation.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import tarfile
import threading
import time
import weakref
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from kamado.errors import AwsError
from kamado.serving.artifacts import ArtifactError, extract

LOAD_WAIT_SECONDS = 60.0  # AWS: past this a request gets ModelNotReadyException
LOAD_LIMIT_SECONDS = 360.0  # AWS: the load itself goes on this long
UNLOAD_TIMEOUT = 30.0
DISK_FACTOR = 4  # unloaded models kept on disk, in multiples of the memory budget
TARGET_HEADER = "X-Amzn-SageMaker-Target-Model"
_NOT_LOADED = b"Model not found"  # the container's 404 for a model it does not hold
_loads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mme-load")


class ModelMissing(Exception):
    def __init__(self, bucket: str, key: str) -> None:
        super().__init__(f"{bucket}/{key}")
        self.bucket, self.key = bucket, key


class ModelNotReady(Exception):
    pass


class LoadFailed(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


@dataclass
class Entry:
    target: str
    name: str
    directory: Path  # holds model/ (the extracted archive)
    size: int = 0

    @property
    def model_dir(self) -> Path:
        return self.directory / "model"


def model_name(target: str) -> str:
    """The container's name for a target: a digest, so that no key ever becomes a path."""
    return hashlib.sha256(target.encode()).hexdigest()[:24]


def tree_size(directory: Path) -> int:
    return sum(p.lstat().st_size for p in directory.rglob("*") if p.is_file()
               and not p.is_symlink())


class Server(Protocol):
    """What the cache needs of a multi-model container."""

    def generation(self) -> object: ...
    def load(self, name: str, url: str) -> tuple[int, str]: ...
    def unload(self, name: str) -> int: ...
    def invoke(self, name: str, body: bytes, headers: dict, timeout: float): ...


class ModelCache:
    """The models one instance holds: loaded (least recently used first), on disk, loading."""

    def __init__(self, server: Server, root: Path, prefix: str,
                 download: Callable[[str, Path], None], budget_bytes: int,
                 cache_enabled: bool = True, log: Callable[[str], None] = lambda text: None,
                 ) -> None:
        self.server, self.root, self.download = server, root, download
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.budget, self.cache_enabled, self.log = budget_bytes, cache_enabled, log
        self.loaded: OrderedDict[str, Entry] = OrderedDict()
        self.disk: OrderedDict[str, Entry] = OrderedDict()
        self.reserved: dict[str, int] = {}
        self.pending: dict[str, Future] = {}
        self._generation = None
        self._lock = threading.Lock()

    # --- what the router calls -------------------------------------------------------------
    def invoke(self, target: str, body: bytes, headers: dict, timeout: float):
        """(the container's reply, seconds this request waited for the model to load)."""
        waited = 0.0
        for attempt in (0, 1):
            started = time.monotonic()
            entry = self._loaded(target)
            if entry is None:
                try:
                    entry = self._loading(target).result(timeout=LOAD_WAIT_SECONDS)
                except FutureTimeout:
                    raise ModelNotReady(target) from None
                waited += time.monotonic() - started
            reply = self.server.invoke(entry.name, body, headers, timeout)
            if reply.status == 404 and _NOT_LOADED in reply.body and attempt == 0:
                # the server lost it (restarted, or another request's Disabled cache
                # unloaded it): load it again
                self._forget(target, entry)
                continue
            if not self.cache_enabled:
                self._drop(target, entry, "after the invocation (ModelCacheSetting Disabled)",
                           keep_on_disk=False)
            return reply, waited
        return reply, waited

    def names(self) -> list[str]:
        """Loaded targets, least recently used first."""
        with self._lock:
            return list(self.loaded)

    # --- loading ---------------------------------------------------------------------------
    def _loaded(self, target: str) -> Entry | None:
        """The target if the server holds it (now its most recently used)."""
        with self._lock:
            generation = self.server.generation()
            if generation is not self._generation:
                # a new server process holds nothing yet; what was loaded is still on disk
                self._generation = generation
                for t, e in self.loaded.items():
                    self.disk[t] = e
                self.loaded.clear()
            entry = self.loaded.get(target)
            if entry is not None:
                self.loaded.move_to_end(target)
            return entry

    def _loading(self, target: str) -> Future:
        """The target's load: the one under way, or a new one."""
        with self._lock:
            entry = self.loaded.get(target)
            if entry is not None:  # loaded since _loaded looked
                done: Future = Future()
                done.set_result(entry)
                return done
            future = self.pending.get(target)
            if future is None:
                future = _loads.submit(self._load, target)
                self.pending[target] = future
            return future

    def _load(self, target: str) -> Entry:
        started = time.monotonic()
        try:
            with self._lock:
                entry = self.disk.pop(target, None)
            fetched = 0.0
            if entry is None or not entry.model_dir.is_dir():
                entry = Entry(target, model_name(target), self.root / model_name(target))
                self._fetch(entry)
                fetched = time.monotonic() - started
            for victim in self._make_room(entry):
                self._drop(victim.target, victim, "(least recently used) to make room",
                           keep_on_disk=True, listed=False)
            while True:
                status, text = self.server.load(entry.name, str(entry.model_dir))
                if status in (200, 409):  # 409: it never left the server
                    break
                if status == 507:
                    victim = self._oldest(besides=target)
                    if victim is not None:
                        self._drop(victim.target, victim, "(least recently used): the server "
                                   "is out of memory", keep_on_disk=True, listed=False)
                        continue
                self.log(f"kamado: model {target} failed to load ({status}): {text}")
                raise LoadFailed(status, text)
            with self._lock:
                self.reserved.pop(target, None)
                self.loaded[target] = entry
            total = time.monotonic() - started
            self.log(f"kamado: model {target} loaded ({entry.size / 2**20:.2f} MB) in "
                     f"{total * 1000:.0f} ms (download and extraction {fetched * 1000:.0f} ms)")
            return entry
        except BaseException:
            with self._lock:
                self.reserved.pop(target, None)
            raise
        finally:
            with self._lock:
                self.pending.pop(target, None)

    def _fetch(self, entry: Entry) -> None:
        uri = self.prefix + entry.target
        shutil.rmtree(entry.directory, ignore_errors=True)
        archive = entry.directory / "model.tar.gz"
        try:
            self.download(uri, archive)
        except (FileNotFoundError, IsADirectoryError):
            shutil.rmtree(entry.directory, ignore_errors=True)
            bucket, _, key = uri[len("s3://"):].partition("/")
            raise ModelMissing(bucket, key) from None
        try:
            extract(archive, entry.model_dir)
        except (ArtifactError, tarfile.TarError, EOFError, OSError) as exc:
            shutil.rmtree(entry.directory, ignore_errors=True)
            raise LoadFailed(500, f"Failed to extract model data from {uri}: {exc}") from None
        finally:
            archive.unlink(missing_ok=True)
        entry.size = tree_size(entry.model_dir)

    def _make_room(self, entry: Entry) -> list[Entry]:
        """Reserve the model's memory; the loaded models it displaces (oldest first)."""
        victims = []
        with self._lock:
            while self.loaded and self._used() + entry.size > self.budget:
                victims.append(self.loaded.popitem(last=False)[1])
            self.reserved[entry.target] = entry.size
        return victims

    def _oldest(self, besides: str) -> Entry | None:
        with self._lock:
            for target in self.loaded:
                if target != besides:
                    return self.loaded.pop(target)
        return None

    def _used(self) -> int:
        return sum(e.size for e in self.loaded.values()) + sum(self.reserved.values())

    # --- unloading -------------------------------------------------------------------------
    def _forget(self, target: str, entry: Entry) -> None:
        with self._lock:
            if self.loaded.get(target) is entry:
                del self.loaded[target]
                self.disk[target] = entry

    def _drop(self, target: str, entry: Entry, why: str, keep_on_disk: bool,
              listed: bool = True) -> None:
        if listed:
            with self._lock:
                if self.loaded.get(target) is not entry:
                    return  # another request already unloaded it
                del self.loaded[target]
        try:
            self.server.unload(entry.name)
        except OSError:
            pass  # a server that is gone holds nothing
        self.log(f"kamado: model {target} unloaded {why}")
        if not keep_on_disk:
            shutil.rmtree(entry.directory, ignore_errors=True)
            return
        with self._lock:
            self.disk[target] = entry
            doomed = []
            while self.disk and sum(e.size for e in self.disk.values()) > \
                    self.budget * DISK_FACTOR:
                doomed.append(self.disk.popitem(last=False)[1])
        for e in doomed:
            shutil.rmtree(e.directory, ignore_errors=True)


class ContainerServer:
    """A fleet container's ``/models`` API over loopback HTTP."""

    def __init__(self, container) -> None:
        self.container = container

    def generation(self) -> object:
        return self.container.process

    def _call(self, method: str, path: str, body: bytes | None, timeout: float):
        conn = http.client.HTTPConnection("127.0.0.1", self.container.port, timeout=timeout)
        try:
            conn.request(method, path, body=body,
                         headers={"Content-Type": "application/json"} if body else {})
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def load(self, name: str, url: str) -> tuple[int, str]:
        try:
            status, text = self._call("POST", "/models", json.dumps(
                {"model_name": name, "url": url}).encode(), LOAD_LIMIT_SECONDS)
        except (OSError, http.client.HTTPException) as exc:
            return 500, f"The model server did not answer the load: {exc}"
        try:
            text = json.loads(text).get("message", text)
        except (ValueError, AttributeError):
            pass
        return status, text

    def unload(self, name: str) -> int:
        try:
            return self._call("DELETE", f"/models/{name}", None, UNLOAD_TIMEOUT)[0]
        except http.client.HTTPException:
            return 500

    def invoke(self, name: str, body: bytes, headers: dict, timeout: float):
        return self.container.invoke(body, headers, timeout, path=f"/models/{name}/invoke")


# --- the router's entry points ---------------------------------------------------------------
_caches: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def is_multi_model(variant) -> bool:
    return any(spec.get("Mode") == "MultiModel" for spec, *_ in variant.containers)


def check(fleet, variant, target: str | None) -> None:
    """TargetModel where the variant serves one model, or none where it serves many:
    ValidationError, as AWS answers them."""
    from kamado.serving.router import invalid

    multi = is_multi_model(variant)
    if target is not None and not multi:
        error = invalid(f"Endpoint {fleet.endpoint} is not a multi-model endpoint and does not "
                        "support target model header.")
        error.fields["ErrorCode"] = "TARGET_MODEL_HEADER_NOT_SUPPORTED"
        raise error
    if target is None and multi:
        raise invalid(f"Request is missing a target model header: endpoint {fleet.endpoint} is "
                      "a multi-model endpoint; name the model with TargetModel.")


def cache_of(fleet, container) -> ModelCache:
    with _caches_lock:
        cache = _caches.get(container)
        if cache is None:
            from kamado.engine import artifacts

            platform = fleet.hosting.platform
            setting = (container.spec.get("MultiModelConfig") or {}).get("ModelCacheSetting")
            cache = ModelCache(
                ContainerServer(container), container.base / "models",
                container.spec["ModelDataUrl"],
                lambda uri, path: artifacts.download_file(uri, path, config=platform.config,
                                                          objects=platform.objects),
                budget_bytes=int(platform.config.mme_memory_mb) * 2**20,
                cache_enabled=setting != "Disabled",
                log=lambda text: container.joblog and container.joblog.system(text))
            _caches[container] = cache
        return cache


def invoke(fleet, variant, container, target: str, body: bytes, headers: dict,
           timeout: float, spent: list[float]):
    """One request to ``target`` on one container, its model loaded first if need be."""
    from kamado.serving.router import invalid, model_error

    cache = cache_of(fleet, container)
    try:
        reply, waited = cache.invoke(target, body, {**headers, TARGET_HEADER: target}, timeout)
    except ModelMissing as exc:
        raise invalid(f"Failed to download model data(bucket: {exc.bucket}, key: {exc.key}). "
                      "Please ensure that there is an object located at the URL and that the "
                      "role passed to CreateModel has permissions to download the model."
                      ) from None
    except ModelNotReady:
        raise AwsError(f"Model {target} is not ready yet: it is still being loaded. Retry the "
                       "request.", code="ModelNotReadyException", status=429) from None
    except LoadFailed as exc:
        raise model_error(fleet, variant, container.hostname, exc.status, exc.text) from None
    if waited:
        container.joblog.system(f"kamado: ModelLoadingWaitTime {waited * 1e6:.0f} microseconds "
                                f"for model {target}")
        fleet.hosting.metrics.observe(fleet.scope, fleet.endpoint, variant.name,
                                      "ModelLoadingWaitTime", waited)
        spent[0] -= waited  # the router times the whole call as ModelLatency; loading is not
    return reply
