"""Inference of the built-in LDA (builtin-algorithms.md §3.9), in the handler vocabulary of
:mod:`kamado.serving.handlers`:

- requests: word counts as ``text/csv`` (no label), ``application/json`` and
  ``application/jsonlines`` (dense ``{"features": [...]}`` or sparse ``{"data": {"features":
  {"keys", "shape", "values"}}}``) and ``application/x-recordio-protobuf`` (dense or sparse);
- responses: ``application/json`` (the default) ``{"predictions": [{"topic_mixture":
  [...]}]}``, ``application/jsonlines`` one such object per line,
  ``application/x-recordio-protobuf`` ``label["topic_mixture"]``.
"""

from __future__ import annotations

from kamado.algorithms.lda.model import FILE, LDAModel, load_model
from kamado.serving import builtin, content
from kamado.serving.errors import BadRequestError

ALGORITHM = "LDA"
DEFAULT_ACCEPT = content.JSON
DEFAULT_CONTENT_TYPE = content.CSV
TEXT_BODIES = False
ACCEPTS = builtin.RESPONSES


def model_fn(model_dir) -> LDAModel:
    return builtin.load(model_dir, FILE, ALGORITHM, load_model)


def input_fn(input_data, content_type):
    return content.read(input_data, content_type, builtin.READERS, DEFAULT_CONTENT_TYPE,
                        ALGORITHM)[1]


def predict_fn(input_data, model: LDAModel) -> list[dict]:
    X = builtin.features(input_data, model.feature_dim, ALGORITHM, what="word counts")
    if ((X.data if hasattr(X, "toarray") else X) < 0).any():
        raise BadRequestError("The request has negative values; LDA needs word counts "
                              "(numbers >= 0).")
    return model.predict(X)


def output_fn(prediction: list[dict], accept):
    return builtin.respond(prediction, accept)
