"""Training data of the built-in algorithms: a channel directory in, arrays out.

Formats by content type, as the built-ins document them: ``text/csv`` (no header, the label in
the first column, ``label_size=0`` for none), LibSVM (``label[:weight] index:value …``,
zero-based indexes), Parquet (the label in the first column) and RecordIO-protobuf. Every
file under the channel directory is read, in path order; gzip'd files are accepted.

Every problem is a ClientError that names the file (and the line, for text formats), because
that is what a user can fix. A CSV file is read by pandas' C parser, as a user's own script
would read it; anything unusual about it (gzip, missing values in short rows, text) sends it
to pyarrow, whose reader names the bad line. Large text files are parsed there in parallel
slices by pyarrow and numpy (both release the GIL).
"""

from __future__ import annotations

import gzip
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kamado.images.program import ClientError
from kamado.images.toolkit.variables import num_cpus

CSV = "text/csv"
LIBSVM = "text/libsvm"
PARQUET = "application/x-parquet"
RECORDIO = "application/x-recordio-protobuf"
_ALIASES = {"text/csv": CSV, "csv": CSV, "text/libsvm": LIBSVM, "libsvm": LIBSVM,
            "text/x-libsvm": LIBSVM, "application/x-parquet": PARQUET, "parquet": PARQUET,
            "application/x-recordio-protobuf": RECORDIO, "recordio-protobuf": RECORDIO}
_SUPPORTED = "text/csv, text/libsvm, application/x-parquet, application/x-recordio-protobuf"
_SLICE_BYTES = 8 << 20   # text is parsed in slices of about this size, one per task
_SMALL_FILE = 1 << 20    # below this a file is one slice
_CSV_HINT = ("Training data must be CSV without a header, all values numeric, the label in the "
             "first column.")


@dataclass
class Dataset:
    X: object                      # 2-D float32 ndarray (C or Fortran order), or scipy CSR
    y: np.ndarray | None           # float32 labels, or None when the data has none
    w: np.ndarray | None = None    # float32 instance weights
    qid: np.ndarray | None = None  # LibSVM query ids (ranking), when the data has them

    @property
    def rows(self) -> int:
        return self.X.shape[0]


# --- content type and files ----------------------------------------------------------------------
def parse_content_type(content_type: str | None, default: str) -> tuple[str, dict[str, str]]:
    """("text/csv", {"label_size": "0"}) from ``Text/CSV; label_size=0``."""
    text = content_type or default
    kind, *params = [p.strip() for p in text.split(";")]
    mime = _ALIASES.get(kind.lower())
    if mime is None:
        raise ClientError(f"Content type {text} is not supported; use one of {_SUPPORTED}.")
    options = {}
    for p in params:
        key, _, value = p.partition("=")
        if key.strip():
            options[key.strip().lower()] = value.strip().strip('"')
    return mime, options


def label_size(options: dict[str, str]) -> int:
    """The ``label_size`` MIME parameter: how many leading columns are labels (default 1)."""
    text = options.get("label_size", "1")
    try:
        size = int(text)
    except ValueError:
        size = -1
    if size < 0:
        raise ClientError(f"Content type parameter label_size={text} is not a whole number >= 0.")
    return size


def channel_files(path: Path) -> list[Path]:
    """The data files of a channel: every file below it in path order, except hidden files
    and the ``*-manifest`` files SageMaker leaves beside downloads."""
    path = Path(path)
    if not path.is_dir():
        raise ClientError(f"Channel {path.name} has no data: its directory does not exist. "
                          "Was the channel given in InputDataConfig?")
    files = [p for p in sorted(path.rglob("*")) if p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(path).parts)
             and not p.name.endswith("-manifest")]
    if not files:
        raise ClientError(f"Channel {path.name} has no data: no files under its S3 prefix.")
    return files


GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def open_plain(path: Path):
    """The file's bytes as a stream, decompressed as they are read when it is gzip."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def _read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:2] == GZIP_MAGIC:
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ClientError(f"File {path.name} is not valid gzip: {exc}") from None
    return data


def line_ranges(data: bytes, count: int) -> list[tuple[int, int]]:
    """About ``count`` byte ranges of whole lines that cover ``data``, for parallel work."""
    n = len(data)
    cuts = [0]
    for k in range(1, count):
        at = data.find(b"\n", max(cuts[-1], n * k // count))
        if at < 0:
            break
        cuts.append(at + 1)
    cuts.append(n)
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _slices(data: bytes) -> list[tuple[int, int]]:
    """Byte ranges of whole lines that split ``data`` into parallel work."""
    n = len(data)
    return line_ranges(data, 1 if n < _SMALL_FILE else max(num_cpus(), -(-n // _SLICE_BYTES)))


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


# --- CSV -----------------------------------------------------------------------------------------
_NUMBER = re.compile(rb"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|nan|inf|infinity)",
                     re.IGNORECASE)
# pyarrow reads these as missing (NaN) values
_NULLS = {b"", b"#N/A", b"#N/A N/A", b"#NA", b"-1.#IND", b"-1.#QNAN", b"-NaN", b"-nan",
          b"1.#IND", b"1.#QNAN", b"N/A", b"NA", b"NULL", b"NaN", b"n/a", b"nan", b"null"}


def _csv_width(data: bytes) -> int | None:
    """Columns of the first non-blank line; None for a file without one."""
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        line = data[pos:end].strip()
        if line:
            return line.count(b",") + 1
        pos = end + 1
    return None


def _csv_problem(name: str, data: bytes, start: int, end: int, width: int, arrow: str) -> str:
    """The first bad line of a slice that pyarrow refused, in words."""
    number = _line_of(data, start)
    for raw in data[start:end].split(b"\n"):
        line = raw.strip()
        if line:
            cells = line.split(b",")
            if len(cells) != width:
                return (f"CSV file {name}: line {number} has {len(cells)} columns where the "
                        f"first line has {width}; every row needs the same number of columns.")
            for column, cell in enumerate(cells, 1):
                cell = cell.strip().strip(b'"').strip()
                if cell not in _NULLS and not _NUMBER.fullmatch(cell):
                    shown = cell[:40].decode("utf-8", "replace")
                    return (f"CSV file {name}: column {column} is not numeric on line {number} "
                            f"({shown!r}). {_CSV_HINT}")
        number += 1
    return f"Could not read CSV file {name}: {arrow}. {_CSV_HINT}"


def _parse_csv(data: bytes, start: int, end: int, width: int):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(width)]
    # One block per slice, parsed on this thread: the slices are the parallelism.
    return pacsv.read_csv(
        pa.py_buffer(memoryview(data)[start:end]),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=False,
                                       block_size=end - start + 1),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.float64())))


# Arrow's fixed-width numbers as NumPy sees their buffers.
_NUMPY_TYPES = {"double": "<f8", "float": "<f4", "halffloat": "<f2", "int8": "i1",
                "int16": "<i2", "int32": "<i4", "int64": "<i8", "uint8": "u1", "uint16": "<u2",
                "uint32": "<u4", "uint64": "<u8"}


def _values(chunk) -> np.ndarray:
    """An arrow array's numbers, nulls as NaN. Numbers are read straight from the array's
    buffers: pyarrow's own conversions import pandas when it is installed, which costs a
    job a quarter of a second."""
    dtype = _NUMPY_TYPES.get(str(chunk.type))
    if dtype is None:  # booleans, decimals, nulls: the general (slower) way
        return chunk.to_numpy(zero_copy_only=False)
    n, offset = len(chunk), chunk.offset
    validity, data = chunk.buffers()[:2]
    values = np.frombuffer(data, dtype=dtype, count=n, offset=offset * np.dtype(dtype).itemsize)
    if chunk.null_count and validity is not None:
        valid = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")
        values = values.astype(np.float64)
        values[valid[offset:offset + n] == 0] = np.nan
    return values


def _fill(target: np.ndarray, column) -> None:
    """Copy an arrow column into a numpy view (nulls become NaN)."""
    offset = 0
    for chunk in column.chunks:
        values = _values(chunk)
        target[offset:offset + len(values)] = values
        offset += len(values)


def _fill_rows(table, X: np.ndarray, y: np.ndarray | None, w: np.ndarray | None,
               labels: int) -> None:
    """Copy a table's columns into row ranges of the outputs: the label (column 0), the
    weight (column ``labels``, when ``w`` is wanted), then the features."""
    if y is not None:
        _fill(y, table.column(0))
    if w is not None:
        _fill(w, table.column(labels))
    start = table.num_columns - X.shape[1]
    for i in range(start, table.num_columns):
        _fill(X[:, i - start], table.column(i))


def _outputs(rows: int, width: int, labels: int, weights: bool):
    start = labels + (1 if weights else 0)
    return (np.empty((rows, max(0, width - start)), np.float32),
            np.empty(rows, np.float32) if labels else None,
            np.empty(rows, np.float32) if weights else None)


def _tables_to_dataset(tables: list, width: int, labels: int, weights: bool,
                       pool: ThreadPoolExecutor) -> Dataset:
    """One feature matrix from several tables, each copied in place by a task."""
    offsets = np.cumsum([0] + [t.num_rows for t in tables])
    X, y, w = _outputs(int(offsets[-1]), width, labels, weights)

    def fill(k: int) -> None:
        lo, hi = offsets[k], offsets[k + 1]
        _fill_rows(tables[k], X[lo:hi], None if y is None else y[lo:hi],
                   None if w is None else w[lo:hi], labels)

    list(pool.map(fill, range(len(tables))))
    return Dataset(X, y, w)


def all_finite(values: np.ndarray) -> bool:
    """Whether every value is finite, without a temporary as large as the array: float32
    values summed in float64 cannot overflow, so the sum is finite exactly when they all are."""
    if values.dtype.itemsize <= 4 and values.dtype.kind == "f":
        return bool(np.isfinite(values.sum(dtype=np.float64)))
    return bool(np.isfinite(values).all())


def _pandas_csv(path: Path) -> np.ndarray | None:
    """The file as a float32 (rows, columns) array by pandas' C parser — which pandas 3 runs
    on every core for a local file, and which is twice as fast per core as Arrow's on
    numbers — or None when pandas is missing or anything about the file is unusual (gzip,
    empty, ragged, non-numeric): the Arrow path then reads it and names the problem."""
    try:
        import pandas as pd
    except ImportError:
        return None
    if is_gzip(path):
        return None
    try:
        frame = pd.read_csv(path, header=None, dtype=np.float32, engine="c", compression=None,
                            na_values=[v.decode() for v in _NULLS], keep_default_na=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, OverflowError):
        return None  # EmptyDataError is a ValueError
    values = frame.to_numpy(dtype=np.float32)
    if values.ndim != 2 or not values.size:
        return None
    if not all_finite(values):
        # pandas pads a short row with NaN; so are missing values, which are fine when every
        # row has all its columns (and no quoted field hides a comma)
        data = path.read_bytes()
        if b'"' in data or data.count(b",") != values.shape[0] * (values.shape[1] - 1):
            return None
    return values


def _csv_by_pandas(files: list[Path], labels: int, weights: bool) -> Dataset | None:
    arrays = []
    for path in files:
        values = _pandas_csv(path)
        if values is None or (arrays and values.shape[1] != arrays[0].shape[1]):
            return None
        arrays.append(values)
    width = arrays[0].shape[1]
    start = labels + (1 if weights else 0)
    if width <= start:
        return None
    whole = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
    X = whole[:, start:]
    # pandas hands over its column-major block: kept as it is (a copy of a large channel
    # costs as much as a third of parsing it); readers that need rows contiguous make them so
    return Dataset(X if X.flags.f_contiguous else np.ascontiguousarray(X),
                   np.array(whole[:, 0]) if labels else None,
                   np.array(whole[:, labels]) if weights else None)


def _load_csv(root: Path, files: list[Path], labels: int, weights: bool) -> Dataset:
    import pyarrow as pa

    if weights and labels != 1:
        raise ClientError("csv_weights=1 needs the label in the first column and the weight in "
                          "the second (label_size=1).")
    fast = _csv_by_pandas(files, labels, weights)
    if fast is not None:
        return fast
    slices, width, first = [], None, None
    for path in files:
        data = _read_bytes(path)
        name = str(path.relative_to(root))
        w = _csv_width(data)
        if w is None:
            continue  # an empty file adds no rows
        if width is None:
            width, first = w, name
        elif w != width:
            raise ClientError(f"CSV file {name} has {w} columns where {first} has {width}; "
                              "every file of a channel needs the same columns.")
        for a, b in _slices(data):
            # a row per line, unless the slice has blank lines (then it is placed at the end)
            rows = data.count(b"\n", a, b) + (data[b - 1] != 10)
            slices.append((name, data, a, b, rows))
    if width is None:
        raise ClientError(f"Channel {root.name} has no data: its files are empty.")
    if width < labels + (1 if weights else 0) + 1:
        raise ClientError(f"CSV file {first} has {width} column(s): not enough for a label"
                          f"{' and a weight' if weights else ''} and at least one feature.")
    offsets = np.cumsum([0] + [s[4] for s in slices])
    X, y, w = _outputs(int(offsets[-1]), width, labels, weights)

    def parse_and_fill(k: int):
        # Each task parses its slice and copies it into place at once, so a slice's table
        # is freed (and its memory reused) before the next is parsed.
        name, data, a, b, rows = slices[k]
        try:
            table = _parse_csv(data, a, b, width)
        except pa.ArrowInvalid as exc:
            raise ClientError(_csv_problem(name, data, a, b, width, str(exc))) from None
        if table.num_rows != rows:
            return table
        lo = offsets[k]
        _fill_rows(table, X[lo:lo + rows], None if y is None else y[lo:lo + rows],
                   None if w is None else w[lo:lo + rows], labels)
        return None

    with ThreadPoolExecutor(num_cpus()) as pool:
        leftovers = list(pool.map(parse_and_fill, range(len(slices))))
    if not any(t is not None for t in leftovers):
        return Dataset(X, y, w)
    pieces = []  # blank lines somewhere: put the rows together again
    for k, table in enumerate(leftovers):
        if table is None:
            lo, hi = offsets[k], offsets[k + 1]
            pieces.append((X[lo:hi], None if y is None else y[lo:hi],
                           None if w is None else w[lo:hi]))
        else:
            part = _outputs(table.num_rows, width, labels, weights)
            _fill_rows(table, *part, labels)
            pieces.append(part)
    return Dataset(np.concatenate([p[0] for p in pieces]),
                   None if y is None else np.concatenate([p[1] for p in pieces]),
                   None if w is None else np.concatenate([p[2] for p in pieces]))


# --- LibSVM --------------------------------------------------------------------------------------
_WHITESPACE = bytes.maketrans(b"\t\r\v\f", b"    ")
_LIBSVM_NUMBER = rb"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|nan|inf|infinity)"
_LIBSVM_LINE = re.compile(rb"\s*(%s)(?::(%s))?((?:\s+(?:\d+|qid):(%s))*)\s*"
                          % (_LIBSVM_NUMBER, _LIBSVM_NUMBER, _LIBSVM_NUMBER), re.IGNORECASE)


class _BadLibSVM(Exception):
    pass


def _parse_libsvm(buf: bytes):
    """(labels, weights, qid, nonzeros per row, indexes, values) of a slice, by finding the
    tokens with numpy and converting them all at once with pyarrow; ``_BadLibSVM`` for a
    malformed slice, whose line ``_libsvm_problem`` then finds."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if b"#" in buf:
        buf = re.sub(rb"#[^\n]*", b"", buf)
    buf = buf.translate(_WHITESPACE)
    has_qid = b"qid:" in buf
    if has_qid:
        buf = buf.replace(b"qid:", b"nan:")  # a key that no real index can be
    a = np.frombuffer(buf, np.uint8)
    n = len(a)
    brk = (a == 32) | (a == 10) | (a == 58)
    if n == 0 or brk.all():
        return None
    edge = np.empty(n + 1, bool)
    edge[0], edge[n] = not brk[0], not brk[-1]
    np.not_equal(brk[1:], brk[:-1], out=edge[1:n])
    pos = np.flatnonzero(edge)
    starts, ends = pos[0::2], pos[1::2]
    count = len(starts)
    # A token is joined to the next when exactly one ':' stands between them; every ':' must
    # be such a join (no "a::b", "a: b", ":b").
    joined = np.zeros(count, bool)
    joined[:-1] = (starts[1:] - ends[:-1] == 1) & (a[ends[:-1]] == 58)
    if int(joined.sum()) != int(np.count_nonzero(a == 58)):
        raise _BadLibSVM
    newlines = np.flatnonzero(a == 10)
    first = np.zeros(count, bool)
    first[0] = True
    first[np.searchsorted(starts, newlines[newlines < starts[-1]])] = True
    value = np.zeros(count, bool)
    value[1:] = joined[:-1]
    if np.any(value & joined) or np.any(first & value) or np.any(~first & ~value & ~joined):
        raise _BadLibSVM  # "a:b:c", or a pair without its ':'
    lengths = ends - starts
    offsets = np.zeros(count + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    strings = pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets),
                                               pa.py_buffer(np.ascontiguousarray(a[~brk])))
    try:
        numbers = _values(pc.cast(strings, pa.float64()))
    except pa.ArrowInvalid:
        raise _BadLibSVM from None
    row = np.cumsum(first) - 1
    labels = numbers[first]
    weighted = first & joined
    weights = None
    if weighted.any():
        weights = np.ones(len(labels))
        weights[row[weighted]] = numbers[np.flatnonzero(weighted) + 1]
    keys = np.flatnonzero(joined & ~first)
    index, values, key_row = numbers[keys], numbers[keys + 1], row[keys]
    qid = None
    if has_qid:
        is_qid = np.isnan(index)
        qid = np.zeros(len(labels), np.int64)
        qid[key_row[is_qid]] = values[is_qid]
        index, values, key_row = index[~is_qid], values[~is_qid], key_row[~is_qid]
    if index.size and (index.min() < 0 or not np.array_equal(index, np.floor(index))):
        raise _BadLibSVM
    return (labels, weights, qid, np.bincount(key_row, minlength=len(labels)),
            index.astype(np.int64), values.astype(np.float32))


