"""Inference of the built-in PCA (builtin-algorithms.md §3.4), in the handler vocabulary of
:mod:`kamado.serving.handlers`:

- requests: ``text/csv`` (features only; the default when a request has no Content-Type),
  ``application/json`` and ``application/jsonlines`` (dense or sparse instances) and
  ``application/x-recordio-protobuf``; others are 415, payloads that do not parse or fit the
  model 400;
- responses: ``application/json`` (the default) ``{"projections": [{"projection": [...]}]}``,
  ``application/jsonlines`` ``{"projection": [...]}`` per line, and
  ``application/x-recordio-protobuf`` ``label["projection"]`` as a float32 tensor; the
  components in ascending order of significance, as AWS's.
"""

from __future__ import annotations

import json

from kamado.algorithms.pca.model import FILE, PCAModel, load_model
from kamado.serving import builtin, content

ALGORITHM = "PCA"
DEFAULT_ACCEPT = content.JSON
DEFAULT_CONTENT_TYPE = content.CSV
TEXT_BODIES = False
ACCEPTS = builtin.RESPONSES


def model_fn(model_dir) -> PCAModel:
    return builtin.load(model_dir, FILE, ALGORITHM, load_model)


def input_fn(input_data, content_type):
    return content.read(input_data, content_type, builtin.READERS, DEFAULT_CONTENT_TYPE,
                        ALGORITHM)[1]


def predict_fn(input_data, model: PCAModel) -> list[dict]:
    return model.predict(builtin.features(input_data, model.feature_dim, ALGORITHM))


def output_fn(prediction: list[dict], accept):
    mime = content.choose_accept(accept, ACCEPTS, DEFAULT_ACCEPT)
    if mime == content.JSON:
        return json.dumps({"projections": prediction}).encode(), mime
    return builtin.respond(prediction, mime)
