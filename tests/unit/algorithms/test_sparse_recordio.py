"""The fast sparse RecordIO reader against the general decoder: the same arrays on the SDK's
sparse layout, None (so that the caller falls back) on anything else."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import scipy.sparse as sp

from kamado.algorithms import recordio
from kamado.algorithms.sparse_recordio import read_sparse
from tests.unit.algorithms.test_recordio import SDK_SPARSE

MAGIC_FLOAT = np.array([recordio.MAGIC], "<u4").view(np.float32)[0]


def _file(X, y=None) -> bytes:
    buf = io.BytesIO()
    recordio.write_records(buf, X, y)
    return buf.getvalue()


def _matrix(rng, rows: int, width: int, most: int = 8) -> sp.csr_matrix:
    counts = rng.integers(1, most, rows)  # no empty rows: the fast reader leaves those alone
    keys = rng.integers(0, width, counts.sum())
    values = rng.normal(size=counts.sum()).astype(np.float32)
    return sp.csr_matrix((values, keys, np.r_[0, np.cumsum(counts)]), shape=(rows, width))


def _frames(body: bytes) -> list[bytes]:
    return list(recordio.read_frames(io.BytesIO(body)))


def _assert_same(fast, general) -> None:
    """Bit for bit: CSR arrays, shape, dtypes and labels."""
    assert fast is not None
    X, Y = fast[0], sp.csr_matrix(general[0])
    assert X.shape == Y.shape and X.dtype == np.float32
    np.testing.assert_array_equal(X.indptr, Y.indptr)
    np.testing.assert_array_equal(X.indices, Y.indices)
    assert X.data.tobytes() == Y.data.astype(np.float32).tobytes()
    if general[1] is None:
        assert fast[1] is None
    else:
        assert fast[1].dtype == np.float32
        assert fast[1].tobytes() == general[1].astype(np.float32).tobytes()


# --- what it reads -----------------------------------------------------------------------------
@pytest.mark.parametrize("labelled", [True, False])
@pytest.mark.parametrize("width", [5, 200, 20_000, 3_000_000])  # keys of one to four bytes
def test_it_reads_what_the_general_decoder_reads(labelled, width):
    rng = np.random.default_rng(width)
    X = _matrix(rng, 300, width)
    y = rng.random(300).astype(np.float32) if labelled else None
    body = _file(X, y)
    _assert_same(read_sparse(body), recordio.read_arrays(body))


def test_it_reads_rows_of_many_values_and_unsorted_keys():
    rng = np.random.default_rng(7)
    X = _matrix(rng, 200, 1_000_000, most=120)  # record sizes of two-byte varints
    X.indices[:] = X.indices[::-1]
    body = _file(X, rng.random(200).astype(np.float32))
    _assert_same(read_sparse(body), recordio.read_arrays(body))


def test_it_reads_the_sdk_bytes():
    # the SDK's own file without its empty row, which the fast reader leaves to the other
    first, _, last = _frames(SDK_SPARSE)
    body = recordio.frame(first) + recordio.frame(last)
    X, y = read_sparse(body)
    np.testing.assert_array_equal(X.toarray(), [[0, 2.5, 0, 0], [1, 0, 0, -4]])
    np.testing.assert_array_equal(y, [1, 1])
    _assert_same((X, y), recordio.read_arrays(body))


def test_it_reads_what_the_sdk_writes():
    common = pytest.importorskip("sagemaker.amazon.common")
    rng = np.random.default_rng(11)
    X, y = _matrix(rng, 100, 50_000), rng.random(100).astype(np.float32)
    for labels in (y, None):
        buf = io.BytesIO()
        common.write_spmatrix_to_sparse_tensor(buf, X, labels)
        body = buf.getvalue()
        _assert_same(read_sparse(body), recordio.read_arrays(body))


def test_magic_numbers_inside_payloads_are_not_frames():
    # float values whose bytes are the magic number, some of them on 4-byte boundaries
    X = sp.csr_matrix((np.full(12, MAGIC_FLOAT, np.float32), np.tile(np.arange(3), 4),
                       np.arange(0, 13, 3)), shape=(4, 10))
    body = _file(X, np.ones(4, np.float32))
    words = np.frombuffer(body, "<u4")
    assert (words == recordio.MAGIC).sum() > 4
    _assert_same(read_sparse(body), recordio.read_arrays(body))


def test_the_last_frame_may_lack_its_padding():
    body = _file(sp.csr_matrix(np.array([[0, 1.5, 0]], np.float32)), np.ones(1, np.float32))
    padding = -struct.unpack_from("<I", body, 4)[0] % 4
    assert padding
    cut = body[:-padding]
    _assert_same(read_sparse(cut), recordio.read_arrays(cut))


# --- what it leaves to the general decoder -----------------------------------------------------
def _two_rows(y=np.array([1, 0], np.float32)) -> bytes:
    return _file(sp.csr_matrix(np.array([[0, 2.0, 0], [1.0, 0, 3.0]], np.float32)), y)


def _with_length_word(body: bytes, word: int) -> bytes:
    return body[:4] + struct.pack("<I", word) + body[8:]


def _split(payload: bytes) -> bytes:
    """A record that MXNet's writer split at a magic number inside it (flags 1, then 3)."""
    head, tail = payload.split(struct.pack("<I", recordio.MAGIC), 1)
    return b"".join(struct.pack("<II", recordio.MAGIC, flag << 29 | len(part)) + part
                    + bytes(-len(part) % 4) for flag, part in ((1, head), (3, tail)))


