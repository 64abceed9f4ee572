"""SageMaker endpoint configurations and endpoints (CreateEndpointConfig, CreateEndpoint,
UpdateEndpoint, UpdateEndpointWeightsAndCapacities and friends).

The provider checks a request and records it; ``engine/hosting.py`` starts the model servers and
moves the endpoint through AWS's statuses: Creating → InService (or Failed), Updating →
InService (the old fleet serves until the new one is healthy; a failed update rolls back),
Deleting → gone.
"""

from __future__ import annotations

from kamado.errors import ValidationError
from kamado.services.base import Provider, RequestContext
from kamado.services.sagemaker import lineage, models
from kamado.services.sagemaker.listing import list_page, page

CONFIG, ENDPOINT = "EndpointConfig", "Endpoint"
_CONFIG_ECHOED = ("ProductionVariants", "DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig",
                  "ExplainerConfig", "ShadowProductionVariants", "ExecutionRoleArn", "VpcConfig",
                  "EnableNetworkIsolation")
SERVERLESS_MEMORY = (1024, 2048, 3072, 4096, 5120, 6144)


def config_arn(ctx: RequestContext, name: str) -> str:
    return ctx.arn("sagemaker", f"endpoint-config/{name.lower()}")


def endpoint_arn(ctx: RequestContext, name: str) -> str:
    return ctx.arn("sagemaker", f"endpoint/{name.lower()}")


def _config_missing(ctx: RequestContext):
    return lambda name, arn: ValidationError(
        f'Could not find endpoint configuration "{arn or config_arn(ctx, name)}".')


def _endpoint_missing(ctx: RequestContext):
    return lambda name, arn: ValidationError(
        f'Could not find endpoint "{arn or endpoint_arn(ctx, name)}".')


class EndpointConfigs(Provider):
    service = "sagemaker"

    def __init__(self, platform) -> None:
        super().__init__(platform)
        self.resources = platform.resources
        self.resources.register(CONFIG, label="Endpoint configuration", on_duplicate=lambda n, a: (
            ValidationError(f'Cannot create already existing endpoint configuration "{a}".')))

    def get(self, ctx: RequestContext, name: str):
        return self.resources.get(ctx, CONFIG, name, on_missing=_config_missing(ctx))

    def create_endpoint_config(self, request: dict, ctx: RequestContext) -> dict:
        name = request["EndpointConfigName"]
        variants = [self._variant(ctx, v) for v in request["ProductionVariants"]]
        shadows = [self._variant(ctx, v) for v in request.get("ShadowProductionVariants") or []]
        names = [v["VariantName"] for v in variants + shadows]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValidationError(f"Variant names must be unique within an endpoint "
                                  f"configuration: {', '.join(duplicates)} appears twice.")
        serverless = [v for v in variants if v.get("ServerlessConfig")]
        if serverless and len(variants) > 1:
            raise ValidationError("An endpoint configuration with a serverless variant has "
                                  "exactly one variant.")
        if shadows and len(variants) != 1:
            raise ValidationError("ShadowProductionVariants need exactly one production variant.")
        if serverless and (shadows or request.get("DataCaptureConfig")
                           or request.get("AsyncInferenceConfig")):
            raise ValidationError("Serverless endpoints support neither shadow variants, data "
                                  "capture nor asynchronous inference.")
        capture = request.get("DataCaptureConfig")
        if capture:
            capture = {"EnableCapture": capture.get("EnableCapture", True), **capture}
            if not capture["DestinationS3Uri"].startswith("s3://"):
                raise ValidationError("DataCaptureConfig.DestinationS3Uri must be an s3:// URI.")
        data = {k: request[k] for k in _CONFIG_ECHOED if k in request}
        data["ProductionVariants"] = variants
        if shadows:
            data["ShadowProductionVariants"] = shadows
        if capture:
            data["DataCaptureConfig"] = capture
        data.setdefault("EnableNetworkIsolation", False)
        arn = config_arn(ctx, name)
        self.resources.create(ctx, CONFIG, name, arn, data, tags=request.get("Tags") or None)
        return {"EndpointConfigArn": arn}

    def _variant(self, ctx: RequestContext, variant: dict) -> dict:
        name = variant["VariantName"]
        if not variant.get("ModelName"):
            raise ValidationError(f"Variant {name}: ModelName is required.")
        self.platform.services.provider(models.Models).get(ctx, variant["ModelName"])
        serverless = variant.get("ServerlessConfig")
        out = dict(variant)
        if serverless:
            if variant.get("InstanceType") or variant.get("InitialInstanceCount"):
                raise ValidationError(f"Variant {name}: ServerlessConfig cannot be combined with "
                                      "InstanceType or InitialInstanceCount.")
            if serverless["MemorySizeInMB"] not in SERVERLESS_MEMORY:
                raise ValidationError(f"Variant {name}: ServerlessConfig.MemorySizeInMB must be "
                                      f"one of {', '.join(map(str, SERVERLESS_MEMORY))}.")
            if serverless.get("ProvisionedConcurrency", 0) > serverless["MaxConcurrency"]:
                raise ValidationError(f"Variant {name}: ProvisionedConcurrency cannot exceed "
                                      "MaxConcurrency.")
        else:
            if not variant.get("InstanceType") or not variant.get("InitialInstanceCount"):
                raise ValidationError(f"Variant {name}: InstanceType and InitialInstanceCount are "
                                      "required for an instance-based variant.")
        out.setdefault("InitialVariantWeight", 1.0)
        return out

    def describe_endpoint_config(self, request: dict, ctx: RequestContext) -> dict:
        config = self.get(ctx, request["EndpointConfigName"])
        return {**config.data, "EndpointConfigName": config.name,
                "EndpointConfigArn": config.arn, "CreationTime": config.creation_time}

    def list_endpoint_configs(self, request: dict, ctx: RequestContext) -> dict:
        return page("EndpointConfigs", *list_page(self.resources, ctx, CONFIG, request),
                    lambda c: {"EndpointConfigName": c.name, "EndpointConfigArn": c.arn,
                               "CreationTime": c.creation_time})

    def delete_endpoint_config(self, request: dict, ctx: RequestContext) -> dict:
        # AWS lets a config in use be deleted: the endpoint keeps running what it deployed.
        self.resources.delete(ctx, CONFIG, request["EndpointConfigName"],
                              on_missing=_config_missing(ctx))
        return {}


