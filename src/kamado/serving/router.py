"""One InvokeEndpoint through a fleet: pick the variant (its weight, or TargetVariant), pick an
instance in turn, pass the request through the instance's containers, copy it to the shadow
variants, capture what the data-capture configuration samples, and turn what went wrong into
the errors SageMaker's runtime answers (inference-contract.md §3.2)."""

from __future__ import annotations

import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from kamado.engine.fleet import LOG_GROUP, ContainerDown, Fleet, Variant
from kamado.errors import AwsError, ValidationError
from kamado.serving import multimodel

log = logging.getLogger("kamado.serving")

MAX_PAYLOAD = 6 * 1024 * 1024  # AWS: 6 MB for real-time endpoints
_shadow_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="shadow")


def invalid(message: str) -> ValidationError:
    """sagemaker-runtime spells its validation failures ValidationError."""
    return ValidationError(message, code="ValidationError")


def model_error(fleet: Fleet, variant: Variant, container: str, status: int, text: str,
                message: str | None = None) -> AwsError:
    scope = fleet.scope
    logs = (f"https://{scope.region}.console.aws.amazon.com/cloudwatch/home?region="
            f"{scope.region}#logEventViewer:group={LOG_GROUP}/{fleet.endpoint}")
    kind = "client" if 400 <= status < 500 else "server"
    if message is None:
        message = (f'Received {kind} error ({status}) from {container} with message "{text}". '
                   f"See {logs} in account {scope.account_id} for more information.")
    return AwsError(message, code="ModelError", status=424, OriginalStatusCode=status,
                    OriginalMessage=text,
                    LogStreamArn=f"arn:aws:logs:{scope.region}:{scope.account_id}:log-group:"
                                 f"{LOG_GROUP}/{fleet.endpoint}")


def _through(fleet: Fleet, variant: Variant, body: bytes, content_type: str | None,
             accept: str | None, custom_attributes: str | None, inference_id: str | None,
             timeout: float, spent: list[float], target_model: str | None = None):
    """The request through one instance's containers (a pipeline passes each answer on). An
    instance whose model server is gone is taken out of the rotation (the fleet starts it
    again) and the request goes to another: a crashed server costs no request."""
    for attempt in range(len(variant.instances) + 2):
        instance = variant.pick()
        if instance is None:
            why = f" ({variant.start_error})" if variant.start_error else ""
            raise AwsError(f"Variant {variant.name} of endpoint {fleet.endpoint} has no "
                           f"instance ready to serve; try again shortly.{why}",
                           code="ServiceUnavailable", status=503)
        try:
            return _through_instance(fleet, variant, instance, body, content_type, accept,
                                     custom_attributes, inference_id, timeout, spent,
                                     target_model)
        except ContainerDown as exc:
            down = exc
            # A killed server may not be reaped yet: only one that still answers /ping
            # closed the connection on this request itself.
            if all(c.alive() and c.ping() for c in instance.containers):
                break
            instance.ready = False
    container = down.args[1] if len(down.args) > 1 else "primary"
    raise model_error(fleet, variant, container, 500, str(down.args[0]), message=(
        f"Received server error (500) from {container} and could not load the entire "
        f"response body: the model server closed the connection ({down.args[0]}).")) from None


def _through_instance(fleet: Fleet, variant: Variant, instance, body: bytes,
                      content_type: str | None, accept: str | None,
                      custom_attributes: str | None, inference_id: str | None, timeout: float,
                      spent: list[float], target_model: str | None = None):
    reply = None
    for index, container in enumerate(instance.containers):
        last = index == len(instance.containers) - 1
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if accept and last:
            headers["Accept"] = accept
        if custom_attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
        if inference_id:
            headers["X-Amzn-SageMaker-Inference-Id"] = inference_id
        started = time.perf_counter()
        try:
            if target_model is None:
                reply = container.invoke(body, headers, timeout)
            else:
                reply = multimodel.invoke(fleet, variant, container, target_model, body,
                                          headers, timeout, spent)
        except socket.timeout:
            raise model_error(fleet, variant, container.hostname, 0, "", message=(
                f'Received server error (0) from {container.hostname} with message "Your '
                f"invocation timed out while waiting for a response from container "
                f"{container.hostname}. Review the latency metrics for each container in "
                f'Amazon CloudWatch, resolve the issue, and try again."')) from None
        except ContainerDown as exc:
            raise ContainerDown(str(exc), container.hostname) from None
        finally:
            spent[0] += time.perf_counter() - started
        if not 200 <= reply.status < 300:
            text = reply.body.decode("utf-8", "replace")
            raise model_error(fleet, variant, container.hostname, reply.status, text)
        body, content_type = reply.body, reply.content_type
        custom_attributes = None if last else custom_attributes
    return reply


