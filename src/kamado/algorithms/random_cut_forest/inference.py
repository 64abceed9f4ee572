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
from pathlib import Path

import numpy as np

from kamado.algorithms.random_cut_forest.model import FILE, RandomCutForestModel, load_model
from kamado.serving import content, formats
from kamado.serving.errors import BadRequestError, ModelLoadError

ALGORITHM = "Random Cut Forest"
DEFAULT_ACCEPT = content.JSON
DEFAULT_CONTENT_TYPE = content.CSV
TEXT_BODIES = False
ACCEPTS = (content.JSON, content.JSONLINES, content.RECORDIO)
_READERS = {content.CSV: formats.read_csv, content.JSON: formats.read_json,
            content.JSONLINES: formats.read_jsonlines, content.RECORDIO: formats.read_recordio}


def model_fn(model_dir) -> RandomCutForestModel:
    if not (Path(model_dir) / FILE).is_file():
        raise ModelLoadError(f"No {FILE} in {model_dir}: the model.tar.gz of a Random Cut "
                             "Forest training job holds one.")
    try:
        model = load_model(model_dir)
    except ValueError as exc:
        raise ModelLoadError(str(exc)) from None
    model.forest.prepare()
    return model


def input_fn(input_data, content_type):
    return content.read(input_data, content_type, _READERS, DEFAULT_CONTENT_TYPE, ALGORITHM)[1]


def predict_fn(input_data, model: RandomCutForestModel) -> np.ndarray:
    X = input_data
    if hasattr(X, "toarray"):
        if X.shape[1] < model.feature_dim:  # sparse rows reach only their last non-zero feature
            import scipy.sparse as sp

            X = sp.csr_matrix((X.data, X.indices, X.indptr),
                              shape=(X.shape[0], model.feature_dim))
        X = X.toarray() if X.shape[1] == model.feature_dim else X
    if X.shape[1] != model.feature_dim:
        raise BadRequestError(f"The model expects {model.feature_dim} features per record "
                              f"(feature_dim); the request has {X.shape[1]}.")
    if not np.isfinite(X).all():
        raise BadRequestError("The request has missing or infinite feature values; Random Cut "
                              "Forest needs a number for every feature.")
    return model.scores(X)


def output_fn(prediction, accept):
    mime = content.choose_accept(accept, ACCEPTS, DEFAULT_ACCEPT)
    records = [{"score": s} for s in np.asarray(prediction, float).tolist()]
    if mime == content.JSON:
        return json.dumps({"scores": records}).encode(), mime
    return formats.WRITERS[mime](records), mime
