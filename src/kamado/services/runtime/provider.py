"""sagemaker-runtime: InvokeEndpoint, answered by the endpoint's model servers."""

from __future__ import annotations

from kamado.engine.fleet import READY_WAIT_SECONDS
from kamado.services.base import Provider, RequestContext
from kamado.services.sagemaker.endpoints import endpoint_arn
from kamado.serving import asynchronous, router


class Runtime(Provider):
    service = "sagemaker-runtime"

    def __init__(self, platform) -> None:
        super().__init__(platform)
        self.resources = platform.resources
        self.hosting = platform.engine.hosting

    def _fleet(self, ctx: RequestContext, name: str):
        # The serving fleet, found in memory: a store read on every request would be most of
        # kamado's own latency. Only when there is none does the store say why.
        fleet = self.hosting.fleets.get(endpoint_arn(ctx, name))
        if fleet is not None:
            return fleet
        endpoint = self.resources.get(ctx, "Endpoint", name, missing_ok=True)
        if endpoint is None:
            raise router.invalid(f"Endpoint {name} of account {ctx.account_id} not found.")
        fleet = self.hosting.fleet(endpoint.arn, wait=READY_WAIT_SECONDS)
        if fleet is None or endpoint.status not in ("InService", "Updating", "RollingBack"):
            raise router.invalid(f"Endpoint {name} of account {ctx.account_id} is "
                                 f"{endpoint.status}, not InService; it cannot be invoked yet.")
        return fleet

    def invoke_endpoint_async(self, request: dict, ctx: RequestContext) -> dict:
        name = request["EndpointName"]
        fleet = self._fleet(ctx, name)
        config = fleet.config.get("AsyncInferenceConfig")
        if config is None:
            raise router.invalid(f"Endpoint {name} is not configured for asynchronous "
                                 "inference; invoke it with InvokeEndpoint.")
        location = request.get("InputLocation")
        if location is None and request.get("Body") is None:
            raise router.invalid("InputLocation is required.")
        if location is not None and not location.startswith("s3://"):
            raise router.invalid(f"InputLocation must be an s3:// URI; got {location}.")
        endpoint = self.resources.get(ctx, "Endpoint", name)
        out = asynchronous.enqueue(self.platform, ctx, endpoint, config, request)
        if fleet.async_workers is not None:
            fleet.async_workers.wake()
        return out

    def invoke_endpoint(self, request: dict, ctx: RequestContext) -> dict:
        fleet = self._fleet(ctx, request["EndpointName"])
        return router.invoke(fleet, request)
