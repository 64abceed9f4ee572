"""botocore's bundled service models: the single source of every wire shape kamado speaks."""

from __future__ import annotations

from functools import lru_cache

import botocore.session
from botocore.model import ServiceModel

# The services one kamado endpoint answers for, in the order the gateway tries them.
SERVICES = [
    "sagemaker",
    "sagemaker-runtime",
    "sagemaker-featurestore-runtime",
    "sagemaker-metrics",
    "s3",
    "sts",
    "iam",
    "logs",
]


@lru_cache(maxsize=None)
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@lru_cache(maxsize=None)
def service_model(name: str) -> ServiceModel:
    loader = _session().get_component("data_loader")
    return ServiceModel(loader.load_service_model(name, "service-2"), service_name=name)
