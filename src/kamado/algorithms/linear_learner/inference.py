"""Inference of the built-in Linear Learner, in the handler vocabulary of
:mod:`kamado.serving.handlers` (builtin-algorithms.md §3.2; AWS's "Linear learner response
formats"):

- model: ``model_algo-1`` as :mod:`.model` writes it;
- requests: ``text/csv`` (no label; the default when a request has no Content-Type),
  ``application/json`` (``{"instances": [{"features": [...]}]}``, or sparse
  ``{"data": {"features": {"keys", "shape", "values"}}}``), ``application/jsonlines`` (one
  instance per line) and ``application/x-recordio-protobuf``; others are 415, payloads that do
  not parse or fit the model 400;
- responses: ``application/json`` (the default) ``{"predictions": [{"score": …,
  "predicted_label": …}]}``, ``application/jsonlines`` one such object per line,
  ``application/x-recordio-protobuf`` one Record per row with ``label["score"]`` and
  ``label["predicted_label"]`` as float32 tensors. These three are all AWS documents for the
  algorithm, so any other Accept is 406.
"""

from __future__ import annotations

from kamado.algorithms.linear_learner.model import FILE, LinearModel, load_model
from kamado.serving import builtin, content

ALGORITHM = "Linear Learner"
DEFAULT_ACCEPT = content.JSON
DEFAULT_CONTENT_TYPE = content.CSV
TEXT_BODIES = False
ACCEPTS = builtin.RESPONSES


def model_fn(model_dir) -> LinearModel:
    return builtin.load(model_dir, FILE, ALGORITHM, load_model)


def input_fn(input_data, content_type):
    return content.read(input_data, content_type, builtin.READERS, DEFAULT_CONTENT_TYPE,
                        ALGORITHM)[1]


def predict_fn(input_data, model: LinearModel) -> list[dict]:
    return model.predict(builtin.features(input_data, model.feature_dim, ALGORITHM))


def output_fn(prediction, accept):
    return builtin.respond(prediction, accept)
