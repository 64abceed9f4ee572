"""The IP Insights model: an entity table and an IP encoder whose dot product says how likely
an entity is to use an address (the logit of "this pair was seen").

- entity embedding: row ``crc32(entity) mod num_entity_vectors`` of ``E``;
- IP embedding: the sum of the address's /8, /16, /24, /32 prefix rows of ``P``
  (:mod:`.addresses`), then ``num_ip_encoder_layers`` residual layers
  ``h ← h + tanh(h·W + b)`` (kamado's encoder design; AWS does not document its own);
- ``dot_product`` = entity embedding · IP embedding.

The artifact ``model_algo-1`` is one ``.npz`` without pickle (:mod:`kamado.algorithms.archive`,
format ``kamado-ip-insights``): ``E``, ``P``, each layer's ``W<i>`` and ``b<i>``, and the
settings as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kamado.algorithms import archive
from kamado.algorithms.ip_insights.addresses import entity_rows, prefix_rows

FILE = archive.FILE
FORMAT, VERSION = "kamado-ip-insights", 1


class IPInsightsModel:
    def __init__(self, E: np.ndarray, P: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]],
                 settings: dict):
        self.E, self.P, self.layers, self.settings = E, P, layers, settings

    @property
    def num_entity_vectors(self) -> int:
        return self.E.shape[0]

    def entity_vectors(self, entities: list[str]) -> np.ndarray:
        return self.E[entity_rows(entities, self.num_entity_vectors)]

    def encode(self, ips: np.ndarray, keep: bool = False):
        """IP embeddings of uint32 addresses; with ``keep``, also (prefix rows, each layer's
        input and tanh output) for back-propagation."""
        rows = prefix_rows(ips)
        h = self.P[rows].sum(axis=1)
        trace = []
        for W, b in self.layers:
            a = np.tanh(h @ W + b)
            trace.append((h, a))
            h = h + a
        return (h, rows, trace) if keep else h

    def dot_products(self, entities: list[str], ips: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", self.entity_vectors(entities), self.encode(ips))

    def predict(self, entities: list[str], ips: np.ndarray, verbose: bool = False) -> list[dict]:
        e, h = self.entity_vectors(entities), self.encode(ips)
        dots = np.einsum("ij,ij->i", e, h)
        if not verbose:
            return [{"dot_product": float(d)} for d in dots]
        return [{"dot_product": float(d), "entity_embedding": ev.tolist(),
                 "ip_embedding": hv.tolist()} for d, ev, hv in zip(dots, e, h)]

    def save(self, directory) -> Path:
        arrays = {"E": self.E, "P": self.P,
                  "settings": np.frombuffer(json.dumps(self.settings).encode(), np.uint8)}
        for i, (W, b) in enumerate(self.layers):
            arrays[f"W{i}"], arrays[f"b{i}"] = W, b
        return archive.write(directory, {"format": FORMAT, "version": VERSION}, arrays)


def load_model(path) -> IPInsightsModel:
    _, arrays = archive.read(path, FORMAT, VERSION, "IP Insights",
                             required=("E", "P", "settings"), legacy=True)
    layers = []
    while f"W{len(layers)}" in arrays:
        layers.append((arrays[f"W{len(layers)}"], arrays[f"b{len(layers)}"]))
    settings = json.loads(arrays["settings"].tobytes().decode())
    return IPInsightsModel(arrays["E"], arrays["P"], layers, settings)
