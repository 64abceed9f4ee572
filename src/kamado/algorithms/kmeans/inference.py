"""Inference of the built-in K-Means (builtin-algorithms.md §3.3), in the handler vocabulary
of :mod:`kamado.serving.handlers`:

- requests: ``text/csv`` (features only; the default when a request has no Content-Type),
  ``application/json`` and ``application/jsonlines`` (dense or sparse instances) and
  ``application/x-recordio-protobuf``; others are 415, payloads that do not parse or fit the
  model 400;
- responses: ``application/json`` (the default) ``{"predictions": [{"closest_cluster": 1.0,
  "distance_to_cluster": 3.0}]}``, ``application/jsonlines`` one such object per line,
  ``text/csv`` ``closest_cluster,distance_to_cluster`` per line, and
  ``application/x-recordio-protobuf`` ``label["closest_cluster"]`` and
  ``label["distance_to_cluster"]`` as float32 tensors.
"""

from __future__ import annotations

import numpy as np

from kamado.algorithms.kmeans.model import FILE, KMeansModel, load_model
from kamado.serving import builtin, content

ALGORITHM = "K-Means"
DEFAULT_ACCEPT = content.JSON
DEFAULT_CONTENT_TYPE = content.CSV
TEXT_BODIES = False
ACCEPTS = (content.JSON, content.JSONLINES, content.CSV, content.RECORDIO)


def model_fn(model_dir) -> KMeansModel:
    return builtin.load(model_dir, FILE, ALGORITHM, load_model)


def input_fn(input_data, content_type):
    return content.read(input_data, content_type, builtin.READERS, DEFAULT_CONTENT_TYPE,
                        ALGORITHM)[1]


def predict_fn(input_data, model: KMeansModel):
    return model.predict_arrays(builtin.features(input_data, model.feature_dim, ALGORITHM))


def _csv(closest: np.ndarray, distance: np.ndarray) -> bytes:
    return "".join(f"{float(c)!r},{float(d)!r}\n" for c, d in zip(closest, distance)).encode()


def output_fn(prediction, accept):
    mime = content.choose_accept(accept, ACCEPTS, DEFAULT_ACCEPT)
    closest, distance = prediction
    if mime == content.CSV:
        return _csv(closest, distance), mime
    return builtin.respond([{"closest_cluster": float(c), "distance_to_cluster": float(d)}
                            for c, d in zip(closest, distance)], mime)