class Endpoints(Provider):
    service = "sagemaker"

    def __init__(self, platform) -> None:
        super().__init__(platform)
        self.resources = platform.resources
        self.hosting = platform.engine.hosting
        self.resources.register(ENDPOINT, label="Endpoint", on_duplicate=lambda n, a: (
            ValidationError(f'Cannot create already existing endpoint "{a}".')))

    def _get(self, ctx: RequestContext, name: str, *, for_update: bool = False):
        return self.resources.get(ctx, ENDPOINT, name, for_update=for_update,
                                  on_missing=_endpoint_missing(ctx))

    def _config(self, ctx: RequestContext, name: str) -> dict:
        config = self.platform.services.provider(EndpointConfigs).get(ctx, name)
        return {**config.data, "EndpointConfigName": config.name}

    def create_endpoint(self, request: dict, ctx: RequestContext) -> dict:
        name = request["EndpointName"]
        config = self._config(ctx, request["EndpointConfigName"])
        arn = endpoint_arn(ctx, name)
        data = {"EndpointConfigName": config["EndpointConfigName"], "_config": config,
                "ProductionVariants": self.hosting.variant_summaries(config, deployed=False)}
        if request.get("DeploymentConfig"):
            data["LastDeploymentConfig"] = request["DeploymentConfig"]
        with self.resources.transaction():
            self.resources.create(ctx, ENDPOINT, name, arn, data, status="Creating",
                                  tags=request.get("Tags") or None)
            # Lineage: the endpoint's context and the deployment of what it serves.
            lineage.record_endpoint(self.resources, ctx, name, arn, config)
        self.hosting.deploy(ctx, name, arn)
        return {"EndpointArn": arn}

    def describe_endpoint(self, request: dict, ctx: RequestContext) -> dict:
        endpoint = self._get(ctx, request["EndpointName"])
        d = endpoint.data
        config = d["_config"]
        out = {"EndpointName": endpoint.name, "EndpointArn": endpoint.arn,
               "EndpointConfigName": d["EndpointConfigName"],
               "EndpointStatus": endpoint.status, "CreationTime": endpoint.creation_time,
               "LastModifiedTime": endpoint.last_modified_time,
               "ProductionVariants": d.get("ProductionVariants") or []}
        for key in ("FailureReason", "LastDeploymentConfig", "ShadowProductionVariants"):
            if d.get(key):
                out[key] = d[key]
        capture = config.get("DataCaptureConfig")
        if capture:
            out["DataCaptureConfig"] = {
                "EnableCapture": capture["EnableCapture"],
                "CaptureStatus": "Started" if capture["EnableCapture"] else "Stopped",
                "CurrentSamplingPercentage": capture["InitialSamplingPercentage"],
                "DestinationS3Uri": capture["DestinationS3Uri"],
                **({"KmsKeyId": capture["KmsKeyId"]} if capture.get("KmsKeyId") else {})}
        if config.get("AsyncInferenceConfig"):
            out["AsyncInferenceConfig"] = config["AsyncInferenceConfig"]
        if d.get("_pending"):
            out["PendingDeploymentSummary"] = {
                "EndpointConfigName": d["_pending"]["EndpointConfigName"],
                "ProductionVariants": self.hosting.variant_summaries(d["_pending"],
                                                                     deployed=False)}
        return out

    def list_endpoints(self, request: dict, ctx: RequestContext) -> dict:
        found = list_page(self.resources, ctx, ENDPOINT, request,
                          status_equals=request.get("StatusEquals"))
        return page("Endpoints", *found, lambda e: {
            "EndpointName": e.name, "EndpointArn": e.arn, "CreationTime": e.creation_time,
            "LastModifiedTime": e.last_modified_time, "EndpointStatus": e.status})

    def update_endpoint(self, request: dict, ctx: RequestContext) -> dict:
        name = request["EndpointName"]
        if request.get("RetainAllVariantProperties") or request.get(
                "ExcludeRetainedVariantProperties"):
            raise ValidationError("RetainAllVariantProperties is not supported by kamado yet; "
                                  "give the complete endpoint configuration.")
        config = self._config(ctx, request["EndpointConfigName"])
        with self.resources.transaction():
            endpoint = self._get(ctx, name, for_update=True)
            if endpoint.status != "InService":
                raise ValidationError(f'Cannot update in-progress endpoint "{endpoint.arn}".'
                                      if endpoint.status in ("Creating", "Updating",
                                                             "RollingBack", "Deleting")
                                      else f"Endpoint {endpoint.arn} is {endpoint.status}; "
                                           "only an InService endpoint can be updated.")
            self.resources.update(ctx, ENDPOINT, name, lambda d: {
                **{k: v for k, v in d.items() if k != "FailureReason"}, "_pending": config,
                **({"LastDeploymentConfig": request["DeploymentConfig"]}
                   if request.get("DeploymentConfig") else {})}, status="Updating")
            lineage.record_endpoint(self.resources, ctx, name, endpoint.arn, config)
        self.hosting.deploy(ctx, name, endpoint.arn)
        return {"EndpointArn": endpoint.arn}

    def update_endpoint_weights_and_capacities(self, request: dict, ctx: RequestContext) -> dict:
        name = request["EndpointName"]
        desired = request["DesiredWeightsAndCapacities"]
        with self.resources.transaction():
            endpoint = self._get(ctx, name, for_update=True)
            if endpoint.status != "InService":
                raise ValidationError(f'Cannot update in-progress endpoint "{endpoint.arn}".')
            known = {v["VariantName"] for v in endpoint.data["ProductionVariants"]}
            for change in desired:
                if change["VariantName"] not in known:
                    raise ValidationError(f"The variant name(s) [{change['VariantName']}] is/are "
                                          f"not present in the endpoint {name}.")
                if change.get("DesiredWeight") is None and change.get(
                        "DesiredInstanceCount") is None:
                    raise ValidationError(f"Variant {change['VariantName']}: give DesiredWeight, "
                                          "DesiredInstanceCount or both.")
                if change.get("ServerlessUpdateConfig"):
                    raise ValidationError("ServerlessUpdateConfig is not supported by kamado yet.")
            self.resources.update(ctx, ENDPOINT, name, {"_capacities": desired},
                                  status="Updating")
        self.hosting.deploy(ctx, name, endpoint.arn)
        return {"EndpointArn": endpoint.arn}

    def delete_endpoint(self, request: dict, ctx: RequestContext) -> dict:
        name = request["EndpointName"]
        endpoint = self._get(ctx, name)
        self.hosting.delete(ctx, name, endpoint.arn)
        return {}
