"""Training data of the built-in algorithms: a channel directory in, arrays out.

Formats by content type, as the built-ins document them: ``text/csv`` (no header, label in the
first column, ``label_size=0`` for none), LibSVM (``label[:weight] idx:val …``, zero-based),
Parquet (label in the first column) and RecordIO-protobuf. Every problem is a ClientError that
names the file, because that is what a user can fix.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kamado.images.program import ClientError

CSV = "text/csv"
LIBSVM = "text/libsvm"
PARQUET = "application/x-parquet"
RECORDIO = "application/x-recordio-protobuf"
_ALIASES = {"text/csv": CSV, "csv": CSV, "text/libsvm": LIBSVM, "libsvm": LIBSVM,
            "text/x-libsvm": LIBSVM, "application/x-parquet": PARQUET, "parquet": PARQUET,
            "application/x-recordio-protobuf": RECORDIO, "recordio-protobuf": RECORDIO}


@dataclass
class Dataset:
    X: object                 # 2-D float32 ndarray, or scipy.sparse CSR
    y: np.ndarray | None
    w: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return self.X.shape[0]


def parse_content_type(content_type: str | None, default: str) -> tuple[str, dict[str, str]]:
    """("text/csv", {"label_size": "0"}) from ``text/csv;label_size=0``."""
    text = content_type or default
    kind, *params = [p.strip() for p in text.split(";")]
    mime = _ALIASES.get(kind.lower())
    if mime is None:
        raise ClientError(f"Content type {text} is not supported; use one of text/csv, "
                          "text/libsvm, application/x-parquet, application/x-recordio-protobuf.")
    options = {}
    for p in params:
        key, _, value = p.partition("=")
        options[key.strip().lower()] = value.strip()
    return mime, options


def channel_files(path: Path) -> list[Path]:
    if not path.is_dir():
        raise ClientError(f"The channel directory {path.name} does not exist; "
                          "was the channel given in InputDataConfig?")
    files = [p for p in sorted(path.rglob("*")) if p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(path).parts)
             and not p.name.endswith("-manifest")]
    if not files:
        raise ClientError(f"No training data found in channel {path.name}: the channel is empty.")
    return files


def _read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _csv(path: Path, label_size: int, weights: bool) -> Dataset:
    import re

    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(path, "rb") as fh:
        head = fh.read(2)
        fh.seek(0)
        first = fh.readline()
    gzipped = head == b"\x1f\x8b"
    if gzipped:
        data = _read_bytes(path)
        first = data.split(b"\n", 1)[0]
    if not first.strip():
        return Dataset(np.zeros((0, 0), np.float32), np.zeros(0, np.float32))
    width = first.count(b",") + 1
    # Typed float32 columns convert once, in parallel; pyarrow reads a plain file itself.
    try:
        table = pacsv.read_csv(
            io.BytesIO(data) if gzipped else str(path),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.float32() for i in range(width)}))
    except pa.ArrowInvalid as exc:
        text = str(exc)
        column = re.search(r"column #(\d+)", text)
        value = re.search(r"invalid value '([^']*)'", text)
        if column and value:
            raise ClientError(f"CSV file {path.name}: column {int(column.group(1)) + 1} is not "
                              f"numeric (e.g. {value.group(1)!r}). Training data must be CSV "
                              "without a header, the label in the first column.") from None
        raise ClientError(f"Could not read CSV file {path.name}: {text}. Training data must be "
                          "CSV without a header, all values numeric, the label in the first "
                          "column.") from None
    start = label_size + (1 if weights else 0)
    y = _column(table, 0) if label_size else None
    w = _column(table, label_size) if weights else None
    X = np.empty((table.num_rows, max(0, width - start)), np.float32)
    for i in range(start, width):
        _fill(X[:, i - start], table.column(i))
    return Dataset(X, y, w)


def _column(table, index: int) -> np.ndarray:
    out = np.empty(table.num_rows, np.float32)
    _fill(out, table.column(index))
    return out


def _fill(target: np.ndarray, column) -> None:
    offset = 0
    for chunk in column.chunks:
        values = chunk.to_numpy(zero_copy_only=False)
        target[offset:offset + len(values)] = values
        offset += len(values)


def _as_matrix(table) -> np.ndarray:
    # Filling one preallocated array is several times faster than column_stack of conversions.
    matrix = np.empty((table.num_rows, table.num_columns), np.float32)
    for i, column in enumerate(table.columns):
        matrix[:, i] = column.to_numpy(zero_copy_only=False)
    return matrix


def _libsvm(path: Path) -> Dataset:
    import scipy.sparse as sp

    labels, weights, data, indices, indptr = [], [], [], [], [0]
    has_weight = False
    for number, raw in enumerate(_read_bytes(path).decode("utf-8", "replace").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        head, *pairs = line.split()
        try:
            label, _, weight = head.partition(":")
            labels.append(float(label))
            if weight:
                has_weight = True
            weights.append(float(weight) if weight else 1.0)
            for pair in pairs:
                idx, _, val = pair.partition(":")
                indices.append(int(idx))
                data.append(float(val))
        except ValueError:
            raise ClientError(f"LibSVM file {path.name}, line {number}: {raw[:80]!r} is not "
                              "'label[:weight] index:value ...'.") from None
        indptr.append(len(indices))
    width = (max(indices) + 1) if indices else 0
    X = sp.csr_matrix((np.array(data, np.float32), np.array(indices, np.int64),
                       np.array(indptr, np.int64)), shape=(len(labels), width))
    return Dataset(X, np.array(labels, np.float32),
                   np.array(weights, np.float32) if has_weight else None)


def _parquet(path: Path, label_size: int) -> Dataset:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ClientError(f"Could not read Parquet file {path.name}: {exc}") from None
    try:
        matrix = _as_matrix(table)
    except (ValueError, TypeError) as exc:
        raise ClientError(f"Parquet file {path.name}: every column must be numeric ({exc}).") from None
    return Dataset(np.ascontiguousarray(matrix[:, label_size:]),
                   matrix[:, 0].copy() if label_size else None)


def _recordio(path: Path) -> Dataset:
    from kamado.algorithms import recordio

    try:
        with io.BytesIO(_read_bytes(path)) as fh:
            X, y = recordio.to_arrays(recordio.read_records(fh))
    except recordio.RecordIOError as exc:
        raise ClientError(f"RecordIO-protobuf file {path.name} is not valid: {exc}") from None
    return Dataset(X, y)


def load_channel(path: Path, content_type: str | None, *, default: str = CSV,
                 csv_weights: bool = False) -> Dataset:
    """Every file of a channel directory, read and stacked in file-name order."""
    import scipy.sparse as sp

    mime, options = parse_content_type(content_type, default)
    label_size = int(options.get("label_size", "1") or 1) if options.get("label_size") != "0" else 0
    parts = []
    for f in channel_files(Path(path)):
        if mime == CSV:
            parts.append(_csv(f, label_size, csv_weights))
        elif mime == LIBSVM:
            parts.append(_libsvm(f))
        elif mime == PARQUET:
            parts.append(_parquet(f, label_size))
        else:
            parts.append(_recordio(f))
    parts = [p for p in parts if p.rows]
    if not parts:
        raise ClientError(f"No training data found in channel {Path(path).name}: its files hold "
                          "no rows.")
    widths = {p.X.shape[1] for p in parts}
    if len(widths) > 1 and not any(sp.issparse(p.X) for p in parts):
        raise ClientError(f"The files of channel {Path(path).name} have different numbers of "
                          f"columns ({sorted(widths)}).")
    if len(parts) == 1:
        return parts[0]
    if any(sp.issparse(p.X) for p in parts):
        width = max(widths)
        X = sp.vstack([sp.csr_matrix(p.X, shape=(p.rows, width)) if sp.issparse(p.X)
                       else sp.csr_matrix(np.pad(p.X, ((0, 0), (0, width - p.X.shape[1]))))
                       for p in parts]).tocsr()
    else:
        X = np.vstack([p.X for p in parts])
    y = None if any(p.y is None for p in parts) else np.concatenate([p.y for p in parts])
    w = None
    if any(p.w is not None for p in parts):
        w = np.concatenate([p.w if p.w is not None else np.ones(p.rows, np.float32) for p in parts])
    return Dataset(X, y, w)
