"""Batch transform's fast path on a built-in model server, without a server: the strict CSV
reader, the XGBoost handlers' ``batch_fn`` and the ranges a server reads from a file. Each
must answer exactly what ``/invocations`` answers for the same mini-batch — the same bytes —
or decline, never something else."""

from __future__ import annotations

import io

import numpy as np
import pytest
import xgboost as xgb

from kamado.algorithms.xgboost import inference as xi
from kamado.algorithms.xgboost.callbacks import save
from kamado.engine.transform import records
from kamado.serving import batch, formats
from kamado.serving.context import Context
from kamado.serving.handlers import Handlers

RNG = np.random.default_rng(7)
FEATURES = 5


def matrix(rows: int, missing: float = 0.1) -> np.ndarray:
    X = (RNG.normal(size=(rows, FEATURES)) * RNG.choice([0.01, 1, 300], FEATURES)).astype(
        np.float32)
    X[RNG.random(X.shape) < missing] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 1.0  # a row of nothing is left to the ordinary way
    return X


def csv(X: np.ndarray, fmt: str = "%.6g") -> bytes:
    """Rows as a user writes them: NaN as an empty field."""
    buf = io.StringIO()
    np.savetxt(buf, X, delimiter=",", fmt=fmt)
    return buf.getvalue().replace("nan", "").encode()


