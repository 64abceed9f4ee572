"""A fast reader for the sparse RecordIO-protobuf files the SageMaker SDK writes
(``write_spmatrix_to_sparse_tensor``: one Record per row, ``features["values"]`` a Float32Tensor
with values, keys and shape, an optional one-value ``label["values"]``), the usual input of
Factorization Machines and of any built-in given a SciPy sparse matrix.

kamado's general decoder (:mod:`kamado.algorithms.recordio`) reads any Record but walks every
field in Python, a few thousand records per second. Here nothing loops over records in Python:
the frames are found among the 4-byte words equal to the magic number (one Python step per frame
only when a payload holds that number too), and every record's layout is checked, byte for byte,
by NumPy on arrays holding one position per record; the values and keys of all records are then
gathered and decoded at once, some two million records a second on a small machine. Anything
that is not exactly that layout (dense rows, empty rows, split records, other tensor types,
extra fields, labels on some records only) returns None, and the caller takes the general path,
which also gives the precise error for a broken file.

The reader checks every tag and the length of every packed field it uses, but not the sizes of
the enclosing map entry, Value and Tensor messages, which the SDK always writes consistently.
"""

from __future__ import annotations

import numpy as np

_MAGIC = 0xCED7230A
_LENGTH_BITS = 29
_ENTRY = b"\x0a\x06values\x12"  # map key "values", then the Value message's tag
_ONE_FLOAT = b"\x12\x06\x0a\x04"  # Value.float32_tensor of a Tensor with 4 bytes of values


class _NotSparse(Exception):
    """The file is not all SDK-written sparse records."""


