"""Inference of the built-in Factorization Machines (builtin-algorithms.md §2.2, §3.7), in the
handler vocabulary of :mod:`kamado.serving.handlers`:

- requests: ``application/json`` (dense ``{"instances": [{"features": [...]}]}`` or sparse
  ``{"data": {"features": {"keys", "shape", "values"}}}``) and
  ``application/x-recordio-protobuf`` (the default when a request names none), the two AWS
  documents; ``text/csv`` and every other type is 415;
- responses: ``application/json`` (the default) ``{"predictions": [{"score": …,
  "predicted_label": …}]}`` (a regressor: ``score`` only), ``application/jsonlines`` one such
  object per line, ``application/x-recordio-protobuf`` one Record per row with
  ``label["score"]`` (and ``label["predicted_label"]``) as float32 tensors.
"""

from __future__ import annotations

from kamado.algorithms.factorization_machines.model import FILE, FMModel, load_model
from kamado.serving import builtin, content, formats
from kamado.serving.errors import UnsupportedFormatError

ALGORITHM = "Factorization Machines"
DEFAULT_ACCEPT = content.JSON
DEFAULT_CONTENT_TYPE = content.RECORDIO
TEXT_BODIES = False
ACCEPTS = builtin.RESPONSES
_READERS = {content.JSON: formats.read_json, content.RECORDIO: formats.read_recordio}


def model_fn(model_dir) -> FMModel:
    return builtin.load(model_dir, FILE, ALGORITHM, load_model)


def input_fn(input_data, content_type):
    if content.mime_type(content_type)[0] == content.CSV:
        raise UnsupportedFormatError(
            f"Content type {content_type} is not supported by {ALGORITHM}: it does not accept "
            "CSV; send application/json or application/x-recordio-protobuf.")
    return content.read(input_data, content_type, _READERS, DEFAULT_CONTENT_TYPE, ALGORITHM)[1]


def predict_fn(input_data, model: FMModel) -> list[dict]:
    return model.predict(builtin.features(input_data, model.feature_dim, ALGORITHM))


def output_fn(prediction: list[dict], accept):
    return builtin.respond(prediction, accept)