def bits(X: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(X, np.float32).view(np.uint32)


def strict(body: bytes):
    """The fast path's reading of a whole mini-batch."""
    width = formats.csv_lines_width(body)
    return None if width is None else formats.read_csv_lines(memoryview(body), width)


def answered(lines_fn, body: bytes):
    """A built-in's batch_fn answer for a whole mini-batch."""
    prepared = lines_fn.prepare(body)
    return None if prepared is None else lines_fn.answer(memoryview(body), prepared)


# --- the strict reader ----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["%.6g", "%.9g", "%.3f", "%d", "%.17g"])
def test_the_strict_reader_reads_what_the_ordinary_reader_reads(fmt):
    X = matrix(6000)
    if fmt == "%d":
        X = np.nan_to_num(X * 1000)
    body = csv(X, fmt)
    got = strict(body)
    assert got is not None, "clean rows are for the fast path"
    np.testing.assert_array_equal(bits(got), bits(formats.read_csv(body)))
    # CRLF line endings and an object's last line read the same
    crlf = body.replace(b"\n", b"\r\n")
    np.testing.assert_array_equal(bits(strict(crlf)), bits(got))


@pytest.mark.parametrize("change", [
    pytest.param(lambda b: b[:1000], id="too small for Arrow"),
    pytest.param(lambda b: b.replace(b"\n", b"\n\n", 1), id="an empty line"),
    pytest.param(lambda b: b.replace(b"\n", b"\n\r\n", 1), id="a CRLF empty line"),
    pytest.param(lambda b: b.replace(b"\n", b"\n   \n", 1), id="a line of spaces"),
    pytest.param(lambda b: b"\n" + b, id="an empty first line"),
    pytest.param(lambda b: b.replace(b"\n", b"\n\r", 1), id="an empty CR line"),
    pytest.param(lambda b: b + b"\n", id="an empty last line"),
    pytest.param(lambda b: b.replace(b"\n", b"\n,,,,\n", 1), id="a row of nothing"),
    pytest.param(lambda b: b'"1.5"' + b[b.index(b","):], id="a quoted field"),
    pytest.param(lambda b: b"NA" + b[b.index(b","):], id="NA"),
    pytest.param(lambda b: b"null" + b[b.index(b","):], id="null"),
    pytest.param(lambda b: b.replace(b"\n", b",1\n", 1), id="a longer row"),
    pytest.param(lambda b: b"a,b,c,d,e\n" + b, id="a header"),
    pytest.param(lambda b: b.replace(b",", b";"), id="one column"),
])
def test_the_strict_reader_leaves_everything_else_to_the_ordinary_way(change):
    body = csv(np.nan_to_num(matrix(6000)))
    assert strict(body) is not None
    assert strict(change(body)) is None


def test_the_smallest_range_is_where_the_ordinary_reader_switches_to_arrow():
    assert batch.SMALLEST_RANGE == formats._ARROW_CSV_BYTES


# --- batch_fn -------------------------------------------------------------------------------------
def booster(params: dict, y, rounds: int = 8) -> xgb.Booster:
    tree = {} if params.get("booster") == "gblinear" else {"max_depth": 4}
    return xgb.train({**params, **tree, "seed": 1}, xgb.DMatrix(matrix(800), label=y), rounds)


def model_dir(tmp_path, *boosters) -> str:
    tmp_path.mkdir(parents=True, exist_ok=True)
    for i, b in enumerate(boosters):
        save(b, tmp_path / ("xgboost-model" + (f"-{i}" if i else "")))
    return str(tmp_path)


def invocations(model, body: bytes, accept: str = "text/csv") -> bytes:
    """What /invocations answers: the handlers' own invoke, as the server calls it."""
    handlers = Handlers.from_modules(None, xi)
    return handlers.invoke(model, body, "text/csv", accept, Context({}, ""))[0]


def binary_labels(n=800):
    return (RNG.random(n) > 0.5).astype(float)


MODELS = {
    "binary": lambda: [booster({"objective": "binary:logistic"}, binary_labels())],
    "softprob": lambda: [booster({"objective": "multi:softprob", "num_class": 3},
                                 RNG.integers(0, 3, 800))],
    "regression": lambda: [booster({"objective": "reg:squarederror"}, RNG.normal(size=800))],
    "softmax ensemble": lambda: [booster({"objective": "multi:softmax", "num_class": 3},
                                         RNG.integers(0, 3, 800)) for _ in range(3)],
    "binary ensemble": lambda: [booster({"objective": "binary:logistic"}, binary_labels())
                                for _ in range(2)],
}


@pytest.fixture
def batch_env(monkeypatch):
    for var in ("SAGEMAKER_INFERENCE_OUTPUT", "SAGEMAKER_INFERENCE_ENSEMBLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SAGEMAKER_BATCH", "true")
    return monkeypatch


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_batch_fn_answers_what_invocations_answers(tmp_path, batch_env, kind):
    model = xi.model_fn(model_dir(tmp_path, *MODELS[kind]()))
    body = csv(matrix(4000))
    lines_fn = xi.batch_fn(model, "text/csv", "text/csv")
    assert lines_fn is not None
    assert answered(lines_fn, body) == (invocations(model, body), 4000)
    # in parts, joined: the same
    cut = body.index(b"\n", len(body) // 3) + 1
    first = lines_fn.answer(memoryview(body)[:cut], FEATURES)
    rest = lines_fn.answer(memoryview(body)[cut:], FEATURES)
    assert (first[0] + rest[0], first[1] + rest[1]) == (invocations(model, body), 4000)


def test_batch_fn_with_selected_outputs_and_best_iteration(tmp_path, batch_env):
    X, y = matrix(800), binary_labels()
    early = xgb.train({"objective": "binary:logistic", "seed": 1}, xgb.DMatrix(X, label=y), 60,
                      evals=[(xgb.DMatrix(matrix(200), label=binary_labels(200)), "v")],
                      early_stopping_rounds=3, verbose_eval=False)
    assert early.attr("best_iteration") is not None
    batch_env.setenv("SAGEMAKER_INFERENCE_OUTPUT", "predicted_label,probabilities")
    model = xi.model_fn(model_dir(tmp_path, early))
    body = csv(matrix(3000))
    assert answered(xi.batch_fn(model, "text/csv; charset=utf-8", "text/csv"), body) == (
        invocations(model, body), 3000)


def test_batch_fn_is_for_csv_answers_of_tree_models_in_batch_only(tmp_path, batch_env):
    tree = xi.model_fn(model_dir(tmp_path / "tree", booster({"objective": "binary:logistic"},
                                                           binary_labels())))
    assert xi.batch_fn(tree, None, "text/csv") is not None  # CSV is XGBoost's default type
    assert xi.batch_fn(tree, "text/csv", "text/csv, application/json") is not None
    assert xi.batch_fn(tree, "text/csv", "application/json") is None
    assert xi.batch_fn(tree, "text/csv", "application/jsonlines") is None
    assert xi.batch_fn(tree, "text/csv", "image/png") is None  # /invocations answers 406
    assert xi.batch_fn(tree, "text/libsvm", "text/csv") is None
    linear = xi.model_fn(model_dir(tmp_path / "linear", booster(
        {"objective": "binary:logistic", "booster": "gblinear"}, binary_labels())))
    assert xi.batch_fn(linear, "text/csv", "text/csv") is None  # not thread-safe
    assert xi.batch_fn(object(), "text/csv", "text/csv") is None  # a script's own model
    batch_env.delenv("SAGEMAKER_BATCH")
    single = xi.model_fn(model_dir(tmp_path / "tree", booster({"objective": "binary:logistic"},
                                                             binary_labels())))
    assert xi.batch_fn(single, "text/csv", "text/csv") is None  # comma-separated, no newlines


def test_batch_fn_leaves_rows_invocations_refuses_to_it(tmp_path, batch_env):
    model = xi.model_fn(model_dir(tmp_path, booster({"objective": "binary:logistic"},
                                                    binary_labels())))
    lines_fn = xi.batch_fn(model, "text/csv", "text/csv")
    X = np.nan_to_num(matrix(4000))
    assert answered(lines_fn, csv(X)) is not None
    assert answered(lines_fn, csv(X[:, :-1])) is None  # too few features: a 400 there
    body = csv(X)
    assert lines_fn.answer(memoryview(body), FEATURES - 1) is None  # rows of another width
    X[17, 2] = np.inf
    assert answered(lines_fn, csv(X)) is None  # a DMatrix refuses infinity
    assert answered(lines_fn, b"1,abc" + csv(X)[3:]) is None


def test_only_the_builtin_handlers_have_the_fast_path():
    assert Handlers.from_modules(None, xi).batch_fn is xi.batch_fn
    script = type(xi)("inference")
    script.predict_fn = lambda data, model: model.predict(data)
    assert Handlers.from_modules(script, xi).batch_fn is None


# --- ranges of a file -----------------------------------------------------------------------------
@pytest.fixture
def served(tmp_path, batch_env):
    model = xi.model_fn(model_dir(tmp_path, booster({"objective": "binary:logistic"},
                                                    binary_labels())))
    lines = csv(matrix(30000)).splitlines(keepends=True)
    while True:  # an object whose last mini-batch is too small for Arrow, as most are
        data = b"".join(lines)[:-1]  # and whose last line has no newline
        ranges = list(records.line_ranges(data, 128 * 1024))
        if ranges[-1][1] - ranges[-1][0] < batch.SMALLEST_RANGE:
            break
        lines.pop()
    path = tmp_path / "rows.csv"
    path.write_bytes(data)
    assert len(ranges) > 4
    return model, path, data, ranges


def ordinary(model, data: bytes, max_bytes: int) -> bytes:
    """The ordinary way: the object cut by the job, each mini-batch sent to /invocations."""
    return b"".join(invocations(model, chunk.data)
                    for chunk in records.line_chunks(io.BytesIO(data), max_bytes))


def test_parts_are_runs_of_whole_lines():
    lines = b"".join(b"x" * n + b"\n" for n in RNG.integers(0, 50, 500).tolist())
    lines += b"y" * 300 + b"\n"  # longer than a part
    cuts = list(batch.parts(lines, 64))
    assert b"".join(lines[a:b] for a, b in cuts) == lines
    assert all(lines[b - 1:b] == b"\n" for a, b in cuts) and len(cuts) > 100
    assert [(a, b) for a, b in cuts if b - a > 64] == [(len(lines) - 301, len(lines))]


@pytest.mark.parametrize("threads, part", [(1, None), (2, None), (3, None), (2, 10_000)])
def test_a_request_answers_its_ranges_in_order_as_the_ordinary_way(served, threads, part,
                                                                   monkeypatch):
    if part:
        monkeypatch.setattr(batch, "PART_BYTES", part)  # each range in a dozen parts
    model, path, data, ranges = served
    *large, last = ranges
    assert last[1] - last[0] < batch.SMALLEST_RANGE  # the job sends that to /invocations
    request = {"path": str(path), "ranges": large, "threads": threads,
               "content_type": "text/csv"}
    body, count, size = batch.answer(xi.batch_fn, model, request, "text/csv", None)
    assert size == len(body)
    rest = invocations(model, data[last[0]:] + b"\n")
    assert count + rest.count(b"\n") == data.count(b"\n") + 1
    assert body + rest == ordinary(model, data, 128 * 1024)
    part = {**request, "ranges": ranges[1:3]}
    body, count, _ = batch.answer(xi.batch_fn, model, part, "text/csv", None)
    assert body == b"".join(invocations(model, data[a:b]) for a, b in ranges[1:3])
    with pytest.raises(batch.Declined):  # Arrow is not the reader for it the ordinary way
        batch.answer(xi.batch_fn, model, {**request, "ranges": [last]}, "text/csv", None)
    # a large last mini-batch without its newline: the server ends it, as the job does
    end = ranges[2][1] - 1
    path.write_bytes(data[:end])
    body, _, _ = batch.answer(xi.batch_fn, model, {**request, "ranges": [*ranges[:2], (
        ranges[2][0], end)]}, "text/csv", None)
    assert body == b"".join(invocations(model, data[a:b]) for a, b in ranges[:3])


def test_a_request_writes_its_answers_into_the_jobs_part_file(served, tmp_path):
    model, path, data, ranges = served
    part = tmp_path / "part.out"
    part.write_bytes(b"answers so far\n")
    request = {"path": str(path), "ranges": ranges[:-1], "threads": 2,
               "output": str(part), "offset": 15}
    body, count, size = batch.answer(xi.batch_fn, model, request, "text/csv", None)
    assert body == b""
    expected = b"".join(invocations(model, data[a:b]) for a, b in ranges[:-1])
    assert (count, size) == (expected.count(b"\n"), len(expected))
    assert part.read_bytes() == b"answers so far\n" + expected


def test_a_request_declines_what_it_cannot_answer_exactly(served, tmp_path):
    model, path, data, ranges = served
    request = {"path": str(path), "ranges": ranges, "threads": 2, "content_type": "text/csv"}
    with pytest.raises(batch.Declined) as e:
        batch.answer(xi.batch_fn, model, request, "application/json", None)
    assert e.value.status == 501  # not for this job at all
    request["ranges"] = ranges[:-1]
    with pytest.raises(batch.Declined) as e:  # /invocations answers 413 for the ranges
        batch.answer(xi.batch_fn, model, request, "text/csv", 100_000)
    assert e.value.status == 409
    with pytest.raises(batch.Declined):
        batch.answer(xi.batch_fn, model, {**request, "ranges": [[0, len(data) + 1]]},
                     "text/csv", None)
    with pytest.raises(batch.Declined):
        batch.answer(xi.batch_fn, model, {**request, "path": str(tmp_path / "gone")},
                     "text/csv", None)
    with pytest.raises(batch.Declined):
        batch.answer(xi.batch_fn, model, {"ranges": ranges}, "text/csv", None)
    with pytest.raises(batch.Declined):  # the part file is the job's: it must be there
        batch.answer(xi.batch_fn, model, {**request, "output": str(tmp_path / "nowhere")},
                     "text/csv", None)
    # a bad record in the fourth range: the job then sends them to /invocations, which names it
    start, end = ranges[3]
    bad = data[:start + 10] + b"abc" + data[start + 13:]
    path.write_bytes(bad)
    with pytest.raises(batch.Declined, match=f"bytes {start}-{end}"):
        batch.answer(xi.batch_fn, model, request, "text/csv", None)
