"""The toolkit's default decoders and encoders, and the built-ins' request/response formats."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import scipy.sparse as sp

from kamado.algorithms import recordio
from kamado.serving import content, formats
from kamado.serving.errors import (BadRequestError, UnsupportedAcceptError,
                                   UnsupportedFormatError)


def test_mime_type_lowercases_and_reads_parameters():
    assert content.mime_type("Text/CSV; label_size=0; charset=utf-8") == (
        "text/csv", {"label_size": "0", "charset": "utf-8"})
    assert content.mime_type("text/x-libsvm") == ("text/libsvm", {})
    assert content.mime_type(None) == ("", {})


def test_accept_resolution():
    assert content.resolve_accept(None, "text/csv") == "text/csv"
    assert content.resolve_accept("*/*", "text/csv") == "text/csv"
    assert content.choose_accept("application/x-npy, application/json", ("application/json",),
                                 "text/csv") == "application/json"
    assert content.choose_accept("image/png, */*", ("application/json",), "text/csv") == "text/csv"
    with pytest.raises(UnsupportedAcceptError, match="image/png"):
        content.choose_accept("image/png", ("application/json",), "text/csv")


@pytest.mark.parametrize("accept", ["application/json", "text/csv", "application/x-npy"])
def test_encode_decode_round_trip(accept):
    array = np.array([[1.5, -2.0, 3.25], [0.0, 1e-7, 42.0]])
    body, content_type = content.encode(array, accept)
    assert content_type == accept
    np.testing.assert_array_equal(content.decode(body, content_type), array)


def test_csv_of_one_row_is_a_matrix_and_strict():
    assert content.decode("1,2,3", "text/csv").shape == (1, 3)
    with pytest.raises(BadRequestError, match="not CSV of numbers"):
        content.decode("1,two,3", "text/csv")


def test_csv_encodes_a_vector_one_value_per_line_as_the_toolkit():
    assert content.encode(np.array([1.5, 2.0]), "text/csv")[0] == b"1.5\n2.0\n"


def test_npy_with_pickled_objects_is_refused():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(BadRequestError, match="without pickled"):
        content.decode(buf.getvalue(), "application/x-npy")


def test_npz_decodes_to_sparse():
    matrix = sp.csr_matrix(np.array([[0, 1.0], [2.0, 0]]))
    buf = io.BytesIO()
    sp.save_npz(buf, matrix)
    decoded = content.decode(buf.getvalue(), "application/x-npz")
    np.testing.assert_array_equal(decoded.toarray(), matrix.toarray())


def test_unknown_types_are_415_and_406():
    with pytest.raises(UnsupportedFormatError, match="image/png"):
        content.decode(b"..", "image/png")
    with pytest.raises(UnsupportedFormatError, match="none"):
        content.decode(b"..", None)
    with pytest.raises(UnsupportedAcceptError):
        content.encode(np.ones(2), "image/png")


def test_json_encodes_numpy_values():
    body, _ = content.encode({"a": np.float32(0.5), "b": np.arange(2)}, "application/json")
    assert json.loads(body) == {"a": 0.5, "b": [0, 1]}


# --- built-in formats ------------------------------------------------------------------------------
def test_read_csv_missing_values_and_errors():
    X = formats.read_csv(b"1,,3\n4,5,6\n")
    assert X.dtype == np.float32 and np.isnan(X[0, 1]) and X[1, 2] == 6
    with pytest.raises(BadRequestError, match="line 2"):
        formats.read_csv(b"1,2\n3,x\n")
    with pytest.raises(BadRequestError, match="line 2 has 3 values"):
        formats.read_csv(b"1,2\n3,4,5\n")
    with pytest.raises(BadRequestError, match="no rows"):
        formats.read_csv(b"\n")


def test_read_libsvm_with_and_without_labels():
    X = formats.read_libsvm(b"1 0:1.5 3:2\n2:4\n")
    assert X.shape == (2, 4)
    np.testing.assert_array_equal(X.toarray(), [[1.5, 0, 0, 2], [0, 0, 4, 0]])
    with pytest.raises(BadRequestError, match="line 1"):
        formats.read_libsvm(b"1 a:2\n")


def test_read_recordio_dense_and_sparse():
    buf = io.BytesIO()
    recordio.write_records(buf, np.array([[1, 2], [3, 4]], np.float32))
    np.testing.assert_array_equal(formats.read_recordio(buf.getvalue()), [[1, 2], [3, 4]])
    sparse = recordio.frame(recordio.encode_record(np.array([1.0, 4.0], np.float32),
                                                   keys=[0, 3], shape=[4]))
    np.testing.assert_array_equal(formats.read_recordio(sparse).toarray(), [[1, 0, 0, 4]])
    with pytest.raises(BadRequestError, match="RecordIO"):
        formats.read_recordio(b"not recordio at all")


def test_read_json_instances_in_every_documented_shape():
    dense = {"instances": [{"features": [1.5, 16.0]},
                           {"data": {"features": {"values": [2.0, 3.0]}}}]}
    np.testing.assert_array_equal(formats.read_json(json.dumps(dense)), [[1.5, 16], [2, 3]])
    sparse = {"instances": [{"data": {"features": {"keys": [1, 3], "shape": [5],
                                                   "values": [1, 4]}}}]}
    X = formats.read_json(json.dumps(sparse))
    assert sp.issparse(X) and X.shape == (1, 5)
    np.testing.assert_array_equal(X.toarray(), [[0, 1, 0, 4, 0]])
    lines = b'{"features": [1, 2]}\n{"data": {"features": {"values": [3, 4]}}}\n'
    np.testing.assert_array_equal(formats.read_jsonlines(lines), [[1, 2], [3, 4]])
    with pytest.raises(BadRequestError, match="different numbers"):
        formats.read_json('{"instances": [{"features": [1]}, {"features": [1, 2]}]}')
    with pytest.raises(BadRequestError, match="not valid JSON"):
        formats.read_json("{")


def test_responses_in_aws_shapes():
    records = [{"score": 0.4, "predicted_label": 0}]
    assert json.loads(formats.write_json(records)) == {"predictions": records}
    assert formats.write_jsonlines(records * 2) == (
        b'{"score": 0.4, "predicted_label": 0}\n' * 2)
    # inference-contract.md §5.3 test vector 3, byte for byte
    expected = bytes.fromhex(
        "0a23d7ce30000000121 10a0573636f7265120812060a04cdcccc3e121b0a0f7072656469637465645f"
        "6c6162656c120812060a0400000000".replace(" ", ""))
    assert formats.write_recordio([{"score": [0.4], "predicted_label": [0.0]}]) == expected
    decoded = recordio.decode_record(next(recordio.read_frames(io.BytesIO(expected))))
    assert decoded["features"] == {}
