"""Content types, and the inference toolkit's default decoders and encoders
(inference-contract.md §4.2) that a user's script falls back to.

Deliberate differences from the toolkit, each to spare users a known trap: CSV always
decodes to a 2-D array (the toolkit's ``genfromtxt`` turns one row into a vector, which
``model.predict`` then rejects) and is parsed strictly (``genfromtxt`` turns a typo into NaN);
``.npy`` bodies are read without pickle (a pickled body is code the client runs on the
server); an Accept the model cannot write is 406, not 500.
"""

from __future__ import annotations

import io
import json

import numpy as np

from kamado.serving.errors import BadRequestError, UnsupportedAcceptError, UnsupportedFormatError

JSON = "application/json"
JSONLINES = "application/jsonlines"
CSV = "text/csv"
NPY = "application/x-npy"
NPZ = "application/x-npz"
LIBSVM = "text/libsvm"
RECORDIO = "application/x-recordio-protobuf"
_ALIASES = {"text/x-libsvm": LIBSVM, "application/x-jsonlines": JSONLINES,
            "application/json-lines": JSONLINES, "application/jsonl": JSONLINES}


def mime_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """(``text/csv``, {"label_size": "0"}) from ``Text/CSV; label_size=0``; ("", {}) for none."""
    if not content_type:
        return "", {}
    kind, *params = content_type.split(";")
    kind = kind.strip().lower()
    options = {}
    for p in params:
        key, _, value = p.partition("=")
        if key.strip():
            options[key.strip().lower()] = value.strip().strip('"')
    return _ALIASES.get(kind, kind), options


def read(body: bytes | str, content_type: str | None, readers: dict, default: str,
         algorithm: str):
    """(mime, data): the body read by the reader of its content type (``default`` when the
    request names none); a type the algorithm has no reader for is a 415."""
    mime, _ = mime_type(content_type or default)
    reader = readers.get(mime)
    if reader is None:
        raise UnsupportedFormatError(
            f"Content type {content_type} is not supported by {algorithm}; use "
            f"{', '.join(readers)}.")
    if isinstance(body, str) and mime == RECORDIO:
        body = body.encode()
    return mime, reader(body)


def resolve_accept(accept: str | None, default: str) -> str:
    """The Accept a handler sees: the client's, or ``default`` when it sent none or ``*/*``
    (``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``, else the image's own default)."""
    if not accept or accept.strip() == "*/*":
        return default
    return accept


def choose_accept(accept: str | None, supported: tuple[str, ...], default: str) -> str:
    """The first type of a comma-separated Accept that is in ``supported`` (the toolkit reads
    no q-values); ``default`` for no Accept or ``*/*``."""
    if not accept or accept.strip() in ("*/*", ""):
        return default
    for part in accept.split(","):
        mime, _ = mime_type(part)
        if mime == "*/*":
            return default
        if mime in supported:
            return mime
    raise UnsupportedAcceptError(
        f"Accept {accept} is not supported; this model writes {', '.join(supported)}.")


def text(body: bytes | str) -> str:
    if isinstance(body, str):
        return body
    try:
        return bytes(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError(f"The request body is not UTF-8 text: {exc}") from None


# --- decoders ------------------------------------------------------------------------------------
def csv_to_array(body: bytes | str, dtype=np.float64) -> np.ndarray:
    """Rows of numbers, no header; a 2-D array even for one row."""
    data = text(body)
    if not data.strip():
        raise BadRequestError("The CSV request body is empty.")
    try:
        return np.loadtxt(io.StringIO(data), delimiter=",", dtype=dtype, ndmin=2)
    except ValueError as exc:
        raise BadRequestError(f"The request body is not CSV of numbers (no header, comma "
                              f"separated): {exc}") from None


def json_to_array(body: bytes | str) -> np.ndarray:
    try:
        return np.array(json.loads(text(body)))
    except ValueError as exc:
        raise BadRequestError(f"The request body is not valid JSON: {exc}") from None


def npy_to_array(body: bytes) -> np.ndarray:
    try:
        return np.load(io.BytesIO(body), allow_pickle=False)
    except ValueError as exc:
        raise BadRequestError(f"The request body is not a .npy array without pickled "
                              f"objects: {exc}") from None


def npz_to_sparse(body: bytes):
    import scipy.sparse as sp

    try:
        return sp.load_npz(io.BytesIO(body))
    except (ValueError, OSError, KeyError) as exc:
        raise BadRequestError(f"The request body is not a scipy sparse .npz: {exc}") from None


DECODERS = {JSON: json_to_array, CSV: csv_to_array, NPY: npy_to_array, NPZ: npz_to_sparse}


def decode(body: bytes | str, content_type: str | None):
    mime, _ = mime_type(content_type)
    decoder = DECODERS.get(mime)
    if decoder is None:
        raise UnsupportedFormatError(
            f"Content type {content_type or '(none)'} is not supported by the default input_fn; "
            f"send one of {', '.join(DECODERS)} or define input_fn in the inference script.")
    return decoder(body)


# --- encoders ------------------------------------------------------------------------------------
def _plain(value):
    """What json cannot serialize itself: numpy arrays and scalars, and anything with
    ``tolist`` (torch tensors)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def array_to_json(value) -> bytes:
    return json.dumps(value, default=_plain).encode()


def array_to_csv(value) -> bytes:
    """One row per line, as the toolkit's ``np.savetxt(fmt="%s")``: a vector is a column."""
    array = np.asarray(value.tolist() if hasattr(value, "tolist") else value)
    buf = io.StringIO()
    np.savetxt(buf, array if array.ndim else array.reshape(1), delimiter=",", fmt="%s")
    return buf.getvalue().encode()


def array_to_npy(value) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(value.tolist() if hasattr(value, "tolist")
                            and not isinstance(value, np.ndarray) else value),
            allow_pickle=False)
    return buf.getvalue()


ENCODERS = {JSON: array_to_json, CSV: array_to_csv, NPY: array_to_npy}


def encode(value, accept: str | None, default: str = JSON) -> tuple[bytes, str]:
    """(body, content type) for the first Accept type the default encoders write."""
    mime = choose_accept(accept, tuple(ENCODERS), default)
    return ENCODERS[mime](value), mime
