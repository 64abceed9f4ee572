"""Asynchronous inference: InvokeEndpointAsync requests queued in the store and worked off by
the endpoint's fleet (inference-contract.md §10).

A request is a resource (``AsyncInvocation``) that moves Queued → InProgress → Completed or
Failed. A worker claims one with a conditional update (only a Queued request can become
InProgress), so two workers never take the same request; the result is written to
``OutputLocation`` (or the error to ``FailureLocation``) before the request is marked done, and
a server that stops in between finds the output already there when it starts again and does not
run the request a second time. ``MaxConcurrentInvocationsPerInstance`` workers per instance.

Where AWS would publish to SNS, kamado writes the same notification JSON as a log event to the
Logs API: group ``/kamado/sns/<topic name>``, stream ``<endpoint name>``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid

from kamado.engine import artifacts
from kamado.errors import AwsError, ConflictError

log = logging.getLogger("kamado.serving")

TYPE = "AsyncInvocation"
DEFAULT_CONCURRENCY = 4  # per instance, when the configuration names none
DEFAULT_TTL = 6 * 3600
DEFAULT_TIMEOUT = 900
IDLE_POLL_SECONDS = 2.0  # a request enqueued here wakes the workers at once; this is a backstop
NOTIFY_GROUP = "/kamado/sns"
MAX_EMBEDDED_RESPONSE = 128 * 1024


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def locations(config: dict, inference_id: str, extension: str | None,
              filename: str | None) -> tuple[str, str | None]:
    """OutputLocation and FailureLocation of a request, as the 202 answer gives them."""
    output = config["OutputConfig"]
    name = filename or f"{inference_id}.out"
    base = output["S3OutputPath"].rstrip("/")
    if extension:
        base = f"{base}/{extension.strip('/')}"
    failure = output.get("S3FailurePath")
    failure_at = f"{failure.rstrip('/')}/{inference_id}-error.out" if failure else None
    return f"{base}/{name}", failure_at


class AsyncWorkers:
    """The workers of one fleet: they take the endpoint's queued requests until the fleet
    stops."""

    def __init__(self, fleet) -> None:
        self.fleet = fleet
        self.config = fleet.config["AsyncInferenceConfig"]
        self.platform = fleet.hosting.platform
        self._stop = threading.Event()
        self._wake = threading.Event()
        per_instance = (self.config.get("ClientConfig") or {}).get(
            "MaxConcurrentInvocationsPerInstance") or DEFAULT_CONCURRENCY
        instances = max(1, sum(len(v.instances) for v in fleet.variants.values()))
        self._threads = [threading.Thread(target=self._work, daemon=True,
                                          name=f"async-{fleet.endpoint}-{i}")
                         for i in range(per_instance * instances)]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(60)

    # --- one request ---------------------------------------------------------------------------
    def _claim(self):
        resources, scope = self.platform.resources, self.fleet.scope
        queued, _ = resources.list(scope, TYPE, status_equals="Queued", sort_by="CreationTime",
                                   sort_order="Ascending", max_results=8,
                                   where={"EndpointName": self.fleet.endpoint})
        for item in queued:
            try:
                return resources.update(scope, TYPE, item.name, status="InProgress",
                                        expect_status="Queued")
            except ConflictError:
                continue  # another worker took it
        return None

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._claim()
            except Exception:  # noqa: BLE001 - the store is busy or closing; try again
                log.exception("endpoint %s: could not read the async queue", self.fleet.endpoint)
                item = None
            if item is None:
                self._wake.wait(IDLE_POLL_SECONDS)
                self._wake.clear()
                continue
            try:
                self._process(item)
            except Exception:  # noqa: BLE001
                log.exception("endpoint %s: async request %s failed inside kamado",
                              self.fleet.endpoint, item.name)
                self._finish(item, "Failed", failure="InternalFailure: kamado failed while "
                             "processing the request; see the server log.")

    def _process(self, item) -> None:
        from kamado.serving import router

        d = item.data
        if time.time() > d["ExpiresAt"]:
            self._finish(item, "Failed", failure=(
                f"ClientError: The request expired after RequestTTLSeconds="
                f"{d['RequestTTLSeconds']} before it could be processed."))
            return
        config, objects = self.platform.config, self.platform.objects
        try:
            if "Body" in d:
                body = d["Body"].encode("latin-1")
            else:
                fs, path = artifacts.filesystem(d["InputLocation"], config=config,
                                                objects=objects)
                body = fs.cat_file(path)
        except (FileNotFoundError, OSError) as exc:
            self._finish(item, "Failed", failure=(
                f"ClientError: Failed to download the request input from "
                f"{d.get('InputLocation')}: {exc}"))
            return
        variant = self.fleet.choose(None)
        try:
            reply = router.measured(self.fleet, variant, body, d.get("ContentType"),
                                    d.get("Accept"), d.get("CustomAttributes"),
                                    item.name, timeout=d["InvocationTimeoutSeconds"])
        except AwsError as exc:
            failure_body = (exc.fields.get("OriginalMessage") or exc.message).encode()
            if d.get("FailureLocation"):
                artifacts.write_bytes(d["FailureLocation"], failure_body, config=config,
                                      objects=objects)
            status = exc.fields.get("OriginalStatusCode")
            self._finish(item, "Failed", failure=(
                f"ClientError: Received server error ({status}) from model. See the endpoint's "
                f"logs for more information." if status is not None else exc.message))
            return
        artifacts.write_bytes(d["OutputLocation"], reply.body, config=config, objects=objects)
        self._finish(item, "Completed", response=reply.body,
                     response_type=reply.content_type)

    def _finish(self, item, status: str, *, failure: str | None = None,
                response: bytes | None = None, response_type: str | None = None) -> None:
        resources, scope = self.platform.resources, self.fleet.scope
        resources.update(scope, TYPE, item.name, {"FailureReason": failure,
                                                  "CompletedAt": time.time(), "Body": None},
                         status=status)
        self._notify(item.data, status, failure, response, response_type)

    def _notify(self, d: dict, status: str, failure: str | None, response: bytes | None,
                response_type: str | None) -> None:
        notification = (self.config.get("OutputConfig") or {}).get("NotificationConfig") or {}
        topic = notification.get("SuccessTopic" if status == "Completed" else "ErrorTopic")
        if not topic:
            return
        message = {"awsRegion": self.fleet.scope.region, "eventTime": _now_iso(),
                   "receivedTime": d["ReceivedTime"], "invocationStatus": status,
                   "requestParameters": {"contentType": d.get("ContentType") or "",
                                         "endpointName": self.fleet.endpoint,
                                         "inputLocation": d.get("InputLocation", "")},
                   "inferenceId": d["InferenceId"], "eventVersion": "1.0",
                   "eventSource": "aws:sagemaker", "eventName": "InferenceResult"}
        if status == "Completed":
            message["responseParameters"] = {"contentType": response_type or "",
                                             "outputLocation": d["OutputLocation"]}
            embed = notification.get("IncludeInferenceResponseIn") or []
            if ("SUCCESS_NOTIFICATION_TOPIC" in embed and response is not None
                    and len(response) <= MAX_EMBEDDED_RESPONSE):
                message["inferenceResponse"] = response.decode("utf-8", "replace")
        else:
            message["failureReason"] = failure
            if d.get("FailureLocation"):
                message["responseParameters"] = {"failureLocation": d["FailureLocation"]}
        group = f"{NOTIFY_GROUP}/{topic.rsplit(':', 1)[-1]}"
        self.platform.logs.put_events(self.fleet.scope, group, self.fleet.endpoint,
                                      [(int(time.time() * 1000), json.dumps(message))],
                                      create=True)


def enqueue(platform, scope, endpoint, config: dict, request: dict) -> dict:
    """Record one InvokeEndpointAsync request; its 202 answer."""
    inference_id = request.get("InferenceId") or str(uuid.uuid4())
    output, failure = locations(config, inference_id, request.get("S3OutputPathExtension"),
                                request.get("Filename"))
    ttl = request.get("RequestTTLSeconds") or DEFAULT_TTL
    data = {"EndpointName": endpoint.name, "InferenceId": inference_id,
            "ContentType": request.get("ContentType"), "Accept": request.get("Accept"),
            "CustomAttributes": request.get("CustomAttributes"),
            "InputLocation": request.get("InputLocation"), "OutputLocation": output,
            "FailureLocation": failure, "RequestTTLSeconds": ttl,
            "ExpiresAt": time.time() + ttl, "ReceivedTime": _now_iso(),
            "InvocationTimeoutSeconds": request.get("InvocationTimeoutSeconds")
            or DEFAULT_TIMEOUT}
    if request.get("Body") is not None:
        data["Body"] = request["Body"].decode("latin-1")
    data = {k: v for k, v in data.items() if v is not None}
    platform.resources.create(scope, TYPE, f"{endpoint.name}/{inference_id}",
                              f"{endpoint.arn}/async-invocation/{inference_id}", data,
                              status="Queued", on_duplicate=lambda n, a: AwsError(
                                  f"InferenceId {inference_id} is already in use for endpoint "
                                  f"{endpoint.name}.", code="ValidationError"))
    out = {"InferenceId": inference_id, "OutputLocation": output}
    if failure:
        out["FailureLocation"] = failure
    return out


def recover(platform) -> None:
    """After a restart: a request that was being processed is done if its output is there,
    and queued again otherwise."""
    from kamado.engine.engine import Scope

    for item in platform.resources.scan(TYPE, statuses=("InProgress",)):
        scope = Scope(item.account_id, item.region)
        done = artifacts.object_exists(item.data["OutputLocation"], config=platform.config,
                                       objects=platform.objects)
        platform.resources.update(scope, TYPE, item.name, {"CompletedAt": time.time()}
                                  if done else None, status="Completed" if done else "Queued")
