"""The built-in XGBoost server's batch transform fast path over HTTP (``POST /kamado/batch``,
kamado's own route): the bytes it answers for ranges of a file are the bytes
``/invocations`` answers for the same mini-batches, with several workers and threads; it
declines what it cannot answer that way, and exists only in a batch transform's servers."""

from __future__ import annotations

import io
import json
import signal

import numpy as np
import pytest

from kamado.engine.transform import records
from kamado.serving import batch

from tests.integration.serving.conftest import Container, make_job, train

LIMIT = 256 * 1024  # MaxPayloadInMB, scaled down: a dozen mini-batches
TOKEN = "the-jobs-own-token"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, features):
    base = tmp_path_factory.mktemp("xgb-batch") / "job"
    y = (features[:, 0] - features[:, 1] > 0).astype(np.float32)
    make_job(base, {"objective": "binary:logistic", "num_round": 10, "max_depth": 3}, features, y)
    train("xgboost", base)
    return base


@pytest.fixture(scope="module")
def batch_server(trained):
    # as a transform job with MaxConcurrentTransforms=2 starts it
    container = Container("xgboost", trained, {"SAGEMAKER_BATCH": "true",
                                                "SAGEMAKER_MODEL_SERVER_WORKERS": "2",
                                                "KAMADO_BATCH_TOKEN": TOKEN}).start()
    yield container
    assert container.stop() in (0, -signal.SIGTERM)


@pytest.fixture(scope="module")
def rows_file(tmp_path_factory):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(40000, 6)).astype(np.float32)
    X[rng.random(X.shape) < 0.05] = np.nan
    buf = io.StringIO()
    np.savetxt(buf, X, delimiter=",", fmt="%.7g")
    data = buf.getvalue().replace("nan", "").encode()
    path = tmp_path_factory.mktemp("rows") / "rows.csv"
    path.write_bytes(data)
    return path, data


def fast(server: Container, path, ranges, accept=None, threads=2, **more):
    return server.request("POST", batch.ROUTE, json.dumps(
        {"path": str(path), "ranges": ranges, "threads": threads, "content_type": "text/csv",
         "accept": accept, "token": TOKEN, **more}).encode(),
        {"Content-Type": "application/json"})


def invocations(server: Container, data: bytes, ranges) -> bytes:
    bodies = []
    for a, b in ranges:
        status, _, body = server.invoke(data[a:b], "text/csv")
        assert status == 200, body
        bodies.append(body)
    return b"".join(bodies)


def test_ranges_of_a_file_answer_what_invocations_answers(batch_server, rows_file):
    path, data = rows_file
    ranges = [r for r in records.line_ranges(data, LIMIT)
              if r[1] - r[0] >= batch.SMALLEST_RANGE]
    assert len(ranges) > 6
    for threads in (1, 2):
        status, headers, body = fast(batch_server, path, ranges, threads=threads)
        assert status == 200, body
        assert body == invocations(batch_server, data, ranges)
        assert int(headers[batch.RECORDS_HEADER.lower()]) == body.count(b"\n")
        assert int(headers[batch.BYTES_HEADER.lower()]) == len(body)
    status, _, body = fast(batch_server, path, ranges[3:5], accept="text/csv")
    assert status == 200 and body == invocations(batch_server, data, ranges[3:5])


def test_answers_written_into_the_jobs_part_file(batch_server, rows_file, tmp_path):
    path, data = rows_file
    ranges = list(records.line_ranges(data, LIMIT))[2:6]
    part = tmp_path / "part.out"
    part.write_bytes(b"0.5\n")
    status, headers, body = fast(batch_server, path, ranges, output=str(part), offset=4)
    assert status == 200 and body == b""
    expected = invocations(batch_server, data, ranges)
    assert part.read_bytes() == b"0.5\n" + expected
    assert int(headers[batch.BYTES_HEADER.lower()]) == len(expected)


def test_what_the_fast_path_declines(batch_server, rows_file, tmp_path):
    path, data = rows_file
    ranges = list(records.line_ranges(data, LIMIT))[:3]
    status, _, body = fast(batch_server, path, ranges, accept="application/json")
    assert status == 501, body  # the job then sends every record to /invocations
    blank = tmp_path / "blank.csv"
    blank.write_bytes(data[:ranges[1][0]] + b"\n" + data[ranges[1][0]:])
    status, _, body = fast(batch_server, blank, [(ranges[1][0], ranges[1][1] + 1)])
    assert status == 409, body  # these ranges go to /invocations
    status, _, _ = fast(batch_server, tmp_path / "none.csv", ranges)
    assert status == 409
    assert batch_server.request("GET", batch.ROUTE)[0] == 405
    assert batch_server.request("POST", batch.ROUTE, b"not json")[0] == 400
    # it reads and writes files: only for the job that started the server
    part = tmp_path / "part.out"
    part.write_bytes(b"")
    for token in ("", "guessed"):
        assert fast(batch_server, path, ranges, token=token, output=str(part))[0] == 403
    assert part.read_bytes() == b""
    # the server keeps answering both ways
    status, _, body = fast(batch_server, path, ranges)
    assert status == 200 and body == invocations(batch_server, data, ranges)


@pytest.mark.parametrize("env", [
    {"KAMADO_BATCH_TOKEN": TOKEN},
    {"SAGEMAKER_BATCH": "true", "KAMADO_BATCH_TOKEN": TOKEN, "KAMADO_BATCH_FAST_PATH": "false"},
    {"SAGEMAKER_BATCH": "true"},
], ids=["an endpoint's server", "turned off", "started without a token"])
def test_only_a_batch_servers_have_the_route(trained, rows_file, env):
    path, data = rows_file
    server = Container("xgboost", trained, env).start()
    try:
        status, _, _ = fast(server, path, list(records.line_ranges(data, LIMIT))[:2])
        assert status == 404  # as any path that is not the container contract's
        assert server.invoke(b"1,2,3,4,5,6", "text/csv")[0] == 200
    finally:
        server.stop()
