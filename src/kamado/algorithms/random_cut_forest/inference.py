"""Inference of the built-in Random Cut Forest (builtin-algorithms.md §3.6), in the handler
vocabulary of :mod:`kamado.serving.handlers`:

- requests: ``text/csv`` (features only; the default when a request has no Content-Type),
  ``application/json`` (``{"instances": [{"features": [...]}]}`` or the ``data``/sparse
  shapes), ``application/jsonlines`` and ``application/x-recordio-protobuf``; others are 415,
  payloads that do not parse or fit the model 400;
- responses: ``application/json`` (the default) ``{"scores": [{"score": …}, …]}``,
  ``application/jsonlines`` ``{"score": …}`` per line, ``application/x-recordio-protobuf``
  one Record per row with ``label["score"]``. Any other Accept is 406.
"""

from __future__ import annotations

import json

import numpy as np

from kamado.algorithms.random_cut_forest.model import FILE, RandomCutForestModel, load_model
from kamado.serving import builtin, content

ALGORITHM = "Random Cut Forest"
DEFAULT_ACCEPT = content.JSON
DEFAULT_CONTENT_TYPE = content.CSV
TEXT_BODIES = False
ACCEPTS = builtin.RESPONSES


def model_fn(model_dir) -> RandomCutForestModel:
    model = builtin.load(model_dir, FILE, ALGORITHM, load_model)
    model.forest.prepare()
    return model


def input_fn(input_data, content_type):
    return content.read(input_data, content_type, builtin.READERS, DEFAULT_CONTENT_TYPE,
                        ALGORITHM)[1]


def predict_fn(input_data, model: RandomCutForestModel) -> np.ndarray:
    X = builtin.features(input_data, model.feature_dim, ALGORITHM)
    return model.scores(X.toarray() if hasattr(X, "toarray") else X)


def output_fn(prediction, accept):
    mime = content.choose_accept(accept, ACCEPTS, DEFAULT_ACCEPT)
    records = [{"score": s} for s in np.asarray(prediction, float).tolist()]
    if mime == content.JSON:
        return json.dumps({"scores": records}).encode(), mime
    return builtin.respond(records, mime)
