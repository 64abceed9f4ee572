"""SageMaker models: an image, the model data it serves and its environment, recorded for
endpoints and transform jobs to run (CreateModel and friends).

As on AWS, CreateModel checks what it can at once — the image must be one kamado has, and a
single model's ``ModelDataUrl`` must name an object that exists — so that a deployment fails
for reasons a request could not have caught.
"""

from __future__ import annotations

from kamado.engine import artifacts
from kamado.errors import ValidationError
from kamado.services.base import Provider, RequestContext
from kamado.services.sagemaker.listing import list_page, page

TYPE = "Model"
_ECHOED = ("PrimaryContainer", "Containers", "InferenceExecutionConfig", "ExecutionRoleArn",
           "VpcConfig", "EnableNetworkIsolation")


def model_arn(ctx: RequestContext, name: str) -> str:
    return ctx.arn("sagemaker", f"model/{name.lower()}")


def _missing(name: str, arn: str) -> ValidationError:
    return ValidationError(f'Could not find model "{arn or name}".')


def _duplicate(name: str, arn: str) -> ValidationError:
    return ValidationError(f'Cannot create already existing model "{arn}".')


def containers_of(model_data: dict) -> list[dict]:
    """A model's containers in the order a request passes through them."""
    if model_data.get("Containers"):
        return list(model_data["Containers"])
    return [model_data["PrimaryContainer"]]


class Models(Provider):
    service = "sagemaker"

    def __init__(self, platform) -> None:
        super().__init__(platform)
        self.resources = platform.resources
        self.images = platform.engine.images
        self.resources.register(TYPE, label="Model", on_duplicate=_duplicate,
                                on_missing=lambda name, arn: _missing(name, arn))

    def get(self, ctx: RequestContext, name: str):
        return self.resources.get(ctx, TYPE, name,
                                  on_missing=lambda n, a: _missing(n, model_arn(ctx, n)))

    def create_model(self, request: dict, ctx: RequestContext) -> dict:
        name = request["ModelName"]
        primary, containers = request.get("PrimaryContainer"), request.get("Containers")
        if bool(primary) == bool(containers):
            raise ValidationError("Exactly one of PrimaryContainer and Containers must be "
                                  "specified.")
        if containers and len(containers) > 15:
            raise ValidationError("An inference pipeline has at most 15 containers.")
        for i, container in enumerate(containers or [primary]):
            self._check_container(ctx, container, f"Containers.{i + 1}" if containers else
                                  "PrimaryContainer", pipeline=bool(containers))
        data = {k: request[k] for k in _ECHOED if k in request}
        if primary:
            data["PrimaryContainer"] = {"Mode": "SingleModel", **primary}
        else:
            data["Containers"] = [{"Mode": "SingleModel", **c} for c in containers]
        data.setdefault("EnableNetworkIsolation", False)
        arn = model_arn(ctx, name)
        self.resources.create(ctx, TYPE, name, arn, data, tags=request.get("Tags") or None)
        return {"ModelArn": arn}

    def _check_container(self, ctx: RequestContext, container: dict, where: str,
                         pipeline: bool) -> None:
        if container.get("ModelPackageName"):
            raise ValidationError(f"{where}.ModelPackageName: the model registry is not served "
                                  "yet; give Image and ModelDataUrl.")
        if not container.get("Image"):
            raise ValidationError(f"{where}.Image is required.")
        image = self.images.resolve(container["Image"], ctx.region)
        if image.serve is None:
            raise ValidationError(f"{where}.Image {container['Image']} ({image.name}) has no "
                                  "serve program, so it cannot host a model.")
        multi = container.get("Mode") == "MultiModel"
        if multi and pipeline:
            raise ValidationError("Multi-model containers cannot be part of an inference "
                                  "pipeline.")
        url = container.get("ModelDataUrl")
        if url is None:
            if multi:
                raise ValidationError(f"{where}.ModelDataUrl (an S3 prefix) is required for "
                                      "Mode MultiModel.")
            return
        if not url.startswith("s3://"):
            raise ValidationError(f"{where}.ModelDataUrl must be an s3:// URI; got {url}.")
        if multi:
            if not artifacts.bucket_exists(url, config=self.platform.config,
                                           objects=self.platform.objects):
                raise ValidationError(f"Could not access model data at {url}: the bucket does "
                                      "not exist.")
            return
        if not artifacts.object_exists(url, config=self.platform.config,
                                       objects=self.platform.objects):
            raise ValidationError(f"Could not find model data at {url}.")

    def describe_model(self, request: dict, ctx: RequestContext) -> dict:
        model = self.get(ctx, request["ModelName"])
        return {**{k: model.data[k] for k in _ECHOED if k in model.data},
                "ModelName": model.name, "ModelArn": model.arn,
                "CreationTime": model.creation_time}

    def list_models(self, request: dict, ctx: RequestContext) -> dict:
        return page("Models", *list_page(self.resources, ctx, TYPE, request), lambda m: {
            "ModelName": m.name, "ModelArn": m.arn, "CreationTime": m.creation_time})

    def delete_model(self, request: dict, ctx: RequestContext) -> dict:
        name = request["ModelName"]
        self.resources.delete(ctx, TYPE, name,
                              on_missing=lambda n, a: _missing(n, model_arn(ctx, n)))
        return {}