def _libsvm_problem(name: str, data: bytes, start: int, end: int) -> str:
    number = _line_of(data, start)
    for raw in data[start:end].split(b"\n"):
        line = raw.split(b"#", 1)[0]
        if line.strip() and not _LIBSVM_LINE.fullmatch(line):
            shown = raw.strip()[:60].decode("utf-8", "replace")
            return (f"LibSVM file {name}, line {number}: {shown!r} is not "
                    "'label[:weight] index:value ...' with zero-based integer indexes.")
        number += 1
    return f"LibSVM file {name}: lines {_line_of(data, start)} to {number - 1} could not be parsed."


def _load_libsvm(root: Path, files: list[Path]) -> Dataset:
    import scipy.sparse as sp

    with ThreadPoolExecutor(num_cpus()) as pool:
        jobs = []
        for path in files:
            data = _read_bytes(path)
            name = str(path.relative_to(root))
            for a, b in _slices(data):
                jobs.append((name, data, a, b, pool.submit(_parse_libsvm, data[a:b])))
        parts = []
        for name, data, a, b, job in jobs:
            try:
                part = job.result()
            except _BadLibSVM:
                raise ClientError(_libsvm_problem(name, data, a, b)) from None
            if part is not None:
                parts.append(part)
    if not parts:
        raise ClientError(f"Channel {root.name} has no data: its files hold no rows.")
    labels = np.concatenate([p[0] for p in parts]).astype(np.float32)
    weights = qid = None
    if any(p[1] is not None for p in parts):
        weights = np.concatenate([p[1] if p[1] is not None else np.ones(len(p[0]))
                                  for p in parts]).astype(np.float32)
    if any(p[2] is not None for p in parts):
        qid = np.concatenate([p[2] if p[2] is not None else np.zeros(len(p[0]), np.int64)
                              for p in parts])
    index = np.concatenate([p[4] for p in parts])
    width = int(index.max()) + 1 if index.size else 0
    indptr = np.zeros(len(labels) + 1, np.int64)
    np.cumsum(np.concatenate([p[3] for p in parts]), out=indptr[1:])
    itype = np.int32 if width < 2**31 and index.size < 2**31 else np.int64
    X = sp.csr_matrix((np.concatenate([p[5] for p in parts]), index.astype(itype),
                       indptr.astype(itype)), shape=(len(labels), width))
    return Dataset(X, labels, weights, qid)


