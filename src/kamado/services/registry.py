"""Which provider serves which operation of which service.

Adding an operation is adding a method to a provider; adding a provider is one line here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Callable

from kamado.gateway.models import SERVICES, service_model

if TYPE_CHECKING:
    from kamado.platform import Platform

PROVIDERS: dict[str, list[str]] = {
    "sagemaker": [
        "kamado.services.sagemaker.search:Search",  # first: it serves Search for every family
        "kamado.services.sagemaker.experiments:Experiments",
        "kamado.services.sagemaker.tags:Tags",
        "kamado.services.sagemaker.training:TrainingJobs",
        "kamado.services.sagemaker.tuning:TuningJobs",
        "kamado.services.sagemaker.models:Models",
        "kamado.services.sagemaker.endpoints:EndpointConfigs",
        "kamado.services.sagemaker.endpoints:Endpoints",
        "kamado.services.sagemaker.transform:TransformJobs",
        "kamado.services.sagemaker.registry:ModelRegistry",
        "kamado.services.sagemaker.modelcards:ModelCards",
    ],
    "sagemaker-runtime": ["kamado.services.runtime.provider:Runtime"],
    "sagemaker-metrics": ["kamado.services.sagemaker_metrics.provider:Metrics"],
    "s3": ["kamado.services.s3.provider:S3"],
    "sts": ["kamado.services.sts.provider:Sts"],
    "iam": ["kamado.services.iam.provider:Iam"],
    "logs": ["kamado.services.logs.provider:Logs"],
}


def provider_classes(service: str) -> list[type]:
    classes = []
    for spec in PROVIDERS.get(service, []):
        module, _, name = spec.partition(":")
        classes.append(getattr(importlib.import_module(module), name))
    return classes


def implemented_operations(service: str) -> dict[str, type]:
    """Operation name -> provider class, for every operation of the model kamado serves."""
    ops = service_model(service).operation_names
    found: dict[str, type] = {}
    for cls in provider_classes(service):
        for op in cls.operations(ops):
            found.setdefault(op, cls)
    return found


class ServiceRegistry:
    def __init__(self, platform: "Platform") -> None:
        self._handlers: dict[tuple[str, str], Callable] = {}
        self.providers: list = []
        for service in SERVICES:
            instances: dict[type, object] = {}
            for op, cls in implemented_operations(service).items():
                if cls not in instances:
                    instances[cls] = cls(platform)
                    self.providers.append(instances[cls])
                self._handlers[(service, op)] = getattr(instances[cls], cls.operations([op])[op])

    def provider(self, cls: type):
        """The running instance of a provider class (providers that build on each other)."""
        for provider in self.providers:
            if isinstance(provider, cls):
                return provider
        raise KeyError(cls.__name__)

    def handler(self, service: str, operation: str) -> Callable | None:
        return self._handlers.get((service, operation))
