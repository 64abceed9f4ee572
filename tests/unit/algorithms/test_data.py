"""The training-data readers every built-in algorithm shares: formats, channel layout, errors."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from kamado.algorithms import data, recordio
from kamado.algorithms.data import CSV, LIBSVM, PARQUET, RECORDIO, load_channel, \
    parse_content_type
from kamado.images.program import ClientError


def channel(tmp_path: Path, files: dict[str, bytes | str], name: str = "train") -> Path:
    root = tmp_path / name
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body.encode() if isinstance(body, str) else body)
    root.mkdir(parents=True, exist_ok=True)
    return root


def csv_text(X, y=None) -> str:
    M = X if y is None else np.column_stack([y, X])
    buf = io.StringIO()
    np.savetxt(buf, M, delimiter=",", fmt="%.9g")
    return buf.getvalue()


@pytest.fixture
def matrix():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    return X, y


@pytest.fixture
def small_slices(monkeypatch):
    """Slice even small files, so tests cover what the parallel path does on big ones."""
    monkeypatch.setattr(data, "_SMALL_FILE", 0)
    monkeypatch.setattr(data, "_SLICE_BYTES", 997)


# --- content types -------------------------------------------------------------------------------
@pytest.mark.parametrize("text,mime,options", [
    ("text/csv", CSV, {}),
    ("Text/CSV; label_size=0", CSV, {"label_size": "0"}),
    ("text/csv;charset=utf-8;Label_Size=1", CSV, {"charset": "utf-8", "label_size": "1"}),
    ("csv", CSV, {}),
    ("libsvm", LIBSVM, {}), ("text/x-libsvm", LIBSVM, {}), ("TEXT/LIBSVM", LIBSVM, {}),
    ("application/x-parquet", PARQUET, {}),
    ("application/x-recordio-protobuf", RECORDIO, {}),
])
def test_content_types_parse_case_insensitively(text, mime, options):
    assert parse_content_type(text, CSV) == (mime, options)


def test_a_missing_content_type_takes_the_default():
    assert parse_content_type(None, RECORDIO) == (RECORDIO, {})


def test_an_unknown_content_type_is_a_client_error():
    with pytest.raises(ClientError, match="application/json is not supported"):
        parse_content_type("application/json", CSV)


# --- CSV -----------------------------------------------------------------------------------------
def test_csv_label_first(tmp_path, matrix):
    X, y = matrix
    ds = load_channel(channel(tmp_path, {"d.csv": csv_text(X, y)}), "text/csv")
    assert ds.X.dtype == np.float32 and ds.X.flags.f_contiguous  # pandas' block, not copied
    assert np.array_equal(ds.X, X) and np.array_equal(ds.y, y) and ds.w is None


def test_csv_without_labels(tmp_path, matrix):
    X, _ = matrix
    ds = load_channel(channel(tmp_path, {"d.csv": csv_text(X)}), "text/csv;label_size=0")
    assert ds.y is None and np.array_equal(ds.X, X)


def test_csv_weights_are_the_second_column(tmp_path, matrix):
    X, y = matrix
    w = np.linspace(0.5, 2, len(y)).astype(np.float32)
    root = channel(tmp_path, {"d.csv": csv_text(np.column_stack([w, X]), y)})
    ds = load_channel(root, "text/csv", csv_weights=True)
    assert np.array_equal(ds.w, w) and np.array_equal(ds.X, X) and np.array_equal(ds.y, y)


def test_every_file_is_read_in_path_order_skipping_hidden_files_and_manifests(tmp_path, matrix):
    X, y = matrix
    root = channel(tmp_path, {
        "b/part-2.csv": csv_text(X[200:], y[200:]),
        "a.csv": csv_text(X[:100], y[:100]),
        "b/part-1.csv.gz": gzip.compress(csv_text(X[100:200], y[100:200]).encode()),
        ".hidden.csv": "not,data\n",
        ".cache/x.csv": "junk\n",
        "train-manifest": '[{"prefix": "s3://b/p/"}, "a.csv"]\n',
        "empty.csv": "",
    })
    ds = load_channel(root, "text/csv")
    assert np.array_equal(ds.X, X) and np.array_equal(ds.y, y)


def test_csv_slices_parse_to_the_same_matrix(tmp_path, matrix, small_slices):
    X, y = matrix
    text = csv_text(X, y).replace("\n", "\r\n", 5) + "\n\n"  # CRLF and blank lines too
    ds = load_channel(channel(tmp_path, {"d.csv": text}), "text/csv")
    assert np.array_equal(ds.X, X) and np.array_equal(ds.y, y)


def test_pandas_and_arrow_read_a_csv_channel_alike(tmp_path, monkeypatch):
    """pandas reads well-formed CSV (as a user's script would); Arrow takes whatever pandas
    does not (and names the bad line). Both give the same float32 arrays."""
    rng = np.random.default_rng(1)
    M = rng.normal(size=(5000, 8)) * 10.0 ** rng.integers(-8, 8, size=(5000, 8))
    M[::7, 3] = np.nan  # missing values in full rows stay with pandas
    text = csv_text(M[:, 1:], M[:, 0]).replace("nan", "", 40)
    root = channel(tmp_path, {"a.csv": text, "b/c.csv": text[: text.index("\n", 3000) + 1]})
    calls = []
    real = data._pandas_csv
    monkeypatch.setattr(data, "_pandas_csv", lambda path: calls.append(path) or real(path))
    by_pandas = load_channel(root, "text/csv;label_size=2")
    assert len(calls) == 2 and by_pandas.rows == 5000 + text[:3000].count("\n") + 1
    monkeypatch.setattr(data, "_pandas_csv", lambda path: None)
    by_arrow = load_channel(root, "text/csv;label_size=2")
    assert by_pandas.X.dtype == np.float32 and by_pandas.X.flags.f_contiguous
    assert by_pandas.X.shape == (by_pandas.rows, 6)
    assert np.array_equal(by_pandas.X, by_arrow.X, equal_nan=True)
    assert np.array_equal(by_pandas.y, by_arrow.y)


def test_csv_missing_values_are_nan(tmp_path):
    ds = load_channel(channel(tmp_path, {"d.csv": "1,2,,4\n0, 5 ,nan,NA\n"}), "text/csv")
    assert np.array_equal(ds.X, [[2, np.nan, 4], [5, np.nan, np.nan]], equal_nan=True)


def test_a_ragged_csv_row_names_the_file_and_line(tmp_path, small_slices):
    body = "".join(f"{i % 2},{i},{i * 2}\n" for i in range(200)) + "1,2\n" + "0,1,2\n" * 10
    with pytest.raises(ClientError) as err:
        load_channel(channel(tmp_path, {"sub/bad.csv": body}), "text/csv")
    assert str(err.value).startswith("CSV file sub/bad.csv: line 201 has 2 columns where the "
                                     "first line has 3")


def test_a_non_numeric_csv_value_names_the_file_line_and_column(tmp_path, small_slices):
    body = "1,2,3\n" * 150 + "0,abc,4\n" + "1,2,3\n"
    with pytest.raises(ClientError) as err:
        load_channel(channel(tmp_path, {"bad.csv": body}), "text/csv")
    assert str(err.value).startswith("CSV file bad.csv: column 2 is not numeric on line 151 "
                                     "('abc')")


def test_a_csv_header_is_reported_as_such(tmp_path):
    with pytest.raises(ClientError, match=r"column 1 is not numeric on line 1 \('label'\).*"
                                          "without a header"):
        load_channel(channel(tmp_path, {"h.csv": "label,f1\n1,2\n"}), "text/csv")


def test_csv_files_of_different_widths_are_refused(tmp_path):
    root = channel(tmp_path, {"a.csv": "1,2,3\n", "b.csv": "1,2\n"})
    with pytest.raises(ClientError, match="CSV file b.csv has 2 columns where a.csv has 3"):
        load_channel(root, "text/csv")


def test_an_empty_channel_is_a_client_error(tmp_path):
    with pytest.raises(ClientError, match="Channel train has no data"):
        load_channel(channel(tmp_path, {}), "text/csv")
    with pytest.raises(ClientError, match="Channel train has no data"):
        load_channel(channel(tmp_path, {"a.csv": "", "b.csv": "\n\n"}), "text/csv")
    with pytest.raises(ClientError, match="Channel validation has no data"):
        load_channel(tmp_path / "validation", "text/csv")


def test_a_label_size_that_is_not_a_number_is_refused(tmp_path):
    with pytest.raises(ClientError, match="label_size=x"):
        load_channel(channel(tmp_path, {"a.csv": "1,2\n"}), "text/csv;label_size=x")


# --- LibSVM --------------------------------------------------------------------------------------
def libsvm_text(X: sp.csr_matrix, y) -> str:
    lines = []
    for i in range(X.shape[0]):
        row = X.getrow(i)
        pairs = " ".join(f"{j}:{v:.9g}" for j, v in zip(row.indices, row.data))
        lines.append(f"{y[i]:g} {pairs}".rstrip())
    return "\n".join(lines) + "\n"


def test_libsvm_zero_based_sparse(tmp_path, small_slices):
    X = sp.random(200, 50, density=0.1, random_state=2, format="csr", dtype=np.float32)
    y = np.arange(200) % 3
    ds = load_channel(channel(tmp_path, {"d.libsvm": libsvm_text(X, y)}), "text/libsvm")
    assert sp.issparse(ds.X) and ds.X.dtype == np.float32
    width = X.indices.max() + 1
    assert ds.X.shape == (200, width) and (ds.X != X[:, :width]).nnz == 0
    assert np.array_equal(ds.y, y) and ds.w is None and ds.qid is None


def test_libsvm_weights_qid_comments_and_odd_spacing(tmp_path):
    text = ("# a comment line\n"
            "1:0.5 qid:1 0:1.5 3:2\n"
            "\t0   qid:1\t2:-1e-3 # trailing comment\r\n"
            "\n"
            "1:2 qid:2 1:7\n"
            "0 qid:2\n")
    ds = load_channel(channel(tmp_path, {"d.txt": text}), "libsvm")
    assert np.array_equal(ds.y, [1, 0, 1, 0])
    assert np.array_equal(ds.w, [0.5, 1, 2, 1])
    assert np.array_equal(ds.qid, [1, 1, 2, 2])
    assert np.allclose(ds.X.toarray(), [[1.5, 0, 0, 2], [0, 0, -1e-3, 0], [0, 7, 0, 0],
                                        [0, 0, 0, 0]])


@pytest.mark.parametrize("line", ["1 2 3:4", "1 a:2", "1 -1:2", "1 1.5:2", "1 2::3", "1 2:3:4",
                                  "x 1:2", "1 2:"])
def test_a_malformed_libsvm_line_names_the_file_and_line(tmp_path, line, small_slices):
    body = "1 0:1 1:2\n" * 120 + line + "\n" + "0 0:1\n"
    with pytest.raises(ClientError) as err:
        load_channel(channel(tmp_path, {"bad.libsvm": body}), "text/libsvm")
    assert str(err.value).startswith(f"LibSVM file bad.libsvm, line 121: {line!r}")


# --- Parquet -------------------------------------------------------------------------------------
def test_parquet_label_first_any_numeric_types(tmp_path, matrix):
    X, y = matrix
    table = pa.table({"label": y.astype(np.int64), "a": X[:, 0].astype(np.float64),
                      **{f"f{i}": X[:, i] for i in range(1, 6)}})
    root = tmp_path / "train"
    root.mkdir()
    pq.write_table(table.slice(0, 120), root / "part-0.parquet")
    pq.write_table(table.slice(120), root / "part-1.parquet")
    ds = load_channel(root, "application/x-parquet")
    assert np.array_equal(ds.X, X) and np.array_equal(ds.y, y)


def test_a_text_parquet_column_is_refused(tmp_path):
    root = tmp_path / "train"
    root.mkdir()
    pq.write_table(pa.table({"y": [1.0], "name": ["a"]}), root / "p.parquet")
    with pytest.raises(ClientError, match="column 'name' has type string"):
        load_channel(root, "application/x-parquet")


def test_a_corrupt_parquet_file_is_named(tmp_path):
    with pytest.raises(ClientError, match="Could not read Parquet file p.parquet"):
        load_channel(channel(tmp_path, {"p.parquet": b"PAR1 not really"}), PARQUET)


# --- RecordIO-protobuf ---------------------------------------------------------------------------
def test_recordio_dense_and_sparse_files_stack(tmp_path, matrix):
    X, y = matrix
    dense, sparse = io.BytesIO(), io.BytesIO()
    recordio.write_records(dense, X[:100], y[:100])
    recordio.write_records(sparse, sp.csr_matrix(X[100:]), y[100:])
    root = channel(tmp_path, {"a.pbr": dense.getvalue(), "b.pbr": sparse.getvalue()})
    ds = load_channel(root, None, default=RECORDIO)
    assert np.allclose(sp.csr_matrix(ds.X).toarray(), X) and np.array_equal(ds.y, y)


def test_a_corrupt_recordio_file_is_named(tmp_path):
    with pytest.raises(ClientError, match="RecordIO-protobuf file x.pbr is not valid"):
        load_channel(channel(tmp_path, {"x.pbr": b"\x01\x02\x03\x04" * 4}), RECORDIO)
