"""A fast reader for the sparse RecordIO-protobuf files the SageMaker SDK writes
(``write_spmatrix_to_sparse_tensor``: one Record per row, ``features["values"]`` a Float32Tensor
with values, keys and shape, an optional one-value ``label["values"]``), the usual input of
Factorization Machines and of any built-in given a SciPy sparse matrix.

kamado's general decoder (:mod:`kamado.algorithms.recordio`) reads any Record but walks every
field in Python, a few thousand records per second; here each record's layout is checked in a
few byte comparisons and the values and keys of all records are gathered and decoded at once by
NumPy. Anything that is not exactly that layout (dense rows, empty rows, split records, other
tensor types, extra fields) returns None, and the caller takes the general path, which also
gives the precise error for a broken file.
"""

from __future__ import annotations

import numpy as np

_MAGIC = (0xCED7230A).to_bytes(4, "little")
_ENTRY = b"\x0a\x06values\x12"


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError


def _gather(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The bytes of every span, concatenated."""
    total = int(lengths.sum())
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return buf[offsets + np.arange(total)]


def _decode_varints(data: np.ndarray) -> np.ndarray:
    """Unsigned varints packed back to back."""
    ends = np.flatnonzero(data < 0x80)
    if len(ends) == 0 or ends[-1] != len(data) - 1:
        raise ValueError
    group = np.repeat(np.arange(len(ends)), np.diff(np.concatenate(([-1], ends))))
    first = np.concatenate(([0], ends[:-1] + 1))
    position = np.arange(len(data)) - first[group]
    if position.max() > 9:
        raise ValueError
    shifts = np.uint64(7) * position.astype(np.uint64)
    parts = (data.astype(np.uint64) & np.uint64(0x7F)) << shifts
    return np.bitwise_or.reduceat(parts, first)


def _record(buf: bytes, pos: int, end: int):
    """(values start, values length, keys start, keys length, extent, label) of one record's
    payload buf[pos:end]; ValueError when it is not the SDK's sparse layout."""
    if buf[pos] != 0x0A:
        raise ValueError
    size, pos = _varint(buf, pos + 1)
    if buf[pos:pos + 9] != _ENTRY:
        raise ValueError
    _, pos = _varint(buf, pos + 9)
    if buf[pos] != 0x12:  # Value.float32_tensor
        raise ValueError
    _, pos = _varint(buf, pos + 1)
    if buf[pos] != 0x0A:
        raise ValueError
    n_values, pos = _varint(buf, pos + 1)
    v_start = pos
    pos += n_values
    if buf[pos] != 0x12:
        raise ValueError
    n_keys, pos = _varint(buf, pos + 1)
    k_start = pos
    pos += n_keys
    if buf[pos] != 0x1A:
        raise ValueError
    n_shape, pos = _varint(buf, pos + 1)
    extent, after = _varint(buf, pos)
    if after != pos + n_shape:
        raise ValueError  # a shape of more than one dimension
    pos = after
    label = None
    if pos < end:
        if buf[pos] != 0x12:
            raise ValueError
        _, pos = _varint(buf, pos + 1)
        if buf[pos:pos + 9] != _ENTRY:
            raise ValueError
        _, pos = _varint(buf, pos + 9)
        if buf[pos:pos + 4] != b"\x12\x06\x0a\x04":  # a float32 tensor of one value
            raise ValueError
        label = pos + 4
        pos += 8
    if pos != end or n_values % 4 or not n_values:
        raise ValueError
    return v_start, n_values, k_start, n_keys, extent, label


def read_sparse(buf: bytes):
    """(CSR float32 X, float32 y or None) as :func:`kamado.algorithms.recordio.read_arrays`
    returns them, or None when the file is not all SDK-written sparse records."""
    rows, pos, size = [], 0, len(buf)
    try:
        while pos < size:
            if buf[pos:pos + 4] != _MAGIC:
                return None
            word = int.from_bytes(buf[pos + 4:pos + 8], "little")
            length = word & ((1 << 29) - 1)
            if word >> 29 or pos + 8 + length > size:
                return None
            rows.append(_record(buf, pos + 8, pos + 8 + length))
            pos += 8 + length + (-length % 4)
    except (ValueError, IndexError):
        return None
    if not rows:
        return None
    import scipy.sparse as sp

    v_start, v_len, k_start, k_len, extent = (np.array([r[i] for r in rows], np.int64)
                                              for i in range(5))
    labels = [r[5] for r in rows]
    if any(lab is None for lab in labels) and not all(lab is None for lab in labels):
        return None
    if (k_len == 0).any():
        return None
    data = np.frombuffer(buf, np.uint8)
    key_bytes = _gather(data, k_start, k_len)
    # every record's keys end on a varint's last byte and number as many as its values
    is_end = key_bytes < 0x80
    first = np.concatenate(([0], np.cumsum(k_len)[:-1]))
    counts = v_len // 4
    if not is_end[first + k_len - 1].all() or not np.array_equal(
            np.add.reduceat(is_end.astype(np.int64), first), counts):
        return None
    try:
        keys = _decode_varints(key_bytes)
    except ValueError:
        return None
    row_of = np.repeat(np.arange(len(rows)), counts)
    if (keys >= extent[row_of].astype(np.uint64)).any():
        return None  # the general path names the record
    values = _gather(data, v_start, v_len).view("<f4").astype(np.float32)
    y = None
    if labels[0] is not None:
        y = _gather(data, np.array(labels, np.int64), np.full(len(rows), 4)).view("<f4").copy()
    X = sp.csr_matrix((values, keys.astype(np.int64), np.concatenate(([0], np.cumsum(counts)))),
                      shape=(len(rows), int(extent.max())))
    return X, y
