"""What the built-in algorithms' inference handlers share (builtin-algorithms.md §2.2, §2.3):
the request readers AWS's first-party algorithms accept, loading ``model_algo-1``, checking
rows against the model's ``feature_dim``, the ``verbose`` Accept parameter, and writing a list
of per-record dicts in the chosen response format.

    def model_fn(model_dir):
        return builtin.load(model_dir, FILE, "K-Means", load_model)

    def input_fn(input_data, content_type):
        return content.read(input_data, content_type, builtin.READERS, content.CSV, "K-Means")[1]
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from kamado.serving import content, formats
from kamado.serving.errors import BadRequestError, ModelLoadError

# Dense and sparse: CSV rows, {"instances": [...]} JSON, JSON Lines, RecordIO-protobuf.
READERS = {content.CSV: formats.read_csv, content.JSON: formats.read_json,
           content.JSONLINES: formats.read_jsonlines, content.RECORDIO: formats.read_recordio}
RESPONSES = (content.JSON, content.JSONLINES, content.RECORDIO)


def load(model_dir, file: str, algorithm: str, loader: Callable):
    """``loader(model_dir)``, or the ModelLoadError that says what is missing or wrong."""
    if not (Path(model_dir) / file).is_file():
        article = "an" if algorithm[:1] in "AEIOU" else "a"
        raise ModelLoadError(f"No {file} in {model_dir}: the model.tar.gz of {article} "
                             f"{algorithm} training job holds one.")
    try:
        return loader(model_dir)
    except ValueError as exc:
        raise ModelLoadError(str(exc)) from None


def features(X, feature_dim: int, algorithm: str, what: str = "feature values"):
    """Rows of the model's width (sparse rows, which reach only their last non-zero feature,
    widened to it) with a finite number for every feature; a 400 that says which otherwise."""
    if hasattr(X, "toarray") and X.shape[1] < feature_dim:
        import scipy.sparse as sp

        X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], feature_dim))
    if X.shape[1] != feature_dim:
        raise BadRequestError(f"The model expects {feature_dim} features per record "
                              f"(feature_dim); the request has {X.shape[1]}.")
    if not np.isfinite(X.data if hasattr(X, "toarray") else X).all():
        raise BadRequestError(f"The request has missing or infinite {what}; {algorithm} needs "
                              "a number for every feature.")
    return X


def verbose(accept: str | None) -> bool:
    """``Accept: application/json; verbose=true`` (any of the listed types may say it)."""
    for part in (accept or "").split(","):
        _, options = content.mime_type(part)
        if options.get("verbose", "").lower() in ("true", "1"):
            return True
    return False


def respond(records: list[dict], accept: str | None,
            accepts: tuple[str, ...] = RESPONSES) -> tuple[bytes, str]:
    """``records`` in the Accept's format (JSON ``{"predictions": [...]}`` by default)."""
    mime = content.choose_accept(accept, accepts, content.JSON)
    return formats.WRITERS[mime](records), mime