def invoke(fleet: Fleet, request: dict) -> dict:
    body = request.get("Body") or b""
    if len(body) > MAX_PAYLOAD:
        raise invalid(f"Request payload of {len(body)} bytes exceeds the real-time limit of "
                      f"{MAX_PAYLOAD} bytes (6 MB); use asynchronous inference or batch "
                      "transform for larger payloads.")
    target = request.get("TargetVariant")
    if target is not None and target not in fleet.variants:
        raise invalid(f'The variant(s) "[{target}]" is/are not present in the endpoint '
                      f"{fleet.endpoint}.")
    variant = fleet.choose(target)
    target_model = request.get("TargetModel")
    multimodel.check(fleet, variant, target_model)
    content_type, accept = request.get("ContentType"), request.get("Accept")
    custom, inference_id = request.get("CustomAttributes"), request.get("InferenceId")
    capture = fleet.capture
    sampled = capture is not None and capture.sampled()
    for shadow in fleet.shadows.values():
        _shadow_pool.submit(_shadow, fleet, shadow, body, content_type, accept, custom,
                            inference_id, sampled,
                            target_model if multimodel.is_multi_model(shadow) else None)
    reply = measured(fleet, variant, body, content_type, accept, custom, inference_id,
                     target_model=target_model)
    if sampled:
        capture.record(variant.name, request=body, request_type=content_type,
                       response=reply.body, response_type=reply.content_type,
                       inference_id=inference_id, custom_attributes=custom)
    out = {"Body": reply.body, "InvokedProductionVariant": variant.name}
    if reply.content_type:
        out["ContentType"] = reply.content_type
    if reply.custom_attributes:
        out["CustomAttributes"] = reply.custom_attributes
    return out


def measured(fleet: Fleet, variant: Variant, body: bytes, content_type, accept, custom,
             inference_id, timeout: float | None = None,
             target_model: str | None = None):
    """The request through the variant, counted and timed under AWS's metric names."""
    metrics, scope, name = fleet.hosting.metrics, fleet.scope, variant.name
    if timeout is None:
        timeout = float(fleet.hosting.platform.config.invocation_timeout_seconds)
    if not variant.enter():
        raise AwsError(f"Serverless endpoint {fleet.endpoint} is at its MaxConcurrency "
                       f"({variant.serverless['MaxConcurrency']}); retry the request.",
                       code="ThrottlingException", status=429)
    started, spent = time.perf_counter(), [0.0]
    metrics.count(scope, fleet.endpoint, name, "Invocations")
    try:
        reply = _through(fleet, variant, body, content_type, accept, custom, inference_id,
                         timeout, spent, target_model)
    except AwsError as exc:
        if exc.code == "ModelError":
            metrics.count(scope, fleet.endpoint, name, "InvocationModelErrors")
            status = exc.fields.get("OriginalStatusCode", 500)
            metrics.count(scope, fleet.endpoint, name, "Invocation4XXErrors"
                          if 400 <= status < 500 else "Invocation5XXErrors")
        raise
    finally:
        variant.leave()
    metrics.observe(scope, fleet.endpoint, name, "ModelLatency", spent[0])
    metrics.observe(scope, fleet.endpoint, name, "OverheadLatency",
                    time.perf_counter() - started - spent[0])
    return reply


def _shadow(fleet: Fleet, shadow: Variant, body: bytes, content_type, accept, custom,
            inference_id, sampled: bool, target_model: str | None = None) -> None:
    """A copy of the request to a shadow variant: its answer is captured, never returned."""
    try:
        reply = measured(fleet, shadow, body, content_type, accept, custom, inference_id,
                         target_model=target_model)
    except AwsError as exc:
        log.info("endpoint %s: shadow variant %s failed: %s", fleet.endpoint, shadow.name,
                 exc.message)
        return
    shadow.answered += 1
    if sampled and fleet.capture is not None:
        fleet.capture.record(shadow.name, request=body, request_type=content_type,
                             response=reply.body, response_type=reply.content_type,
                             inference_id=inference_id, custom_attributes=custom)
