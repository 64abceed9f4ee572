"""The request and response formats of the built-in algorithms (builtin-algorithms.md §2.2,
§2.3; inference-contract.md §5): what their ``input_fn`` and ``output_fn`` share.

Requests become float32 feature matrices (numpy, or scipy CSR when sparse): CSV rows without
a label (empty fields are missing values), LibSVM lines (the label optional), RecordIO-protobuf
records, and JSON / JSON Lines instances (``{"features": [...]}`` or ``{"data": {"features":
{"values", "keys", "shape"}}}``). Responses are per-record dicts, written as
``{"predictions": [...]}`` (JSON), one object per line (JSON Lines) or one Record per row with
each field under ``label`` (RecordIO-protobuf).
"""

from __future__ import annotations

import io
import json
import math

import numpy as np

from kamado.serving.content import JSON, JSONLINES, RECORDIO, text
from kamado.serving.errors import BadRequestError

_NAN = float("nan")


# --- requests ------------------------------------------------------------------------------------
# Below this many bytes numpy's parser is quicker to start; above it Arrow's is several times
# faster (batch transform sends megabytes of rows per request). Batch transform's fast path
# sends smaller mini-batches to /invocations (kamado.serving.batch.SMALLEST_RANGE).
_ARROW_CSV_BYTES = 64 * 1024


def _width(data: bytes) -> int:
    """Fields on the first line: how many columns the rows are read as."""
    end = data.find(b"\n")
    return (data[:end] if end >= 0 else data).count(b",") + 1


