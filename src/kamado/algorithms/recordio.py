"""SageMaker's RecordIO-protobuf: RecordIO framing around ``aialgs.data.Record`` messages.

Written by hand (a few dozen lines of protobuf wire format) so that kamado needs no protobuf
runtime. Record: features=1 and label=2 (maps of string -> Value), uid=3, metadata=4,
configuration=5. Value: float32_tensor=2, float64_tensor=3, int32_tensor=7, bytes=9. Each
tensor: values=1, keys=2 (sparse indexes), shape=3, all packed.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Iterator

import numpy as np

MAGIC = 0xCED7230A
_LENGTH_MASK = (1 << 29) - 1
_TENSORS = {2: np.float32, 3: np.float64, 7: np.int32}
_FIELD_OF = {np.dtype(np.float32): 2, np.dtype(np.float64): 3, np.dtype(np.int32): 7}


class RecordIOError(ValueError):
    pass


# --- protobuf wire format -----------------------------------------------------------------------
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


def _fields(buf: bytes) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value): ints for varints, bytes for length-delimited."""
    pos = 0
    while pos < len(buf):
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
            raise RecordIOError(f"unsupported wire type {wire}")
        yield number, wire, value


def _packed_varints(data: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(data):
        v, pos = _varint(data, pos)
        out.append(v)
    return out


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


# --- tensors ---------------------------------------------------------------------------------------
def _decode_tensor(buf: bytes, dtype) -> dict:
    values, keys, shape = [], [], []
    for number, wire, value in _fields(buf):
        if number == 1:
            if wire == 2:
                if dtype is np.int32:
                    values.extend(_packed_varints(value))
                else:
                    values.append(np.frombuffer(value, dtype=np.dtype(dtype).newbyteorder("<")))
            else:  # an unpacked element
                values.append(np.frombuffer(value, dtype=dtype) if wire in (1, 5)
                              else np.array([value], dtype=dtype))
        elif number == 2:
            keys.extend(_packed_varints(value) if wire == 2 else [value])
        elif number == 3:
            shape.extend(_packed_varints(value) if wire == 2 else [value])
    if dtype is np.int32:
        arr = np.array([v - (1 << 64) if v >= 1 << 63 else v for v in values], dtype=np.int32)
    else:
        arr = np.concatenate(values).astype(dtype) if values else np.zeros(0, dtype=dtype)
    return {"values": arr, "keys": np.array(keys, dtype=np.int64), "shape": shape}


def _decode_value(buf: bytes) -> dict | None:
    for number, _, value in _fields(buf):
        if number in _TENSORS:
            return _decode_tensor(value, _TENSORS[number])
    return None


def _decode_map(entry: bytes) -> tuple[str, dict | None]:
    key, value = "", None
    for number, _, data in _fields(entry):
        if number == 1:
            key = data.decode("utf-8")
        elif number == 2:
            value = _decode_value(data)
    return key, value


def decode_record(buf: bytes) -> dict:
    record: dict = {"features": {}, "label": {}}
    for number, _, value in _fields(buf):
        if number in (1, 2):
            key, tensor = _decode_map(value)
            record["features" if number == 1 else "label"][key] = tensor
        elif number in (3, 4, 5):
            record[{3: "uid", 4: "metadata", 5: "configuration"}[number]] = value.decode("utf-8")
    return record


def _tensor_bytes(values: np.ndarray, keys=None, shape=None) -> bytes:
    values = np.asarray(values)
    if values.dtype not in _FIELD_OF:
        values = values.astype(np.float32)
    if values.dtype == np.int32:
        body = _field(1, b"".join(_encode_varint(int(v) & (2**64 - 1)) for v in values))
    else:
        body = _field(1, values.astype(values.dtype.newbyteorder("<")).tobytes())
    if keys is not None:
        body += _field(2, b"".join(_encode_varint(int(k)) for k in keys))
    if shape is not None:
        body += _field(3, b"".join(_encode_varint(int(s)) for s in shape))
    return _field(_FIELD_OF[values.dtype], body)


def encode_record(features: np.ndarray, label=None, *, keys=None, shape=None) -> bytes:
    """One Record with ``features["values"]`` (dense, or sparse with keys/shape) and an optional
    scalar or vector ``label["values"]``."""
    feature_map = _field(1, b"values") + _field(2, _tensor_bytes(features, keys, shape))
    out = _field(1, feature_map)
    if label is not None:
        label_map = _field(1, b"values") + _field(2, _tensor_bytes(np.atleast_1d(label)))
        out += _field(2, label_map)
    return out


# --- RecordIO framing ------------------------------------------------------------------------------
def frame(payload: bytes) -> bytes:
    pad = (4 - len(payload) % 4) % 4
    return struct.pack("<II", MAGIC, len(payload)) + payload + b"\0" * pad


def read_frames(fh: BinaryIO) -> Iterator[bytes]:
    while True:
        head = fh.read(8)
        if not head:
            return
        if len(head) < 8:
            raise RecordIOError("truncated RecordIO header")
        magic, word = struct.unpack("<II", head)
        if magic != MAGIC:
            raise RecordIOError(f"bad RecordIO magic number {magic:#x}")
        size = word & _LENGTH_MASK
        payload = fh.read(size)
        if len(payload) < size:
            raise RecordIOError("truncated RecordIO record")
        fh.read((4 - size % 4) % 4)
        yield payload


def read_records(fh: BinaryIO) -> Iterator[dict]:
    for payload in read_frames(fh):
        yield decode_record(payload)


def write_records(fh: BinaryIO, X, y=None) -> int:
    """Rows of a dense array or a scipy sparse matrix, as the SageMaker SDK's
    ``write_numpy_to_dense_tensor`` / ``write_spmatrix_to_sparse_tensor`` write them."""
    import scipy.sparse as sp

    count = 0
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        for i in range(X.shape[0]):
            row = X.getrow(i)
            fh.write(frame(encode_record(row.data.astype(np.float32), None if y is None else y[i],
                                         keys=row.indices, shape=[X.shape[1]])))
            count += 1
        return count
    X = np.asarray(X, dtype=np.float32)
    for i in range(X.shape[0]):
        fh.write(frame(encode_record(X[i], None if y is None else y[i])))
        count += 1
    return count


def to_arrays(records) -> tuple[object, np.ndarray | None]:
    """Features (dense array, or CSR when any record is sparse) and labels (or None)."""
    import scipy.sparse as sp

    rows, labels, sparse, width = [], [], False, 0
    for rec in records:
        f = rec["features"].get("values")
        if f is None:
            raise RecordIOError("a record has no features['values']")
        if len(f["keys"]):
            sparse = True
            width = max(width, int(f["shape"][0]) if f["shape"] else int(f["keys"].max()) + 1)
        else:
            width = max(width, len(f["values"]))
        rows.append(f)
        lab = rec["label"].get("values")
        labels.append(None if lab is None else float(lab["values"][0]))
    y = None if any(v is None for v in labels) else np.array(labels, dtype=np.float32)
    if not sparse:
        return np.vstack([r["values"] for r in rows]).astype(np.float32) if rows else \
            np.zeros((0, 0), np.float32), y
    data, indices, indptr = [], [], [0]
    for r in rows:
        if len(r["keys"]):
            data.append(r["values"].astype(np.float32))
            indices.append(r["keys"])
        else:
            nz = np.nonzero(r["values"])[0]
            data.append(r["values"][nz].astype(np.float32))
            indices.append(nz)
        indptr.append(indptr[-1] + len(indices[-1]))
    matrix = sp.csr_matrix((np.concatenate(data), np.concatenate(indices), np.array(indptr)),
                           shape=(len(rows), width))
    return matrix, y
