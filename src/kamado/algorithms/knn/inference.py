"""Inference of the built-in k-NN (builtin-algorithms.md §3.5), in the handler vocabulary of
:mod:`kamado.serving.handlers`:

- requests: ``text/csv`` (features only; ``label_size=n`` drops n leading columns, 0 by
  default), ``application/json``, ``application/jsonlines`` (dense or sparse instances) and
  ``application/x-recordio-protobuf``; others are 415, payloads that do not parse or fit the
  model 400;
- responses: ``application/json`` (the default) ``{"predictions": [{"predicted_label": …}]}``,
  ``application/jsonlines`` one object per line, ``application/x-recordio-protobuf``
  ``label["predicted_label"]``; ``; verbose=true`` on the Accept adds ``distances`` and
  ``labels`` of the k nearest neighbours.
"""

from __future__ import annotations

from kamado.algorithms.knn.model import FILE, KNNModel, load_model
from kamado.serving import builtin, content
from kamado.serving.errors import BadRequestError

DEFAULT_ACCEPT = content.JSON
DEFAULT_CONTENT_TYPE = content.CSV
TEXT_BODIES = False
ACCEPTS = builtin.RESPONSES


def model_fn(model_dir) -> KNNModel:
    return builtin.load(model_dir, FILE, "k-NN", load_model)


def _label_size(content_type: str | None) -> int:
    _, options = content.mime_type(content_type)
    text = options.get("label_size", "0")
    if not text.isdigit():
        raise BadRequestError(f"Content type parameter label_size={text} is not a whole "
                              "number >= 0.")
    return int(text)


def input_fn(input_data, content_type):
    mime, X = content.read(input_data, content_type, builtin.READERS, DEFAULT_CONTENT_TYPE, "k-NN")
    if mime == content.CSV:
        labels = _label_size(content_type)
        if labels:
            if labels >= X.shape[1]:
                raise BadRequestError(f"The CSV rows have {X.shape[1]} columns: not enough for "
                                      f"label_size={labels} and a feature.")
            X = X[:, labels:]
    return X


def predict_fn(input_data, model: KNNModel) -> list[dict]:
    # verbose always: the neighbours are at hand, and only output_fn sees the Accept
    return model.predict(builtin.features(input_data, model.feature_dim, "k-NN"), verbose=True)


def output_fn(prediction: list[dict], accept):
    if not builtin.verbose(accept):
        prediction = [{"predicted_label": p["predicted_label"]} for p in prediction]
    return builtin.respond(prediction, accept)
