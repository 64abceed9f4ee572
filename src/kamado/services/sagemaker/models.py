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
from kamado.services.sagemaker.registry import deployable

TYPE = "Model"
_ECHOED = ("PrimaryContainer", "Containers", "InferenceExecutionConfig", "ExecutionRoleArn",
           "VpcConfig", "EnableNetworkIsolation")


def model_arn(ctx: RequestContext, name: str) -> str:
    return ctx.arn("sagemaker", f"model/{name.lower()}")


def _missing(name: str, arn: str) -> ValidationError:
    return ValidationError(f'Could not find model "{arn or name}".')


def _duplicate(name: str, arn: str) -> ValidationError:
    return ValidationError(f'Cannot create already existing model "{arn}".')


def _as_given(container: dict) -> dict:
    """A container as its CreateModel request gave it (one resolved from a model package
    shows its ModelPackageName, not the image and model data kamado deploys for it)."""
    if "_Given" in container:
        return {"Mode": container.get("Mode", "SingleModel"), **container["_Given"]}
    return container


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
        resolved = []
        for i, container in enumerate(containers or [primary]):
            where = f"Containers.{i + 1}" if containers else "PrimaryContainer"
            container = self._from_package(ctx, container, where)
            self._check_container(ctx, container, where, pipeline=bool(containers))
            resolved.append({"Mode": "SingleModel", **container})
        data = {k: request[k] for k in _ECHOED if k in request}
        if primary:
            data["PrimaryContainer"] = resolved[0]
        else:
            data["Containers"] = resolved
        data.setdefault("EnableNetworkIsolation", False)
        arn = model_arn(ctx, name)
        self.resources.create(ctx, TYPE, name, arn, data, tags=request.get("Tags") or None)
        return {"ModelArn": arn}

    def _from_package(self, ctx: RequestContext, container: dict, where: str) -> dict:
        """A container that names a model package, with the image, model data and environment
        of the package's inference specification; the request's own container is kept under
        ``_Given`` for DescribeModel. Any other container as it is."""
        if not container.get("ModelPackageName"):
            return container
        if container.get("Image") or container.get("ModelDataUrl"):
            raise ValidationError(f"{where}: give either ModelPackageName or Image and "
                                  "ModelDataUrl, not both.")
        arn, spec = deployable(self.resources, ctx, container["ModelPackageName"],
                               container.get("InferenceSpecificationName"))
        if len(spec["Containers"]) != 1:
            raise ValidationError(f"{where}.ModelPackageName: model package {arn} has "
                                  f"{len(spec['Containers'])} containers; kamado deploys model "
                                  "packages of one container only (not served yet).")
        package = spec["Containers"][0]
        resolved = {**container, "Image": package["Image"],
                    "Environment": {**(package.get("Environment") or {}),
                                    **(container.get("Environment") or {})},
                    "_Given": dict(container)}
        if package.get("ModelDataUrl"):
            resolved["ModelDataUrl"] = package["ModelDataUrl"]
        return resolved

    def _check_container(self, ctx: RequestContext, container: dict, where: str,
                         pipeline: bool) -> None:
        if not container.get("Image"):
            raise ValidationError(f"{where}.Image is required.")
        image = self.images.resolve_model(container["Image"], ctx.region,
                                          container.get("Environment"))
        if image.serve is None:
            raise ValidationError(f"{where}.Image {container['Image']} ({image.name}) has no "
                                  "serve program, so it cannot host a model.")
        # A model is made to be served: start the image's fork server now, so its imports
        # overlap whatever comes next (an endpoint, a transform job) instead of delaying it.
        self.platform.engine.forks.warm(image)
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
        out = {k: model.data[k] for k in _ECHOED if k in model.data}
        if "PrimaryContainer" in out:
            out["PrimaryContainer"] = _as_given(out["PrimaryContainer"])
        if "Containers" in out:
            out["Containers"] = [_as_given(c) for c in out["Containers"]]
        return {**out, "ModelName": model.name, "ModelArn": model.arn,
                "CreationTime": model.creation_time}

    def list_models(self, request: dict, ctx: RequestContext) -> dict:
        return page("Models", *list_page(self.resources, ctx, TYPE, request), lambda m: {
            "ModelName": m.name, "ModelArn": m.arn, "CreationTime": m.creation_time})

    def delete_model(self, request: dict, ctx: RequestContext) -> dict:
        name = request["ModelName"]
        self.resources.delete(ctx, TYPE, name,
                              on_missing=lambda n, a: _missing(n, model_arn(ctx, n)))
        return {}