def test_the_sample_file_is_read():
    assert read_sparse(_two_rows()) is not None


@pytest.mark.parametrize("body", [
    b"",
    b"\x0a\x23\xd7\xce",                              # a header cut short
    _two_rows()[:-6],                                 # truncated inside the last record
    _two_rows()[:len(_two_rows()) // 2],              # truncated inside the first record
    b"\0" + _two_rows()[1:],                          # bad magic number
    _two_rows() + b"\0\0\0\0",                        # trailing bytes
    _file(np.ones((2, 3), np.float32)),               # dense records
    _file(sp.csr_matrix(np.array([[0, 1.0], [0, 0]], np.float32))),  # an empty row
    _file(sp.csr_matrix(np.array([[0, 1.0]], np.float64))),          # a Float64Tensor
    _file(sp.csr_matrix(np.array([[0, 1]], np.int32))),              # an Int32Tensor
    _two_rows() + _file(sp.csr_matrix(np.array([[1.0, 0, 0]], np.float32))),  # a label on some
    _two_rows(np.array([1, 0], np.float64)),          # a Float64Tensor label
], ids=["empty", "short header", "truncated", "half", "bad magic", "trailing bytes",
        "dense", "empty row", "float64", "int32", "label on some", "float64 label"])
def test_other_files_are_left_to_the_general_decoder(body):
    assert read_sparse(body) is None


def test_a_key_beyond_the_shape_is_left_to_the_general_decoder():
    payload = recordio.encode_record(np.ones(2, np.float32), keys=[1, 3], shape=[3])
    assert read_sparse(recordio.frame(payload)) is None


def test_two_dimensional_shapes_and_vector_labels_are_left_to_the_general_decoder():
    values = np.ones(2, np.float32)
    matrix = recordio.encode_record(values, keys=[1, 3], shape=[2, 2])
    vector_label = recordio.encode_record(values, np.ones(2, np.float32), keys=[0, 1], shape=[3])
    for payload in (matrix, vector_label):
        assert read_sparse(recordio.frame(payload)) is None


def test_extra_fields_are_left_to_the_general_decoder():
    payload = recordio.encode_record(np.ones(1, np.float32), keys=[0], shape=[3])
    uid = b"\x1a\x03row"  # Record.uid
    assert read_sparse(recordio.frame(payload + uid)) is None
    assert recordio.read_arrays(recordio.frame(payload + uid))[0].shape == (1, 3)


def test_keys_and_values_that_disagree_are_left_to_the_general_decoder():
    three_keys = recordio.encode_record(np.ones(2, np.float32), keys=[0, 1, 2], shape=[3])
    one_key = recordio.encode_record(np.ones(2, np.float32), keys=[0], shape=[3])
    for payload in (three_keys, one_key):
        assert read_sparse(recordio.frame(payload)) is None


def test_split_records_are_left_to_the_general_decoder():
    body = _two_rows()
    length = struct.unpack_from("<I", body, 4)[0]
    for flag in (1, 2, 3):
        assert read_sparse(_with_length_word(body, flag << 29 | length)) is None
    payload = recordio.encode_record(np.full(2, MAGIC_FLOAT, np.float32), keys=[0, 1], shape=[2])
    split = _split(payload)
    assert read_sparse(split) is None
    np.testing.assert_array_equal(recordio.read_arrays(split)[0].toarray(), [[MAGIC_FLOAT] * 2])


def test_a_broken_chain_of_frames_is_left_to_the_general_decoder():
    # a frame whose length lands inside the next one, where a magic-valued float stands
    X = sp.csr_matrix((np.full(6, MAGIC_FLOAT, np.float32), [0, 1, 2] * 2, [0, 3, 6]),
                      shape=(2, 3))
    body = _file(X)
    length = struct.unpack_from("<I", body, 4)[0]
    for shift in (-4, 4, 8):
        assert read_sparse(_with_length_word(body, length + shift)) is None