# --- frames -------------------------------------------------------------------------------------
def _frames(buf: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(start, payload length) of every frame, in order. Whole frames are 4-byte aligned, so
    every start is a word equal to the magic number; the chain of frames from offset 0 must land
    on such words until the end of the file."""
    size = len(buf)
    words = np.frombuffer(buf, "<u4", count=size // 4)
    starts = np.flatnonzero(words[:-1] == _MAGIC)  # [:-1]: a start needs its length word
    lengths = words[starts + 1].astype(np.int64)
    starts *= 4
    nexts = starts + 8 + lengths + (-lengths % 4)
    # split records (flag bits) and payloads past the end break the chain wherever they are met
    whole = (lengths >> _LENGTH_BITS == 0) & (starts + 8 + lengths <= size)
    # the last frame's padding may be cut off, as the SDK's reader allows
    if (len(starts) and starts[0] == 0 and whole.all() and nexts[-1] >= size
            and np.array_equal(nexts[:-1], starts[1:])):
        return starts, lengths
    # a magic number inside some payload: follow the chain one frame at a time
    return _follow(starts[whole], lengths[whole], nexts[whole], size)


def _follow(starts: np.ndarray, lengths: np.ndarray, nexts: np.ndarray, size: int):
    index = {start: i for i, start in enumerate(starts.tolist())}
    nexts = nexts.tolist()
    chain, pos = [], 0
    while pos < size:
        i = index.get(pos)
        if i is None:
            raise _NotSparse
        chain.append(i)
        pos = nexts[i]
    return starts[chain], lengths[chain]


# --- records ------------------------------------------------------------------------------------
def _words(data: np.ndarray, width: int) -> np.ndarray:
    """Overlapping little-endian words: element i is data[i:i + width]. One gather reads a
    whole tag or float at unaligned positions."""
    return np.ndarray((max(len(data) - width + 1, 0),), f"<u{width}", buffer=data, strides=(1,))


def _within(data: np.ndarray, pos: np.ndarray, width: int = 1) -> np.ndarray:
    if pos.max() + width > len(data):
        raise _NotSparse
    return pos


def _expect(data: np.ndarray, pos: np.ndarray, pattern: bytes) -> None:
    _within(data, pos, len(pattern))
    offset = 0
    while offset < len(pattern):
        width = next(w for w in (8, 4, 2, 1) if w <= len(pattern) - offset)
        word = int.from_bytes(pattern[offset:offset + width], "little")
        if not (_words(data, width)[pos + offset] == word).all():
            raise _NotSparse
        offset += width


def _varints(data: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value, position after) of the varint at every position; a value of 2**63 or more, which
    no length or width here can be, reads as 2**64 - 1."""
    # the first byte of all at once: most varints here have only one
    byte = data[_within(data, pos)]
    value = (byte & 0x7F).astype(np.uint64)
    after = pos + 1
    active = np.flatnonzero(byte >= 0x80)
    for shift in range(7, 70, 7):  # ten bytes at most, as protobuf allows
        if not len(active):
            return value, after
        byte = data[_within(data, after[active])]
        after[active] += 1
        low = (byte & 0x7F).astype(np.uint64)
        if shift == 63:
            low[low > 0] = 2**64 - 1
        value[active] |= low << np.uint64(shift)
        active = active[byte >= 0x80]
    if len(active):
        raise _NotSparse
    return value, after


def _length(data: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A varint that counts bytes still to come: no more than the file holds."""
    value, after = _varints(data, pos)
    if value.max() > len(data):
        raise _NotSparse
    return value.astype(np.int64), after


def _layout(data: np.ndarray, pos: np.ndarray, end: np.ndarray):
    """(values start, values length, keys start, keys length, width, label position or None)
    of every record, whose payloads are data[pos:end]; _NotSparse when any is not the SDK's
    sparse layout."""
    _expect(data, pos, b"\x0a")  # Record.features
    _, pos = _varints(data, pos + 1)
    _expect(data, pos, _ENTRY)
    _, pos = _varints(data, pos + len(_ENTRY))
    _expect(data, pos, b"\x12")  # Value.float32_tensor
    _, pos = _varints(data, pos + 1)
    _expect(data, pos, b"\x0a")  # Tensor.values
    n_values, v_start = _length(data, pos + 1)
    _expect(data, v_start + n_values, b"\x12")  # Tensor.keys
    n_keys, k_start = _length(data, v_start + n_values + 1)
    _expect(data, k_start + n_keys, b"\x1a")  # Tensor.shape
    n_shape, pos = _length(data, k_start + n_keys + 1)
    width, after = _varints(data, pos)
    if not np.array_equal(after - pos, n_shape) or (width >> np.uint64(63)).any():
        raise _NotSparse  # a shape of more than one dimension, or absurdly wide
    label, after = _label(data, after, end)
    if not ((after == end).all() and (n_values % 4 == 0).all() and n_values.all()):
        raise _NotSparse
    return v_start, n_values, k_start, n_keys, width.astype(np.int64), label


def _label(data: np.ndarray, pos: np.ndarray, end: np.ndarray):
    """(label value positions or None, position after every record's label): either every
    record goes on with a one-float label["values"] after its features or none does."""
    more = pos < end
    if not more.any():
        return None, pos
    if not more.all():
        raise _NotSparse
    _expect(data, pos, b"\x12")  # Record.label
    _, pos = _varints(data, pos + 1)
    _expect(data, pos, _ENTRY)
    _, pos = _varints(data, pos + len(_ENTRY))
    _expect(data, pos, _ONE_FLOAT)
    return pos + len(_ONE_FLOAT), pos + len(_ONE_FLOAT) + 4


# --- arrays -------------------------------------------------------------------------------------
def _spans(starts: np.ndarray, lengths: np.ndarray, step: int = 1) -> np.ndarray:
    """The positions of every span's items of ``step`` bytes, concatenated."""
    counts = lengths // step
    before = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return np.repeat(starts - step * before, counts) + step * np.arange(int(counts.sum()))


def _floats(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    # gathered as integers so that every bit, NaN payloads included, is kept
    return _words(data, 4)[_spans(starts, lengths, 4)].view(np.float32)


def _keys(data: np.ndarray, k_start: np.ndarray, k_len: np.ndarray, counts: np.ndarray):
    """Every record's packed varint keys, which must number as many as its values."""
    if not k_len.all():
        raise _NotSparse
    key_bytes = data[_spans(k_start, k_len)]
    ends = np.flatnonzero(key_bytes < 0x80)
    # the n-th record's last key must end on its last byte: then no varint runs from one
    # record into the next, and every record holds exactly its count of keys
    if len(ends) != counts.sum() or not np.array_equal(ends[np.cumsum(counts) - 1],
                                                        np.cumsum(k_len) - 1):
        raise _NotSparse
    first = np.concatenate(([0], ends[:-1] + 1))
    sizes = ends - first + 1
    if sizes.max() > 10:
        raise _NotSparse
    keys = (key_bytes[first] & 0x7F).astype(np.uint64)
    for k in range(1, int(sizes.max())):
        more = np.flatnonzero(sizes > k)
        keys[more] |= (key_bytes[first[more] + k] & 0x7F).astype(np.uint64) << np.uint64(7 * k)
    return keys


def read_sparse(buf: bytes):
    """(CSR float32 X, float32 y or None) as :func:`kamado.algorithms.recordio.read_arrays`
    returns them, or None when the file is not all SDK-written sparse records."""
    try:
        starts, lengths = _frames(buf)
        if not len(starts):
            return None
        data = np.frombuffer(buf, np.uint8)
        v_start, v_len, k_start, k_len, width, labels = _layout(data, starts + 8,
                                                                starts + 8 + lengths)
        counts = v_len // 4
        keys = _keys(data, k_start, k_len, counts)
    except _NotSparse:
        return None
    rows = len(starts)
    if (keys >= np.repeat(width, counts).astype(np.uint64)).any():
        return None  # the general path names the record
    import scipy.sparse as sp

    values = _floats(data, v_start, v_len)
    y = None if labels is None else _floats(data, labels, np.full(rows, 4))
    X = sp.csr_matrix((values, keys.astype(np.int64), np.concatenate(([0], np.cumsum(counts)))),
                      shape=(rows, int(width.max())))
    return X, y
