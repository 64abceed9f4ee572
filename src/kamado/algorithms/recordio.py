"""SageMaker's RecordIO-protobuf: MXNet RecordIO framing around ``aialgs.data.Record`` messages.

Written by hand (the protobuf wire format of one small schema) so that kamado needs no protobuf
runtime. The schema, from the SageMaker SDK's ``record.proto``:

* ``Record``: ``features`` = 1 and ``label`` = 2 (both ``map<string, Value>``), ``uid`` = 3,
  ``metadata`` = 4, ``configuration`` = 5 (strings).
* ``Value`` (a oneof): ``float32_tensor`` = 2, ``float64_tensor`` = 3, ``int32_tensor`` = 7,
  ``bytes`` = 9.
* ``Float32Tensor`` / ``Float64Tensor`` / ``Int32Tensor``: ``values`` = 1, ``keys`` = 2 (uint64,
  the indexes of a sparse tensor), ``shape`` = 3 (uint64), all packed.
* ``Bytes``: ``value`` = 1 (repeated bytes), ``content_type`` = 2.

Framing: little-endian uint32 magic ``0xced7230a``, uint32 whose low 29 bits are the payload
length and top 3 bits a continuation flag (0 whole, 1 first, 2 middle, 3 last part of a record
that MXNet's writer split where the payload held the magic number), the payload, zero padding
to a multiple of 4.

Writing follows the SDK's ``write_numpy_to_dense_tensor`` / ``write_spmatrix_to_sparse_tensor``
byte for byte (the tensor type follows the array's dtype, dense rows carry only ``values``,
sparse rows ``values``, ``keys`` and ``shape``). Reading accepts anything protobuf would.
"""

from __future__ import annotations

import io
import struct
from typing import BinaryIO, Iterable, Iterator

import numpy as np

MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", MAGIC)
_LENGTH_MASK = (1 << 29) - 1
_VALUE_FIELDS = {2: np.dtype("<f4"), 3: np.dtype("<f8"), 7: np.dtype(np.int32)}
_RECORD_STRINGS = {3: "uid", 4: "metadata", 5: "configuration"}


class RecordIOError(ValueError):
    """The bytes are not RecordIO-protobuf."""


# --- protobuf wire format ----------------------------------------------------------------------
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise RecordIOError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise RecordIOError("varint longer than 10 bytes")


def _fields(buf: bytes) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value) of a message: ints for varints, bytes otherwise."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        else:
            raise RecordIOError(f"unsupported protobuf wire type {wire}")
        if pos > end:
            raise RecordIOError("truncated protobuf field")
        yield number, wire, value