# --- Parquet -------------------------------------------------------------------------------------
def _load_parquet(root: Path, files: list[Path], labels: int) -> Dataset:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables, width, first = [], None, None
    for path in files:
        name = str(path.relative_to(root))
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise ClientError(f"Could not read Parquet file {name}: {exc}") from None
        for field in table.schema:
            t = field.type
            if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
                    or pa.types.is_decimal(t) or pa.types.is_null(t)):
                raise ClientError(f"Parquet file {name}: column {field.name!r} has type {t}; "
                                  "every column must be numeric, the label first.")
        if table.num_rows == 0:
            continue
        if width is None:
            width, first = table.num_columns, name
        elif table.num_columns != width:
            raise ClientError(f"Parquet file {name} has {table.num_columns} columns where "
                              f"{first} has {width}; every file needs the same columns.")
        tables.append(table)  # any numeric column converts as it is copied into X
    if not tables:
        raise ClientError(f"Channel {root.name} has no data: its Parquet files hold no rows.")
    if width <= labels:
        raise ClientError(f"Parquet file {first} has {width} column(s): not enough for a label "
                          "and at least one feature.")
    with ThreadPoolExecutor(num_cpus()) as pool:
        return _tables_to_dataset(tables, width, labels, False, pool)


# --- RecordIO-protobuf ---------------------------------------------------------------------------
def _load_recordio(root: Path, files: list[Path]) -> Dataset:
    from kamado.algorithms import recordio
    from kamado.algorithms.sparse_recordio import read_sparse

    parts = []
    for path in files:
        body = _read_bytes(path)
        try:
            # the SDK's sparse layout by NumPy at once; anything else record by record
            X, y = read_sparse(body) or recordio.read_arrays(body)
        except recordio.RecordIOError as exc:
            raise ClientError(f"RecordIO-protobuf file {path.relative_to(root)} is not valid: "
                              f"{exc}") from None
        if X.shape[0]:
            parts.append(Dataset(X, y))
    if not parts:
        raise ClientError(f"Channel {root.name} has no data: its files hold no records.")
    return _stack(root, parts)


