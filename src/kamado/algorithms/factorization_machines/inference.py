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

from pathlib import Path

import numpy as np

from kamado.algorithms.factorization_machines.model import FILE, FMModel, load_model
from kamado.serving import content, formats
from kamado.serving.errors import BadRequestError, ModelLoadError, UnsupportedFormatError

ALGORITHM = "Factorization Machines"
DEFAULT_ACCEPT = content.JSON
DEFAULT_CONTENT_TYPE = content.RECORDIO
TEXT_BODIES = False
ACCEPTS = (content.JSON, content.JSONLINES, content.RECORDIO)
_READERS = {content.JSON: formats.read_json, content.RECORDIO: formats.read_recordio}


def model_fn(model_dir) -> FMModel:
    if not (Path(model_dir) / FILE).is_file():
        raise ModelLoadError(f"No {FILE} in {model_dir}: the model.tar.gz of a Factorization "
                             "Machines training job holds one.")
    try:
        return load_model(model_dir)
    except ValueError as exc:
        raise ModelLoadError(str(exc)) from None


def input_fn(input_data, content_type):
    if content.mime_type(content_type)[0] == content.CSV:
        raise UnsupportedFormatError(
            f"Content type {content_type} is not supported by {ALGORITHM}: it does not accept "
            "CSV; send application/json or application/x-recordio-protobuf.")
    return content.read(input_data, content_type, _READERS, DEFAULT_CONTENT_TYPE, ALGORITHM)[1]


def check(X, feature_dim: int):
    """Rows of the model's width with a number for every feature (sparse rows widened)."""
    if hasattr(X, "toarray") and X.shape[1] < feature_dim:
        # sparse rows reach only their last non-zero feature
        import scipy.sparse as sp

        X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], feature_dim))
    if X.shape[1] != feature_dim:
        raise BadRequestError(f"The model expects {feature_dim} features per record "
                              f"(feature_dim); the request has {X.shape[1]}.")
    if not np.isfinite(X.data if hasattr(X, "toarray") else X).all():
        raise BadRequestError(f"The request has missing or infinite feature values; {ALGORITHM} "
                              "needs a number for every feature.")
    return X


def predict_fn(input_data, model: FMModel) -> list[dict]:
    return model.predict(check(input_data, model.feature_dim))


def output_fn(prediction: list[dict], accept):
    mime = content.choose_accept(accept, ACCEPTS, DEFAULT_ACCEPT)
    return formats.WRITERS[mime](prediction), mime
