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

from pathlib import Path

import numpy as np

from kamado.algorithms.linear_learner.model import FILE, LinearModel, load_model
from kamado.serving import content, formats
from kamado.serving.errors import BadRequestError, ModelLoadError

DEFAULT_ACCEPT = content.JSON
DEFAULT_CONTENT_TYPE = content.CSV
TEXT_BODIES = False
ACCEPTS = (content.JSON, content.JSONLINES, content.RECORDIO)
_READERS = {content.CSV: formats.read_csv, content.JSON: formats.read_json,
            content.JSONLINES: formats.read_jsonlines, content.RECORDIO: formats.read_recordio}


def model_fn(model_dir) -> LinearModel:
    if not (Path(model_dir) / FILE).is_file():
        raise ModelLoadError(f"No {FILE} in {model_dir}: the model.tar.gz of a Linear "
                             "Learner training job holds one.")
    try:
        return load_model(model_dir)
    except ValueError as exc:
        raise ModelLoadError(str(exc)) from None


def input_fn(input_data, content_type):
    return content.read(input_data, content_type, _READERS, DEFAULT_CONTENT_TYPE,
                        "Linear Learner")[1]


def predict_fn(input_data, model: LinearModel) -> list[dict]:
    X = input_data
    width = X.shape[1]
    if hasattr(X, "toarray"):
        if width < model.feature_dim:  # sparse rows reach only their last non-zero feature
            import scipy.sparse as sp

            X = sp.csr_matrix((X.data, X.indices, X.indptr),
                              shape=(X.shape[0], model.feature_dim))
            width = model.feature_dim
        values = X.data
    else:
        values = X
    if width != model.feature_dim:
        raise BadRequestError(f"The model expects {model.feature_dim} features per record; the "
                              f"request has {width}.")
    if not np.isfinite(values).all():
        raise BadRequestError("The request has missing or infinite feature values; Linear "
                              "Learner needs a number for every feature.")
    return model.predict(X)


def output_fn(prediction, accept):
    mime = content.choose_accept(accept, ACCEPTS, DEFAULT_ACCEPT)
    return formats.WRITERS[mime](prediction), mime
