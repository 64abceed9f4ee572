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

from pathlib import Path

import numpy as np

from kamado.algorithms.lda.model import FILE, LDAModel, load_model
from kamado.serving import content, formats
from kamado.serving.errors import BadRequestError, ModelLoadError

DEFAULT_ACCEPT = content.JSON
DEFAULT_CONTENT_TYPE = content.CSV
TEXT_BODIES = False
ACCEPTS = (content.JSON, content.JSONLINES, content.RECORDIO)
_READERS = {content.CSV: formats.read_csv, content.JSON: formats.read_json,
            content.JSONLINES: formats.read_jsonlines, content.RECORDIO: formats.read_recordio}


def model_fn(model_dir) -> LDAModel:
    if not (Path(model_dir) / FILE).is_file():
        raise ModelLoadError(f"No {FILE} in {model_dir}: the model.tar.gz of an LDA training "
                             "job holds one.")
    try:
        return load_model(model_dir)
    except ValueError as exc:
        raise ModelLoadError(str(exc)) from None


def input_fn(input_data, content_type):
    return content.read(input_data, content_type, _READERS, DEFAULT_CONTENT_TYPE, "LDA")[1]


def check(X, feature_dim: int):
    """Rows of the model's vocabulary size, sparse ones widened to it, with a count >= 0 for
    every word."""
    if hasattr(X, "toarray") and X.shape[1] < feature_dim:
        import scipy.sparse as sp

        # sparse rows reach only their last non-zero word
        X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], feature_dim))
    if X.shape[1] != feature_dim:
        raise BadRequestError(f"The model expects {feature_dim} features (word counts) per "
                              f"record (feature_dim); the request has {X.shape[1]}.")
    values = X.data if hasattr(X, "toarray") else X
    if not np.isfinite(values).all():
        raise BadRequestError("The request has missing or infinite values; LDA needs a word "
                              "count for every feature.")
    return X


def predict_fn(input_data, model: LDAModel) -> list[dict]:
    X = check(input_data, model.feature_dim)
    if ((X.data if hasattr(X, "toarray") else X) < 0).any():
        raise BadRequestError("The request has negative values; LDA needs word counts "
                              "(numbers >= 0).")
    return model.predict(X)


def output_fn(prediction: list[dict], accept):
    mime = content.choose_accept(accept, ACCEPTS, DEFAULT_ACCEPT)
    return formats.WRITERS[mime](prediction), mime
