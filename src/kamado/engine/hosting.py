"""Endpoints brought up, changed and taken down, each step recorded in the store first.

Creating → InService (or Failed with a reason); Updating → InService, where a new endpoint
configuration is deployed beside the one serving and takes over only once every one of its
instances is healthy (a failure leaves the old fleet serving: RollingBack → InService with the
reason); Deleting → the endpoint is gone. Model servers are processes of this server: when it
starts again it brings every endpoint the store says is up back up from its configuration.
"""

from __future__ import annotations

import logging
import shutil
import threading
from typing import TYPE_CHECKING

from kamado.engine.fleet import LOG_GROUP, PIDS_FILE, DeployError, Fleet
from kamado.engine.joblog import JobLog
from kamado.engine.process import end_group
from kamado.engine.training import inherited_environment
from kamado.serving.metrics import EndpointMetrics

if TYPE_CHECKING:
    from kamado.engine.engine import Engine, Scope

log = logging.getLogger("kamado.engine")

ENDPOINT = "Endpoint"
STOP_GRACE_SECONDS = 30.0  # AWS: SIGTERM, then SIGKILL 30 s later


class Hosting:
    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        self.platform = engine.platform
        self.startup_seconds = 240.0
        self.fleets: dict[str, Fleet] = {}  # endpoint ARN -> the fleet serving it
        self.metrics = EndpointMetrics()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._restoring: set[str] = set()  # endpoints being brought back after a restart
        self._workers: dict[str, threading.Thread] = {}
        self._closed = False

    # --- what the provider and the runtime ask -------------------------------------------------
    def fleet(self, arn: str, wait: float = 0.0) -> Fleet | None:
        """The fleet serving an endpoint; after a restart, requests wait (up to ``wait``
        seconds) for its endpoints to come back rather than fail."""
        with self._changed:
            self._changed.wait_for(lambda: arn in self.fleets or arn not in self._restoring,
                                   timeout=wait)
            return self.fleets.get(arn)

    @staticmethod
    def variant_summaries(config: dict, deployed: bool) -> list[dict]:
        """ProductionVariants of DescribeEndpoint before a fleet exists (Creating)."""
        out = []
        for spec in config["ProductionVariants"]:
            summary = {"VariantName": spec["VariantName"],
                       "DesiredWeight": float(spec.get("InitialVariantWeight", 1.0))}
            if spec.get("ServerlessConfig"):
                summary["DesiredServerlessConfig"] = spec["ServerlessConfig"]
            else:
                summary["DesiredInstanceCount"] = spec["InitialInstanceCount"]
            out.append(summary)
        return out

    def base_environment(self, scope: "Scope") -> dict[str, str]:
        config = self.platform.config
        env = inherited_environment()
        env.update({"AWS_REGION": scope.region, "AWS_DEFAULT_REGION": scope.region,
                    "AWS_ENDPOINT_URL": config.endpoint_url,
                    "AWS_ACCESS_KEY_ID": self.platform.access_key_id,
                    "AWS_SECRET_ACCESS_KEY": self.platform.secret_for(
                        self.platform.access_key_id) or "",
                    "KAMADO_CACHE_DIR": str(config.home / "cache")})
        return env

    def endpoint_log(self, scope: "Scope", endpoint: str, stream: str) -> JobLog:
        logs = self.platform.logs
        group = f"{LOG_GROUP}/{endpoint}"

        def write_events(events):
            logs.put_events(scope, group, stream, events, create=True)
        return JobLog(write_events, lambda points: None, [])

    def root(self, scope: "Scope", endpoint: str):
        return self.engine.job_root(scope, "endpoints", endpoint)

    # --- changes -----------------------------------------------------------------------------
    def deploy(self, scope, name: str, arn: str) -> None:
        """Carry out what the stored endpoint's status asks for, on a thread of its own."""
        from kamado.engine.engine import Scope

        scope = Scope(scope.account_id, scope.region)
        self._spawn(arn, self._advance, scope, name, arn)

    def delete(self, scope, name: str, arn: str) -> None:
        from kamado.engine.engine import Scope

        scope = Scope(scope.account_id, scope.region)
        with self._lock:
            fleet = self.fleets.pop(arn, None)  # no new requests from now on
        self.platform.resources.update(scope, ENDPOINT, name, status="Deleting")
        self._spawn(arn, self._delete, scope, name, arn, fleet)

    def _spawn(self, arn: str, target, *args) -> None:
        with self._lock:
            previous = self._workers.get(arn)
            # one change at a time per endpoint, in the order they were asked for
            thread = threading.Thread(target=self._after, args=(previous, target, *args),
                                      daemon=True, name=f"hosting-{arn.rsplit('/', 1)[1]}")
            self._workers[arn] = thread
        thread.start()

    def _after(self, previous, target, *args) -> None:
        if previous is not None:
            previous.join()
        if self._closed:
            return
        try:
            target(*args)
        except Exception:  # noqa: BLE001 - kamado's own failure, reported on the endpoint
            log.exception("endpoint %s: deployment failed inside kamado", args[1])
            try:
                self._set(args[0], args[1], "Failed", FailureReason=(
                    "InternalServerError: kamado failed while deploying the endpoint; see the "
                    "server log."))
            except Exception:  # noqa: BLE001
                pass

    def _set(self, scope, name: str, status: str | None, **changes) -> None:
        def change(data):
            data = dict(data)
            for key, value in changes.items():
                if value is None:
                    data.pop(key, None)
                else:
                    data[key] = value
            return data
        kwargs = {} if status is None else {"status": status}
        self.platform.resources.update(scope, ENDPOINT, name, change, **kwargs)

    def _advance(self, scope, name: str, arn: str) -> None:
        endpoint = self.platform.resources.get(scope, ENDPOINT, name, missing_ok=True)
        if endpoint is None or endpoint.status in ("Deleting", "Failed"):
            return
        data = endpoint.data
        if endpoint.status == "Creating":
            fleet = self._bring_up(scope, name, data["_config"])
            if isinstance(fleet, str):
                self._set(scope, name, "Failed", FailureReason=fleet)
                return
            self._serve(scope, name, arn, fleet, data["_config"])
        elif endpoint.status == "Updating" and data.get("_pending"):
            fleet = self._bring_up(scope, name, data["_pending"])
            if isinstance(fleet, str):
                self._set(scope, name, "RollingBack", _pending=None, FailureReason=fleet)
                self._set(scope, name, "InService")
                return
            self._serve(scope, name, arn, fleet, data["_pending"], _pending=None)
        elif endpoint.status == "Updating" and data.get("_capacities"):
            self._resize(scope, name, arn, data["_capacities"])

    def _bring_up(self, scope, name: str, config: dict) -> Fleet | str:
        try:
            fleet = Fleet(self, scope, name, config, self.root(scope, name))
            fleet.start()
        except DeployError as exc:
            return str(exc)
        return fleet

    def _serve(self, scope, name: str, arn: str, fleet: Fleet, config: dict, **changes) -> None:
        with self._lock:
            old = self.fleets.get(arn)
            if self._closed:
                fleet.stop(1.0)
                return
            self.fleets[arn] = fleet
            self._changed.notify_all()
        self._set(scope, name, "InService", EndpointConfigName=config["EndpointConfigName"],
                  _config=config, ProductionVariants=fleet.summaries(),
                  ShadowProductionVariants=fleet.shadow_summaries() or None, **changes)
        if old is not None:
            old.stop(STOP_GRACE_SECONDS)

    def _resize(self, scope, name: str, arn: str, desired: list[dict]) -> None:
        fleet = self.fleets.get(arn)
        reason = None
        if fleet is not None:
            for change in desired:
                variant = fleet.variants[change["VariantName"]]
                if change.get("DesiredWeight") is not None:
                    variant.weight = variant.desired_weight = float(change["DesiredWeight"])
                if change.get("DesiredInstanceCount") is not None:
                    variant.desired_count = int(change["DesiredInstanceCount"])
                    try:
                        variant.scale(variant.desired_count, STOP_GRACE_SECONDS)
                    except DeployError as exc:
                        reason = str(exc)
        self._set(scope, name, "InService", _capacities=None, FailureReason=reason,
                  ProductionVariants=fleet.summaries() if fleet else None)

    def _delete(self, scope, name: str, arn: str, taken: Fleet | None = None) -> None:
        with self._lock:
            serving = self.fleets.pop(arn, None)  # one an update brought up meanwhile
        for fleet in (taken, serving):
            if fleet is not None:
                fleet.stop(STOP_GRACE_SECONDS)
        self.platform.resources.delete(scope, ENDPOINT, name)
        self.metrics.forget(scope, name)
        self.engine.remove_job_dir(scope, "endpoints", name)

    # --- server start and stop ------------------------------------------------------------------
    def recover(self) -> None:
        """Bring back what the store says is up; finish what was half done."""
        from kamado.engine.engine import Scope
        from kamado.serving import asynchronous

        asynchronous.recover(self.platform)
        for endpoint in self.platform.resources.scan(ENDPOINT):
            scope = Scope(endpoint.account_id, endpoint.region)
            self._end_orphans(scope, endpoint.name)
            if endpoint.status == "Deleting":
                self._spawn(endpoint.arn, self._delete, scope, endpoint.name, endpoint.arn)
            elif endpoint.status in ("InService", "Updating", "RollingBack"):
                with self._lock:
                    self._restoring.add(endpoint.arn)
                self._spawn(endpoint.arn, self._restore, scope, endpoint.name, endpoint.arn)
            elif endpoint.status == "Creating":
                self._spawn(endpoint.arn, self._advance, scope, endpoint.name, endpoint.arn)

    def _end_orphans(self, scope, name: str) -> None:
        """The model servers a killed kamado left running, ended and their fleets cleared."""
        for pids in self.root(scope, name).glob(f"*/{PIDS_FILE}"):
            for line in pids.read_text().splitlines():
                pid, _, started = line.partition(" ")
                if end_group(int(pid), started or None):
                    log.warning("ended the orphaned model server (pid %s) of endpoint %s", pid,
                                name)
            shutil.rmtree(pids.parent, ignore_errors=True)

    def _restore(self, scope, name: str, arn: str) -> None:
        try:
            self._bring_back(scope, name, arn)
        finally:
            with self._changed:
                self._restoring.discard(arn)
                self._changed.notify_all()

    def _bring_back(self, scope, name: str, arn: str) -> None:
        endpoint = self.platform.resources.get(scope, ENDPOINT, name)
        fleet = self._bring_up(scope, name, endpoint.data["_config"])
        if isinstance(fleet, str):
            self._set(scope, name, "Failed", FailureReason=(
                f"The endpoint could not be brought back up after kamado restarted: {fleet}"))
            return
        self._serve(scope, name, arn, fleet, endpoint.data["_config"])
        if endpoint.status == "Updating" and (endpoint.data.get("_pending")
                                              or endpoint.data.get("_capacities")):
            self._set(scope, name, "Updating")
            self._advance(scope, name, arn)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            fleets, self.fleets = list(self.fleets.values()), {}
        for fleet in fleets:
            fleet.stop(2.0)
