"""RecordIO-protobuf written and read by hand, checked against bytes the SageMaker SDK writes.

The golden hex strings below were produced by the SDK's ``write_numpy_to_dense_tensor`` /
``write_spmatrix_to_sparse_tensor`` logic on the real protobuf runtime with the SDK's
``record.proto`` (protobuf 7.x), so matching them byte for byte is matching the SDK.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import scipy.sparse as sp

from kamado.algorithms import recordio

SDK_DENSE = bytes.fromhex(  # [[0,1,2],[3,4,5]] float32, labels [1,0] float32
    "0a23d7ce300000000a1a0a0676616c7565731210120e0a0c000000000000803f0000004012120a0676616c75"
    "6573120812060a040000803f0a23d7ce300000000a1a0a0676616c7565731210120e0a0c0000404000008040"
    "0000a04012120a0676616c756573120812060a0400000000")
SDK_SPARSE = bytes.fromhex(  # [[0,2.5,0,0],[0,0,0,0],[1,0,0,-4]] float32 CSR, labels [1,0,1]
    "0a23d7ce2e0000000a180a0676616c756573120e120c0a04000020401201011a010412120a0676616c756573"
    "120812060a040000803f00000a23d7ce250000000a0f0a0676616c756573120512031a010412120a0676616c"
    "756573120812060a04000000000000000a23d7ce330000000a1d0a0676616c756573121312110a080000803f"
    "000080c0120200031a010412120a0676616c756573120812060a040000803f00")
SDK_FLOAT64_INT_LABEL = bytes.fromhex(  # [[1.5,-2.0]] float64, label [3] int64
    "0a23d7ce310000000a1e0a0676616c75657312141a120a10000000000000f83f00000000000000c0120f0a06"
    "76616c75657312053a030a0103000000")
SDK_INT = bytes.fromhex(  # [[7,-1,300]] int64, no labels: an Int32Tensor with varints
    "0a23d7ce1d0000000a1b0a0676616c75657312113a0f0a0d07ffffffffffffffffff01ac02000000")
# A Record with every field: float64 features, a Bytes feature, a vector int32 label, uid,
# metadata and configuration (serialized by protobuf from the SDK's schema).
RICH = bytes.fromhex(
    "0a23d7ce740000000a1e0a0676616c75657312141a120a10000000000000f83f00000000000000c00a1c0a05"
    "696d61676512134a110a0489504e471209696d6167652f706e6712190a0676616c756573120f3a0d0a0bf9ff"
    "ffffffffffffff01031a05726f772d3122087b2261223a20317d2a087b226b223a20327d")


def written(X, y=None) -> bytes:
    buf = io.BytesIO()
    assert recordio.write_records(buf, X, y) == X.shape[0]
    return buf.getvalue()


def test_writes_dense_arrays_byte_for_byte_as_the_sdk():
    assert written(np.arange(6, dtype=np.float32).reshape(2, 3),
                   np.array([1, 0], np.float32)) == SDK_DENSE


def test_writes_sparse_matrices_byte_for_byte_as_the_sdk():
    X = sp.csr_matrix(np.array([[0, 2.5, 0, 0], [0, 0, 0, 0], [1, 0, 0, -4]], np.float32))
    assert written(X, np.array([1, 0, 1], np.float32)) == SDK_SPARSE


def test_tensor_types_follow_the_dtypes_as_in_the_sdk():
    assert written(np.array([[1.5, -2.0]]), np.array([3])) == SDK_FLOAT64_INT_LABEL
    assert written(np.array([[7, -1, 300]])) == SDK_INT


def test_reads_what_the_sdk_writes():
    X, y = recordio.read_arrays(SDK_DENSE)
    assert X.dtype == np.float32 and np.array_equal(X, [[0, 1, 2], [3, 4, 5]])
    assert np.array_equal(y, [1, 0])
    X, y = recordio.read_arrays(SDK_SPARSE)
    assert sp.issparse(X) and X.shape == (3, 4)
    assert np.array_equal(X.toarray(), [[0, 2.5, 0, 0], [0, 0, 0, 0], [1, 0, 0, -4]])
    assert np.array_equal(y, [1, 0, 1])
    X, y = recordio.read_arrays(SDK_INT)
    assert np.array_equal(X, [[7, -1, 300]]) and y is None


def test_decodes_every_field_of_a_record():
    (record,) = list(recordio.read_records(io.BytesIO(RICH)))
    assert record["features"]["values"]["values"].tolist() == [1.5, -2.0]
    assert record["features"]["values"]["values"].dtype == np.float64
    assert record["features"]["image"] == {"bytes": [b"\x89PNG"], "content_type": "image/png"}
    assert record["label"]["values"]["values"].tolist() == [-7, 3]
    assert (record["uid"], record["metadata"], record["configuration"]) == \
        ("row-1", '{"a": 1}', '{"k": 2}')


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("labels", [None, np.float32, np.float64])
def test_dense_round_trip(dtype, labels):
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(50, 7)) * 100).astype(dtype)
    y = None if labels is None else rng.normal(size=50).astype(labels)
    data = written(X, y)
    got, got_y = recordio.read_arrays(data)
    assert np.array_equal(got, X.astype(np.float32))
    assert (got_y is None) if y is None else np.array_equal(got_y, y.astype(np.float32))
    # the record-by-record path agrees with the whole-array one
    slow_X, slow_y = recordio.to_arrays(recordio.read_records(io.BytesIO(data)))
    assert np.array_equal(slow_X, got)
    assert (slow_y is None) if y is None else np.array_equal(slow_y, got_y)


def test_sparse_round_trip_keeps_the_width_and_empty_rows():
    X = sp.random(40, 300, density=0.02, random_state=1, format="csr", dtype=np.float32)
    X.data[X.indptr[5]:X.indptr[6]] = 0  # an empty row
    X.eliminate_zeros()
    y = np.arange(40, dtype=np.float32)
    got, got_y = recordio.read_arrays(written(X, y))
    assert got.shape == (40, 300) and (got != X).nnz == 0
    assert np.array_equal(got_y, y)


def test_records_of_different_layouts_are_read_one_by_one():
    buf = io.BytesIO()
    recordio.write_records(buf, np.ones((3, 4), np.float32), np.zeros(3, np.float32))
    recordio.write_records(buf, np.full((2, 4), 2.0), np.ones(2))  # float64 records after
    X, y = recordio.read_arrays(buf.getvalue())
    assert np.array_equal(X, np.vstack([np.ones((3, 4)), np.full((2, 4), 2.0)]))
    assert np.array_equal(y, [0, 0, 0, 1, 1])


def test_split_records_are_joined_with_the_magic_number():
    # MXNet's writer splits a payload where it holds the magic number and flags the parts.
    payload = recordio.encode_record(np.array([1.0, 2.0], np.float32))
    cut = len(payload) // 2

    def part(data: bytes, flag: int) -> bytes:
        return struct.pack("<II", recordio.MAGIC, flag << 29 | len(data)) + data \
            + b"\0" * (-len(data) % 4)

    magic = struct.pack("<I", recordio.MAGIC)
    whole = payload[:cut] + magic + payload[cut:]
    stream = part(whole[:cut], 1) + part(whole[cut + 4:], 3)
    assert list(recordio.read_frames(io.BytesIO(stream))) == [whole]


def test_corrupt_streams_raise():
    with pytest.raises(recordio.RecordIOError, match="magic"):
        list(recordio.read_frames(io.BytesIO(b"\x00" * 16)))
    with pytest.raises(recordio.RecordIOError, match="truncated"):
        list(recordio.read_frames(io.BytesIO(SDK_DENSE[:-10])))
    with pytest.raises(recordio.RecordIOError):
        recordio.read_arrays(SDK_DENSE[:20] + b"\xff" * 8)


def test_whole_array_reading_is_fast():
    import time

    X = np.random.default_rng(0).normal(size=(200_000, 10)).astype(np.float32)
    data = written(X, np.zeros(len(X), np.float32))
    start = time.perf_counter()
    got, _ = recordio.read_arrays(data)
    assert time.perf_counter() - start < 2.0  # the per-record path takes ~10 s for this
    assert np.array_equal(got, X)
