"""Inference of the built-in K-Means (builtin-algorithms.md §3.3), in the handler vocabulary
of :mod:`kamado.serving.handlers`:

- requests: ``text/csv`` (features only; the default when a request has no Content-Type),
  ``application/json`` and ``application/jsonlines`` (dense or sparse instances) and
  ``application/x-recordio-protobuf``; others are 415, payloads that do not parse or fit the
  model 400;
- responses: ``application/json`` (the default) ``{"predictions": [{"closest_cluster": 1.0,
  "distance_to_cluster": 3.0}]}``, ``application/jsonlines`` one such object per line,
  ``text/csv`` ``closest_cluster,distance_to_cluster`` per line, and
  ``application/x-recordio-protobuf`` ``label["closest_cluster"]`` and
  ``label["distance_to_cluster"]`` as float32 tensors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kamado.algorithms.kmeans.model import FILE, KMeansModel, load_model
from kamado.serving import content, formats
from kamado.serving.errors import BadRequestError, ModelLoadError

ALGORITHM = "K-Means"
DEFAULT_ACCEPT = content.JSON
DEFAULT_CONTENT_TYPE = content.CSV
TEXT_BODIES = False
ACCEPTS = (content.JSON, content.JSONLINES, content.CSV, content.RECORDIO)
_READERS = {content.CSV: formats.read_csv, content.JSON: formats.read_json,
            content.JSONLINES: formats.read_jsonlines, content.RECORDIO: formats.read_recordio}


def model_fn(model_dir) -> KMeansModel:
    if not (Path(model_dir) / FILE).is_file():
        raise ModelLoadError(f"No {FILE} in {model_dir}: the model.tar.gz of a K-Means "
                             "training job holds one.")
    try:
        return load_model(model_dir)
    except ValueError as exc:
        raise ModelLoadError(str(exc)) from None


def input_fn(input_data, content_type):
    return content.read(input_data, content_type, _READERS, DEFAULT_CONTENT_TYPE, ALGORITHM)[1]


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


def predict_fn(input_data, model: KMeansModel):
    return model.predict_arrays(check(input_data, model.feature_dim, ALGORITHM))


def _csv(closest: np.ndarray, distance: np.ndarray) -> bytes:
    return "".join(f"{float(c)!r},{float(d)!r}\n" for c, d in zip(closest, distance)).encode()


def output_fn(prediction, accept):
    mime = content.choose_accept(accept, ACCEPTS, DEFAULT_ACCEPT)
    closest, distance = prediction
    if mime == content.CSV:
        return _csv(closest, distance), mime
    records = [{"closest_cluster": float(c), "distance_to_cluster": float(d)}
               for c, d in zip(closest, distance)]
    return formats.WRITERS[mime](records), mime
