"""The AWS wire protocols, driven by botocore's service models: no per-operation code.

``get_protocol(service_model)`` gives the one ``Protocol`` a service speaks; the gateway asks it
which operation a request names, to parse the request into the params dict a client passed to
botocore, and to serialize a provider's result or an ``AwsError`` the way botocore reads them.
"""

from __future__ import annotations

from kamado.gateway.protocols.base import Protocol
from kamado.gateway.protocols.json_rpc import JsonProtocol
from kamado.gateway.protocols.query import QueryProtocol
from kamado.gateway.protocols.rest_json import RestJsonProtocol
from kamado.gateway.protocols.rest_xml import RestXmlProtocol

__all__ = ["Protocol", "get_protocol"]

_CLASSES: dict[str, type[Protocol]] = {
    "json": JsonProtocol,
    "rest-json": RestJsonProtocol,
    "rest-xml": RestXmlProtocol,
    "query": QueryProtocol,
}
_CACHE: dict[int, tuple[object, Protocol]] = {}


def get_protocol(service_model) -> Protocol:
    """The protocol object for ``service_model``, built once (route tables, plans) and kept."""
    cached = _CACHE.get(id(service_model))
    if cached is not None and cached[0] is service_model:
        return cached[1]
    names = service_model.metadata.get("protocols") or [service_model.protocol]
    for name in names:
        cls = _CLASSES.get(name)
        if cls is not None:
            protocol = cls(service_model)
            # Keep the model alive beside its protocol so its id is never reused.
            _CACHE[id(service_model)] = (service_model, protocol)
            return protocol
    raise ValueError(f"kamado speaks none of {names} (service {service_model.service_name})")
