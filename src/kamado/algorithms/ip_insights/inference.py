"""Inference of the built-in IP Insights (builtin-algorithms.md §3.8), in the handler
vocabulary of :mod:`kamado.serving.handlers`:

- requests: ``text/csv`` (``entity_id, ip`` per line; the default when a request names
  none), ``application/json`` (``{"instances": [{"data": {"features": {"values": [entity,
  ip]}}}, {"features": [entity, ip]}]}``) and ``application/jsonlines`` (one instance per
  line); others are 415, a record that is not an entity and an IPv4 address 400, naming it;
- responses: ``application/json`` (the default) ``{"predictions": [{"dot_product": …}]}`` and
  ``application/jsonlines`` one object per line; ``; verbose=True`` on the Accept adds
  ``entity_embedding`` and ``ip_embedding``.
"""

from __future__ import annotations

import json

import numpy as np

from kamado.algorithms.ip_insights.addresses import AddressError, parse_ipv4
from kamado.algorithms.ip_insights.model import FILE, IPInsightsModel, load_model
from kamado.algorithms.ip_insights.records import split_lines
from kamado.images.program import ClientError
from kamado.serving import builtin, content
from kamado.serving.errors import BadRequestError, UnsupportedFormatError

ALGORITHM = "IP Insights"
DEFAULT_ACCEPT = content.JSON
DEFAULT_CONTENT_TYPE = content.CSV
TEXT_BODIES = False
ACCEPTS = (content.JSON, content.JSONLINES)


def model_fn(model_dir) -> IPInsightsModel:
    return builtin.load(model_dir, FILE, ALGORITHM, load_model)


def _pair(instance, number: int) -> tuple[str, str]:
    values = instance
    if isinstance(instance, dict):
        if "features" in instance:
            values = instance["features"]
        elif isinstance(instance.get("data"), dict) and "features" in instance["data"]:
            values = instance["data"]["features"]
        else:
            raise BadRequestError(f"Record {number} has neither 'features' nor "
                                  "'data': {'features': {'values': [...]}}.")
        if isinstance(values, dict):
            values = values.get("values")
    if not (isinstance(values, list) and len(values) == 2
            and all(isinstance(v, str) for v in values)):
        raise BadRequestError(f"Record {number}: features must be two strings, an entity id "
                              f"and an IPv4 address; got {json.dumps(values)[:200]}.")
    return values[0].strip(), values[1].strip()


def _json(text: str, where: str):
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BadRequestError(f"{where} is not valid JSON: {exc}") from None


def read_pairs(body, content_type) -> tuple[list[str], list[str]]:
    """(entity ids, address texts) of a request."""
    mime, _ = content.mime_type(content_type or DEFAULT_CONTENT_TYPE)
    text = content.text(body)
    if mime == content.CSV:
        try:
            entities, addresses, _ = split_lines(text, lambda n: f"Record {n} (CSV line {n})")
        except ClientError as exc:
            raise BadRequestError(str(exc)) from None
    elif mime == content.JSON:
        document = _json(text, "The request body")
        instances = document.get("instances") if isinstance(document, dict) else document
        if not isinstance(instances, list):
            raise BadRequestError('The JSON request must be {"instances": [...]}.')
        entities, addresses = zip(*(_pair(inst, n) for n, inst in enumerate(instances, 1))) \
            if instances else ((), ())
    elif mime == content.JSONLINES:
        lines = [line for line in text.splitlines() if line.strip()]
        pairs = [_pair(_json(line, f"JSON Lines line {n}"), n) for n, line in enumerate(lines, 1)]
        entities, addresses = zip(*pairs) if pairs else ((), ())
    else:
        raise UnsupportedFormatError(f"Content type {content_type} is not supported by "
                                     f"{ALGORITHM}; use text/csv, application/json, "
                                     "application/jsonlines.")
    if not entities:
        raise BadRequestError("The request has no records.")
    return list(entities), list(addresses)


def input_fn(input_data, content_type):
    entities, addresses = read_pairs(input_data, content_type)
    try:
        ips = parse_ipv4(addresses)
    except AddressError as exc:
        raise BadRequestError(f"Record {exc.index + 1}: {exc}.") from None
    return entities, ips


def predict_fn(input_data, model: IPInsightsModel) -> dict:
    entities, ips = input_data
    # embeddings kept as arrays: only output_fn sees the Accept, and lists are costly
    e, h = model.entity_vectors(entities), model.encode(ips)
    return {"dot_product": np.einsum("ij,ij->i", e, h), "entity_embedding": e,
            "ip_embedding": h}


def output_fn(prediction: dict, accept):
    dots = prediction["dot_product"].tolist()
    if builtin.verbose(accept):
        records = [{"dot_product": d, "entity_embedding": e, "ip_embedding": h} for d, e, h in
                   zip(dots, prediction["entity_embedding"].tolist(),
                       prediction["ip_embedding"].tolist())]
    else:
        records = [{"dot_product": d} for d in dots]
    return builtin.respond(records, accept, ACCEPTS)
