"""Which service a request is for, told apart the way AWS's front doors do it.

X-Amz-Target names json services; the SigV4 credential scope names the signing service; the
SageMaker family shares the signing name ``sagemaker``, so its rest-json members (runtime, feature
store runtime, metrics) are told apart by their request paths.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from kamado.errors import AwsError
from kamado.gateway import auth
from kamado.gateway.http import HttpRequest
from kamado.gateway.models import SERVICES, service_model
from kamado.gateway.protocols import get_protocol

_REST_JSON_FAMILY = ["sagemaker-runtime", "sagemaker-featurestore-runtime", "sagemaker-metrics"]


@lru_cache(maxsize=None)
def _target_prefixes() -> dict[str, str]:
    prefixes = {}
    for name in SERVICES:
        prefix = service_model(name).metadata.get("targetPrefix")
        if prefix:
            prefixes[prefix] = name
    return prefixes


@lru_cache(maxsize=None)
def _signing_names() -> dict[str, str]:
    names = {}
    for name in SERVICES:
        signing = service_model(name).signing_name
        names.setdefault(signing, name)
    return names


def identify_service(req: HttpRequest) -> str:
    target = req.headers.get("x-amz-target")
    if target:
        service = _target_prefixes().get(target.split(".", 1)[0])
        if service:
            return service
    scope = auth.scope_of(req)
    signing = scope[2] if scope else None
    if signing in (None, "sagemaker"):
        for name in _REST_JSON_FAMILY:
            try:
                get_protocol(service_model(name)).find_operation(req)
                return name
            except AwsError:
                continue
    if signing in _signing_names():
        return _signing_names()[signing]
    content_type = req.headers.get("content-type", "")
    if req.method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        return "sts"
    if target:
        return "sagemaker"
    return "s3"


def virtual_host_bucket(host: str, config) -> str | None:
    """``bucket.localhost:8943`` → ``bucket`` (S3 virtual-hosted-style addressing)."""
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if not hostname or hostname.startswith("["):
        return None
    try:
        ipaddress.ip_address(hostname)
        return None
    except ValueError:
        pass
    bases = {"localhost", "s3.localhost"}
    if config.host not in ("0.0.0.0", "::", "127.0.0.1", "::1"):
        bases.add(config.host)
    for base in sorted(bases, key=len, reverse=True):
        suffix = "." + base
        if hostname.endswith(suffix) and len(hostname) > len(suffix):
            return hostname[: -len(suffix)]
    return None