def _read_csv_with_arrow(data: bytes, width: int | None = None,
                         strict: bool = False) -> np.ndarray | None:
    """Rows parsed by Arrow's CSV reader; None when Arrow refuses them (the slow path then
    says which line is wrong). ``strict``: see :func:`read_csv_lines`."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from kamado.algorithms.data import _values

    width = width or _width(data)
    names = [f"c{i}" for i in range(width)]
    types = dict.fromkeys(names, pa.float32())
    if strict:
        parse = pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False)
        convert = pacsv.ConvertOptions(column_types=types, null_values=[""])
    else:
        parse, convert = pacsv.ParseOptions(), pacsv.ConvertOptions(column_types=types)
    try:
        table = pacsv.read_csv(pa.py_buffer(data), read_options=pacsv.ReadOptions(
            column_names=names, use_threads=False, block_size=len(data) + 1),
            parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    # strict (the fast path, which predicts from X itself): column by column, a copy each
    X = np.empty((table.num_rows, width), np.float32, order="F" if strict else "C")
    for i in range(width):
        offset = 0
        for chunk in table.column(i).chunks:
            X[offset:offset + len(chunk), i] = _values(chunk)
            offset += len(chunk)
    # Strict: an empty line is a row of nulls in every column, so only when every column has
    # one can there be an empty line; then any row without a value is taken for one.
    if strict and all(table.column(i).null_count for i in range(width)) \
            and np.isnan(X).all(axis=1).any():
        return None
    return X


def read_csv(body: bytes | str) -> np.ndarray:
    """CSV rows of features; an empty field is a missing value (NaN)."""
    if isinstance(body, (bytes, bytearray)) and len(body) >= _ARROW_CSV_BYTES:
        X = _read_csv_with_arrow(bytes(body))
        if X is not None and X.size:
            return X
    data = text(body)
    if not data.strip():
        raise BadRequestError("The CSV request has no rows.")
    try:
        # numpy's C parser first: the common case, and the fast one for one short row
        X = np.loadtxt(io.StringIO(data), delimiter=",", dtype=np.float32, ndmin=2)
    except ValueError:
        X = _read_csv_slowly(data)
    if X.size == 0:
        raise BadRequestError("The CSV request has no rows.")
    return X


def csv_lines_width(data: bytes) -> int | None:
    """How wide the rows of a mini-batch of CSV lines are, as batch transform's fast path
    reads them (:func:`read_csv_lines`); None when the mini-batch is for the ordinary way:
    smaller than what it reads with Arrow, or one column wide (an empty line is no row there,
    but ``,`` is one, and Arrow tells them apart only by their width)."""
    if len(data) < _ARROW_CSV_BYTES:
        return None
    width = _width(data)
    return width if width >= 2 else None


def read_csv_lines(data, width: int) -> np.ndarray | None:
    """The rows of whole CSV lines of a mini-batch (all of them or any run of them; ``width``
    from :func:`csv_lines_width` of the whole mini-batch) as batch transform's fast path
    reads them — a built-in server reading a mini-batch from the input file itself,
    :mod:`kamado.serving.batch` — or None when the mini-batch must go the ordinary way.

    Rows are returned only when a model sees exactly what :func:`read_csv` returns for the
    same lines in the body the ordinary way sends: Arrow reads them without quoting, without
    skipping empty lines and with only an empty field as a missing value — so they have no
    quote (which would fail to convert to a number), no line of blanks (which has too few
    fields) and no empty line (which Arrow reads as a row of nulls: a row without a single
    value is left to the ordinary way), the things the ordinary way treats differently (it
    leaves blank lines out of the body, and reads quotes as quotes), and no ``NA``,
    ``NULL``, ``#N/A``… (which fail to convert; the ordinary way reads them as missing
    values; looking for those costs a fifth of the reading). ``nan`` is a NaN either way
    (``-nan`` keeps its sign bit here, which no prediction reads: XGBoost takes any NaN as
    missing). Arrow reads each line on its own, so a run of lines reads as it does within
    the whole."""
    X = _read_csv_with_arrow(data, width, strict=True)
    return X if X is not None and X.size else None


def _read_csv_slowly(data: str) -> np.ndarray:
    rows, width = [], None
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = [float(v) if v.strip() else _NAN for v in line.split(",")]
        except ValueError as exc:
            raise BadRequestError(f"CSV line {number}: {exc}; send numbers only, no header "
                                  "and no label column.") from None
        if width is None:
            width = len(row)
        elif len(row) != width:
            raise BadRequestError(f"CSV line {number} has {len(row)} values where line 1 has "
                                  f"{width}.")
        rows.append(row)
    return np.array(rows, dtype=np.float32).reshape(len(rows), width or 0)


def read_libsvm(body: bytes | str):
    """``[label] index:value ...`` lines (zero-based indexes) as a CSR matrix."""
    import scipy.sparse as sp

    indptr, indices, values, width = [0], [], [], 0
    for number, line in enumerate(text(body).splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        for token in line.split():
            key, colon, value = token.partition(":")
            if not colon or key == "qid":
                continue  # the label (or label:weight, qid:n), unused for prediction
            try:
                index, number_value = int(key), float(value)
            except ValueError:
                raise BadRequestError(f"LibSVM line {number}: {token!r} is not index:value "
                                      "with a whole-number index.") from None
            if index < 0:
                raise BadRequestError(f"LibSVM line {number}: index {index} is negative.")
            indices.append(index)
            values.append(number_value)
            width = max(width, index + 1)
        indptr.append(len(indices))
    if len(indptr) == 1:
        raise BadRequestError("The LibSVM request has no rows.")
    return sp.csr_matrix((np.array(values, np.float32), np.array(indices, np.int64),
                          np.array(indptr, np.int64)), shape=(len(indptr) - 1, width))


def read_recordio(body: bytes):
    from kamado.algorithms import recordio

    try:
        X, _ = recordio.read_arrays(bytes(body))
    except recordio.RecordIOError as exc:
        raise BadRequestError(f"The request is not valid RecordIO-protobuf: {exc}") from None
    if X.shape[0] == 0:
        raise BadRequestError("The RecordIO-protobuf request has no records.")
    return X


def _features(instance, number: int):
    """(values, keys or None, width) of one JSON instance."""
    if isinstance(instance, dict):
        if "features" in instance:
            features = instance["features"]
        elif isinstance(instance.get("data"), dict) and "features" in instance["data"]:
            features = instance["data"]["features"]
        else:
            raise BadRequestError(f"Instance {number} has neither 'features' nor "
                                  "'data': {'features': ...}.")
    else:
        features = instance
    if isinstance(features, dict):
        values, keys = features.get("values"), features.get("keys")
        shape = features.get("shape")
        if not isinstance(values, list):
            raise BadRequestError(f"Instance {number}: features need a 'values' list.")
        if keys:
            if len(keys) != len(values):
                raise BadRequestError(f"Instance {number} has {len(keys)} keys for "
                                      f"{len(values)} values.")
            width = int(math.prod(shape)) if shape else max(keys) + 1
            if max(keys) >= width or min(keys) < 0:
                raise BadRequestError(f"Instance {number} has a key outside its shape {shape}.")
            return values, keys, width
        return values, None, len(values)
    if isinstance(features, list):
        return features, None, len(features)
    raise BadRequestError(f"Instance {number}: features must be a list of numbers.")


def _instances_to_matrix(instances: list):
    import scipy.sparse as sp

    if not instances:
        raise BadRequestError("The request has no instances.")
    rows = [_features(inst, n) for n, inst in enumerate(instances, 1)]
    try:
        if all(keys is None for _, keys, _ in rows):
            widths = {width for _, _, width in rows}
            if len(widths) > 1:
                raise BadRequestError(f"Instances have different numbers of features "
                                      f"({sorted(widths)}).")
            return np.array([values for values, _, _ in rows], dtype=np.float32)
        width = max(w for _, _, w in rows)
        data, indices, indptr = [], [], [0]
        for values, keys, _ in rows:
            data.extend(values)
            indices.extend(keys if keys is not None else range(len(values)))
            indptr.append(len(data))
        return sp.csr_matrix((np.array(data, np.float32), np.array(indices, np.int64),
                              np.array(indptr, np.int64)), shape=(len(rows), width))
    except (TypeError, ValueError) as exc:
        raise BadRequestError(f"Feature values must be numbers: {exc}") from None


def _json(line: str, where: str):
    try:
        return json.loads(line)
    except ValueError as exc:
        raise BadRequestError(f"{where} is not valid JSON: {exc}") from None


def read_json(body: bytes | str):
    """``{"instances": [...]}`` (also a bare list of instances, or one instance)."""
    document = _json(text(body), "The request body")
    if isinstance(document, dict) and "instances" in document:
        instances = document["instances"]
    elif isinstance(document, list):
        instances = document
    elif isinstance(document, dict):
        instances = [document]
    else:
        raise BadRequestError('The JSON request must be {"instances": [...]}.')
    if not isinstance(instances, list):
        raise BadRequestError("'instances' must be a list.")
    return _instances_to_matrix(instances)


def read_jsonlines(body: bytes | str):
    """One instance per line."""
    instances = [_json(line, f"JSON Lines line {n}")
                 for n, line in enumerate(text(body).splitlines(), 1) if line.strip()]
    return _instances_to_matrix(instances)


# --- responses -----------------------------------------------------------------------------------
def preload() -> None:
    """Arrow builds its table of cast functions on the first cast, which takes a third of a
    second: a fork server does it once for all its model servers (kamado.images.registry),
    rather than each server in its first answer."""
    import pyarrow as pa

    pa.array(np.zeros(1, np.float32)).cast(pa.string())


def write_csv_column(values: np.ndarray, separator: str) -> bytes:
    """One number per value, ``separator`` between them: formatted by Arrow in C (``str`` per
    value costs most of a second per million predictions). A float32 prints as the shortest
    text that reads back as the same float32."""
    import pyarrow as pa
    import pyarrow.compute as pc

    strings = pa.array(values).cast(pa.string())
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(strings)], pa.int32()),
                                                     strings), separator)
    return joined[0].as_buffer().to_pybytes()


def write_json(records: list[dict]) -> bytes:
    return json.dumps({"predictions": records}).encode()


def write_jsonlines(records: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def write_recordio(records: list[dict]) -> bytes:
    from kamado.algorithms import recordio

    return b"".join(recordio.frame(recordio.encode_label_record(r)) for r in records)


WRITERS = {JSON: write_json, JSONLINES: write_jsonlines, RECORDIO: write_recordio}