def _stack(root: Path, parts: list[Dataset]) -> Dataset:
    import scipy.sparse as sp

    if len(parts) == 1:
        return parts[0]
    if sum(p.y is None for p in parts) not in (0, len(parts)):
        raise ClientError(f"Channel {root.name}: some files have labels and others do not.")
    y = None if parts[0].y is None else np.concatenate([p.y for p in parts])
    if any(sp.issparse(p.X) for p in parts):
        width = max(p.X.shape[1] for p in parts)
        X = sp.vstack([sp.csr_matrix(p.X, shape=(p.rows, width)) if sp.issparse(p.X)
                       else sp.csr_matrix(np.pad(p.X, ((0, 0), (0, width - p.X.shape[1]))))
                       for p in parts], format="csr")
        return Dataset(X, y)
    widths = {p.X.shape[1] for p in parts}
    if len(widths) > 1:
        raise ClientError(f"The files of channel {root.name} have different numbers of "
                          f"features ({sorted(widths)}).")
    return Dataset(np.concatenate([p.X for p in parts]), y)


# --- the entry point -----------------------------------------------------------------------------
def preload() -> None:
    """What reading a channel imports, imported once by an image's fork server
    (kamado.images.registry) rather than by every job: pandas alone takes a third of a second."""
    import importlib

    for name in ("pandas", "pyarrow.csv", "pyarrow.compute"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # a reader without it takes another way


def load_channel(path: Path, content_type: str | None, *, default: str = CSV,
                 csv_weights: bool = False) -> Dataset:
    """Every file of a channel directory, read as ``content_type`` (``default`` when the
    channel has none) and stacked in path order. ``csv_weights``: the CSV column after the
    label holds instance weights, as XGBoost's ``csv_weights=1`` says."""
    root = Path(path)
    mime, options = parse_content_type(content_type, default)
    files = channel_files(root)
    if mime == CSV:
        return _load_csv(root, files, label_size(options), csv_weights)
    if mime == LIBSVM:
        return _load_libsvm(root, files)
    if mime == PARQUET:
        return _load_parquet(root, files, min(label_size(options), 1))
    return _load_recordio(root, files)
