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

from pathlib import Path

import numpy as np

from kamado.algorithms.knn.model import FILE, KNNModel, load_model
from kamado.serving import content, formats
from kamado.serving.errors import BadRequestError, ModelLoadError

DEFAULT_ACCEPT = content.JSON
DEFAULT_CONTENT_TYPE = content.CSV
TEXT_BODIES = False
ACCEPTS = (content.JSON, content.JSONLINES, content.RECORDIO)
_READERS = {content.CSV: formats.read_csv, content.JSON: formats.read_json,
            content.JSONLINES: formats.read_jsonlines, content.RECORDIO: formats.read_recordio}


def model_fn(model_dir) -> KNNModel:
    if not (Path(model_dir) / FILE).is_file():
        raise ModelLoadError(f"No {FILE} in {model_dir}: the model.tar.gz of a k-NN training "
                             "job holds one.")
    try:
        return load_model(model_dir)
    except ValueError as exc:
        raise ModelLoadError(str(exc)) from None


def _label_size(content_type: str | None) -> int:
    _, options = content.mime_type(content_type)
    text = options.get("label_size", "0")
    if not text.isdigit():
        raise BadRequestError(f"Content type parameter label_size={text} is not a whole "
                              "number >= 0.")
    return int(text)


def input_fn(input_data, content_type):
    mime, X = content.read(input_data, content_type, _READERS, DEFAULT_CONTENT_TYPE, "k-NN")
    if mime == content.CSV:
        labels = _label_size(content_type)
        if labels:
            if labels >= X.shape[1]:
                raise BadRequestError(f"The CSV rows have {X.shape[1]} columns: not enough for "
                                      f"label_size={labels} and a feature.")
            X = X[:, labels:]
    return X


def check(X, feature_dim: int, algorithm: str):
    """Rows of the model's width with a number for every feature (sparse rows widened)."""
    width = X.shape[1]
    if hasattr(X, "toarray"):
        if width < feature_dim:  # sparse rows reach only their last non-zero feature
            import scipy.sparse as sp

            X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], feature_dim))
            width = feature_dim
        values = X.data
    else:
        values = X
    if width != feature_dim:
        raise BadRequestError(f"The model expects {feature_dim} features per record "
                              f"(feature_dim); the request has {width}.")
    if not np.isfinite(values).all():
        raise BadRequestError(f"The request has missing or infinite feature values; {algorithm} "
                              "needs a number for every feature.")
    return X


def predict_fn(input_data, model: KNNModel) -> list[dict]:
    # verbose always: the neighbours are at hand, and only output_fn sees the Accept
    return model.predict(check(input_data, model.feature_dim, "k-NN"), verbose=True)


def verbose(accept: str | None) -> bool:
    for part in (accept or "").split(","):
        _, options = content.mime_type(part)
        if options.get("verbose", "").lower() in ("true", "1"):
            return True
    return False


def output_fn(prediction: list[dict], accept):
    mime = content.choose_accept(accept, ACCEPTS, DEFAULT_ACCEPT)
    if not verbose(accept):
        prediction = [{"predicted_label": p["predicted_label"]} for p in prediction]
    return formats.WRITERS[mime](prediction), mime