def _packed_varints(data: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(data):
        v, pos = _varint(data, pos)
        out.append(v)
    return out


def _encode_varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int32s travel as 10-byte two's complement
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _header(number: int, size: int) -> bytes:
    """Key and length of a length-delimited field."""
    return _encode_varint(number << 3 | 2) + _encode_varint(size)


def _field(number: int, payload: bytes) -> bytes:
    return _header(number, len(payload)) + payload


def _packed(number: int, ints: Iterable[int]) -> bytes:
    body = b"".join(_encode_varint(int(v)) for v in ints)
    return _field(number, body) if body else b""  # protobuf leaves empty repeated fields out


# --- tensors -------------------------------------------------------------------------------------
def _value_field(dtype: np.dtype) -> int:
    """The Value field the SDK picks for an array's dtype (its ``_resolve_type``)."""
    if dtype == np.float64:
        return 3
    if np.issubdtype(dtype, np.integer) or dtype == np.bool_:
        return 7
    return 2


def _tensor(field: int, values: np.ndarray, keys=None, shape=None) -> bytes:
    if field == 7:
        body = _packed(1, np.asarray(values).astype(np.int64).tolist())
    else:
        raw = np.asarray(values, dtype=_VALUE_FIELDS[field]).tobytes()
        body = _field(1, raw) if raw else b""
    if keys is not None:
        body += _packed(2, np.asarray(keys).astype(np.uint64).tolist())
    if shape is not None:
        body += _packed(3, shape)
    return _field(field, body)


def _entry(number: int, value: bytes) -> bytes:
    """One ``"values" -> Value`` entry of the features (1) or label (2) map."""
    return _field(number, _field(1, b"values") + _field(2, value))


def encode_record(features, label=None, *, keys=None, shape=None) -> bytes:
    """One Record: ``features["values"]`` (dense, or sparse with ``keys`` and ``shape``) and an
    optional ``label["values"]`` (a scalar or a vector). Tensor types follow the dtypes."""
    features = np.asarray(features)
    out = _entry(1, _tensor(_value_field(features.dtype), features, keys, shape))
    if label is not None:
        label = np.atleast_1d(np.asarray(label))
        out += _entry(2, _tensor(_value_field(label.dtype), label))
    return out


def _decode_tensor(buf: bytes, dtype: np.dtype) -> dict:
    chunks, ints, keys, shape = [], [], [], []
    for number, wire, value in _fields(buf):
        if number == 1:
            if dtype == np.int32:
                ints.extend(_packed_varints(value) if wire == 2 else [value])
            elif wire == 2 or wire in (1, 5):  # packed, or one unpacked fixed-width element
                if len(value) % dtype.itemsize:
                    raise RecordIOError("tensor values are not a whole number of elements")
                chunks.append(np.frombuffer(value, dtype=dtype))
            else:
                raise RecordIOError(f"tensor values have wire type {wire}")
        elif number == 2:
            keys.extend(_packed_varints(value) if wire == 2 else [value])
        elif number == 3:
            shape.extend(_packed_varints(value) if wire == 2 else [value])
    if dtype == np.int32:
        values = np.array([v - (1 << 64) if v >= 1 << 63 else v for v in ints], dtype=np.int32)
    else:
        values = (np.concatenate(chunks) if len(chunks) > 1 else chunks[0]) if chunks \
            else np.zeros(0, dtype)
    return {"values": values.astype(dtype.newbyteorder("=")),
            "keys": np.array(keys, dtype=np.uint64), "shape": shape}


def _decode_bytes(buf: bytes) -> dict:
    out: dict = {"bytes": [], "content_type": None}
    for number, _, value in _fields(buf):
        if number == 1:
            out["bytes"].append(bytes(value))
        elif number == 2:
            out["content_type"] = bytes(value).decode("utf-8", "replace")
    return out


def _decode_value(buf: bytes) -> dict | None:
    for number, _, value in _fields(buf):
        if number in _VALUE_FIELDS:
            return _decode_tensor(value, _VALUE_FIELDS[number])
        if number == 9:
            return _decode_bytes(value)
    return None


def decode_record(buf: bytes) -> dict:
    """``{"features": {name: tensor}, "label": {name: tensor}}`` plus ``uid``, ``metadata`` and
    ``configuration`` when present; a tensor is ``{"values", "keys", "shape"}``."""
    record: dict = {"features": {}, "label": {}}
    for number, wire, value in _fields(buf):
        if number in (1, 2) and wire == 2:
            key, tensor = "", None
            for n, _, data in _fields(value):
                if n == 1:
                    key = bytes(data).decode("utf-8", "replace")
                elif n == 2:
                    tensor = _decode_value(data)
            record["features" if number == 1 else "label"][key] = tensor
        elif number in _RECORD_STRINGS and wire == 2:
            record[_RECORD_STRINGS[number]] = bytes(value).decode("utf-8", "replace")
    return record


# --- RecordIO framing ----------------------------------------------------------------------------
def frame(payload: bytes) -> bytes:
    """One whole record, as the SDK's ``_write_recordio`` writes it (never split)."""
    return struct.pack("<II", MAGIC, len(payload)) + payload + b"\0" * (-len(payload) % 4)


def read_frames(fh: BinaryIO) -> Iterator[bytes]:
    """Payloads of a RecordIO stream, split records joined again."""
    parts: list[bytes] | None = None
    while True:
        head = fh.read(8)
        if not head:
            if parts is not None:
                raise RecordIOError("the stream ends inside a split record")
            return
        if len(head) < 8:
            raise RecordIOError("truncated RecordIO header")
        magic, word = struct.unpack("<II", head)
        if magic != MAGIC:
            raise RecordIOError(f"bad RecordIO magic number {magic:#x}")
        size, flag = word & _LENGTH_MASK, word >> 29
        payload = fh.read(size)
        if len(payload) < size:
            raise RecordIOError("truncated RecordIO record")
        fh.read(-size % 4)
        if flag == 0:
            if parts is not None:
                raise RecordIOError("a whole record inside a split record")
            yield payload
        elif flag == 1:
            parts = [payload]
        elif flag in (2, 3) and parts is not None:
            parts.append(payload)
            if flag == 3:
                # MXNet split the record where the magic number stood; it goes back in.
                yield _MAGIC_BYTES.join(parts)
                parts = None
        else:
            raise RecordIOError(f"bad RecordIO continuation flag {flag}")


def read_records(fh: BinaryIO) -> Iterator[dict]:
    for payload in read_frames(fh):
        yield decode_record(payload)


# --- arrays ------------------------------------------------------------------------------------
def _dense_layout(width: int, feature_field: int, label_field: int | None):
    """The frame of a dense record with zeros for its values, and the offsets of the feature
    and label values in it. Every record of a dense array has this layout, which lets whole
    arrays be written and read at numpy speed."""
    def entry_head(number: int, field: int, nbytes: int) -> bytes:
        # map entry {key: "values", value: Value{field: Tensor{values: packed bytes}}}
        tensor_head = _header(1, nbytes) if nbytes else b""
        value_head = _header(field, len(tensor_head) + nbytes)
        value_size = len(value_head) + len(tensor_head) + nbytes
        inner = _field(1, b"values") + _header(2, value_size)
        return _header(number, len(inner) + value_size) + inner + value_head + tensor_head

    fbytes = width * _VALUE_FIELDS[feature_field].itemsize
    fhead = entry_head(1, feature_field, fbytes)
    payload = fhead + bytes(fbytes)
    l_off = None
    if label_field is not None:
        lbytes = _VALUE_FIELDS[label_field].itemsize
        lhead = entry_head(2, label_field, lbytes)
        l_off = 8 + len(payload) + len(lhead)
        payload += lhead + bytes(lbytes)
    return frame(payload), 8 + len(fhead), l_off


def _write_dense(fh: BinaryIO, X: np.ndarray, y: np.ndarray | None) -> None:
    ffield = _value_field(X.dtype)
    lfield = None if y is None else _value_field(y.dtype)
    n, width = X.shape
    template, f_off, l_off = _dense_layout(width, ffield, lfield)
    rows = np.empty((n, len(template)), np.uint8)
    rows[:] = np.frombuffer(template, np.uint8)
    fdtype = _VALUE_FIELDS[ffield]
    rows[:, f_off:f_off + width * fdtype.itemsize] = \
        np.ascontiguousarray(X, dtype=fdtype).view(np.uint8).reshape(n, -1)
    if y is not None:
        ldtype = _VALUE_FIELDS[lfield]
        rows[:, l_off:l_off + ldtype.itemsize] = \
            np.ascontiguousarray(y, dtype=ldtype).view(np.uint8).reshape(n, -1)
    fh.write(rows.tobytes())


def write_records(fh: BinaryIO, X, y=None) -> int:
    """The rows of a 2-D array or scipy sparse matrix, one Record each, with ``y[i]`` as the
    label of row i; returns the number of records."""
    import scipy.sparse as sp

    y = None if y is None else np.asarray(y)
    if y is not None and y.ndim != 1:
        raise ValueError("labels must be a vector")
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        if y is not None and len(y) != X.shape[0]:
            raise ValueError(f"{len(y)} labels for {X.shape[0]} rows")
        for i in range(X.shape[0]):
            lo, hi = X.indptr[i], X.indptr[i + 1]
            fh.write(frame(encode_record(X.data[lo:hi], None if y is None else y[i],
                                         keys=X.indices[lo:hi], shape=[X.shape[1]])))
        return X.shape[0]
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError("the array must be a matrix")
    if y is not None and len(y) != X.shape[0]:
        raise ValueError(f"{len(y)} labels for {X.shape[0]} rows")
    if X.shape[1] and _value_field(X.dtype) != 7 and (y is None or _value_field(y.dtype) != 7):
        _write_dense(fh, X, y)
    else:  # int32 tensors are varints, so rows differ in length: one at a time
        for i in range(X.shape[0]):
            fh.write(frame(encode_record(X[i], None if y is None else y[i])))
    return X.shape[0]


def _read_dense(buf: bytes):
    """(X, y) when every record has the layout of the first (the SDK's dense writer), else
    None. Checks every byte that is not a value, so anything else takes the general path."""
    if len(buf) < 8:
        return None
    magic, word = struct.unpack_from("<II", buf)
    size = word & _LENGTH_MASK
    if magic != MAGIC or word >> 29 or 8 + size > len(buf):
        return None
    try:
        first = decode_record(buf[8:8 + size])
    except RecordIOError:
        return None
    feats, labels = first["features"], first["label"]
    if set(feats) != {"values"} or set(labels) - {"values"} or len(first) != 2:
        return None
    f, lab = feats["values"], labels.get("values")
    if f is None or "keys" not in f or len(f["keys"]) or f["shape"] or f["values"].dtype == np.int32:
        return None
    if lab is not None and ("keys" not in lab or len(lab["values"]) != 1 or len(lab["keys"])
                            or lab["shape"] or lab["values"].dtype == np.int32):
        return None
    width = len(f["values"])
    ffield = 2 if f["values"].dtype == np.float32 else 3
    lfield = None if lab is None else (2 if lab["values"].dtype == np.float32 else 3)
    template, f_off, l_off = _dense_layout(width, ffield, lfield)
    step = len(template)
    if len(buf) % step:
        return None
    n = len(buf) // step
    rows = np.frombuffer(buf, np.uint8).reshape(n, step)
    tmpl = np.frombuffer(template, np.uint8)
    fdtype = _VALUE_FIELDS[ffield]
    f_end = f_off + width * fdtype.itemsize
    spans = [(0, f_off), (f_end, l_off if l_off is not None else step)]
    if l_off is not None:
        spans.append((l_off + _VALUE_FIELDS[lfield].itemsize, step))
    for a, b in spans:
        if b > a and not np.array_equal(rows[:, a:b], np.broadcast_to(tmpl[a:b], (n, b - a))):
            return None
    X = np.ascontiguousarray(rows[:, f_off:f_end]).view(fdtype).reshape(n, width)
    y = None
    if l_off is not None:
        ldtype = _VALUE_FIELDS[lfield]
        y = np.ascontiguousarray(rows[:, l_off:l_off + ldtype.itemsize]).view(ldtype).reshape(n)
    return X, y


def read_arrays(data: bytes):
    """``to_arrays(read_records(...))`` of a whole file's bytes, at numpy speed for files of
    dense records with identical layouts (what the SDK writes for a numpy array)."""
    dense = _read_dense(data)
    if dense is not None:
        X, y = dense
        return X.astype(np.float32, copy=False), None if y is None else y.astype(np.float32)
    return to_arrays(read_records(io.BytesIO(data)))


def to_arrays(records: Iterable[dict]):
    """Features (float32 ndarray, or CSR when any record is sparse) and labels (the first
    label value of each record as float32, or None when records have no labels)."""
    import scipy.sparse as sp

    rows, labels, sparse, width = [], [], False, 0
    for number, rec in enumerate(records, 1):
        f = rec["features"].get("values")
        if f is None or "keys" not in f:
            raise RecordIOError(f"record {number} has no features['values'] tensor")
        if len(f["keys"]):
            sparse = True
            if len(f["keys"]) != len(f["values"]):
                raise RecordIOError(f"record {number} has {len(f['keys'])} keys for "
                                    f"{len(f['values'])} values")
            extent = int(np.prod(f["shape"])) if f["shape"] else int(f["keys"].max()) + 1
            if int(f["keys"].max()) >= extent:
                raise RecordIOError(f"record {number} has a key beyond its shape {f['shape']}")
            width = max(width, extent)
        else:
            width = max(width, int(np.prod(f["shape"])) if f["shape"] else len(f["values"]))
        rows.append(f)
        lab = rec["label"].get("values")
        if lab is not None and "values" in lab and len(lab["values"]):
            labels.append(float(lab["values"][0]))
        else:
            labels.append(None)
    missing = sum(v is None for v in labels)
    if missing and missing != len(labels):
        raise RecordIOError(f"{missing} of {len(labels)} records have no label")
    y = None if missing or not labels else np.array(labels, dtype=np.float32)
    if not rows:
        return np.zeros((0, 0), np.float32), y
    if not sparse:
        if len({len(r["values"]) for r in rows}) > 1:
            raise RecordIOError("dense records have different numbers of features")
        return np.vstack([r["values"] for r in rows]).astype(np.float32, copy=False), y
    data, indices, counts = [], [], []
    for r in rows:
        if len(r["keys"]):
            data.append(r["values"])
            indices.append(r["keys"].astype(np.int64))
        else:  # a dense row among sparse ones
            nz = np.flatnonzero(r["values"])
            data.append(r["values"][nz])
            indices.append(nz)
        counts.append(len(indices[-1]))
    indptr = np.concatenate([[0], np.cumsum(counts)])
    matrix = sp.csr_matrix((np.concatenate(data).astype(np.float32), np.concatenate(indices),
                            indptr), shape=(len(rows), width))
    return matrix, y


def encode_label_record(label: dict) -> bytes:
    """A response Record of the built-in algorithms: each output under ``label[name]`` as a
    float32 tensor, ``features`` empty (``label{score: [0.4], predicted_label: [0.0]}``)."""
    out = b""
    for name, values in label.items():
        tensor = _tensor(2, np.atleast_1d(np.asarray(values, dtype=np.float32)).ravel())
        out += _field(2, _field(1, name.encode("utf-8")) + _field(2, tensor))
    return out
