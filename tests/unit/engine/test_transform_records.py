"""Batch transform's pieces without a server: records, mini-batches, JSONPath filters and
joins."""

from __future__ import annotations

import io
import json
import struct

import pytest

from kamado.engine.transform import records
from kamado.engine.transform.jsonpath import JsonPath, PathError
from kamado.engine.transform.processing import DataProcessing, ProcessingError, per_record


def _frame(payload: bytes) -> bytes:
    return struct.pack("<II", 0xCED7230A, len(payload)) + payload + b"\0" * ((4 - len(payload) % 4) % 4)


def test_lines_skip_blank_lines_and_keep_line_numbers():
    got = list(records.split(io.BytesIO(b"a,1\r\n\nb,2\n  \nc,3"), "Line"))
    assert [(r.number, r.line, r.data) for r in got] == [(1, 1, b"a,1"), (2, 3, b"b,2"),
                                                         (3, 5, b"c,3")]


def test_recordio_frames_are_whole_records():
    data = _frame(b"abc") + _frame(b"defgh")
    got = list(records.split(io.BytesIO(data), "RecordIO"))
    assert [r.data for r in got] == [_frame(b"abc"), _frame(b"defgh")]
    with pytest.raises(records.SplitError, match="magic"):
        list(records.split(io.BytesIO(b"x" * 8), "RecordIO"))
    with pytest.raises(records.SplitError, match="ends inside"):
        list(records.split(io.BytesIO(data[:-2]), "RecordIO"))


def test_multi_record_batches_fill_the_payload_limit():
    recs = list(records.split(io.BytesIO(b"".join(b"%03d\n" % i for i in range(10))), "Line"))
    batches = list(records.batches(iter(recs), multi=True, max_bytes=12, split_type="Line"))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert records.body(batches[0], "Line") == b"000\n001\n002\n"
    single = list(records.batches(iter(recs), multi=False, max_bytes=12, split_type="Line"))
    assert len(single) == 10 and records.body(single[0], "Line") == b"000"
    with pytest.raises(records.SplitError, match="line 1 is 3 bytes"):
        list(records.batches(iter(recs), multi=True, max_bytes=2, split_type="Line"))


def test_line_ranges_cut_where_line_chunks_cuts(monkeypatch):
    """Batch transform's fast path hands a model server the places line_chunks would cut an
    object at; any other cut could change what a model reads (the reader a mini-batch gets
    depends on its size), so they must be the same, blocks, blank lines, unterminated last
    lines and lines over the limit included."""
    import random

    rng = random.Random(5)
    lines = [b"", b"1", b"1,2", b"123,45", b" ", b"\r", b"abcdefghij", b"x" * 17]
    compared = 0
    for _ in range(3000):
        monkeypatch.setattr(records, "BLOCK", rng.choice([4, 8, 16, 33]))
        limit = rng.choice([None, 3, 5, 8, 16, 40])
        data = b"\n".join(rng.choice(lines) for _ in range(rng.randint(0, 50)))
        data += rng.choice([b"", b"\n"])
        if rng.random() < 0.2:
            data = data.replace(b"\n", b"\r\n")
        try:
            want = [(c.data, c.count) for c in records.line_chunks(io.BytesIO(data), limit)]
        except records.SplitError:
            with pytest.raises(records.SplitError):
                list(records.line_ranges(data, limit))
            continue
        got = []
        for start, end in records.line_ranges(data, limit):
            piece = data[start:end]
            chunk = records.chunk_of(piece if piece.endswith(b"\n") else piece + b"\n", 0)
            if chunk is not None:
                got.append((chunk.data, chunk.count))
        assert got == want, (records.BLOCK, limit, data)
        compared += bool(want)
    assert compared > 500


@pytest.mark.parametrize("path, value, expected", [
    ("$", [1, 2, 3], [1, 2, 3]),
    ("$[1:]", ["id", 1, 2], [1, 2]),
    ("$[:2]", [0, 1, 2], [0, 1]),
    ("$[0,-1]", ["id", 1, 2, 0.9], ["id", 0.9]),
    ("$[2]", [0, 1, 2], 2),
    ("$.features", {"id": 1, "features": [1, 2]}, [1, 2]),
    ("$['id','SageMakerOutput']", {"id": 1, "x": 2, "SageMakerOutput": {"s": 1}},
     {"id": 1, "SageMakerOutput": {"s": 1}}),
    ("$.SageMakerOutput.score", {"SageMakerOutput": {"score": 0.5}}, 0.5),
    ("$[*].a", [{"a": 1}, {"a": 2}], [1, 2]),
])
def test_jsonpath_subset(path, value, expected):
    assert JsonPath(path).apply(value) == expected


@pytest.mark.parametrize("path", ["features", "$..a", "$[1:2:3]", "$[a]", "$.a["])
def test_jsonpath_refuses_what_it_does_not_read(path):
    with pytest.raises(PathError):
        JsonPath(path)


def test_an_index_outside_the_record_is_an_error():
    with pytest.raises(PathError, match="index 5 is outside"):
        JsonPath("$[5]").apply([1, 2])


def test_csv_join_keeps_the_input_text_and_filters_the_joined_row():
    p = DataProcessing({"InputFilter": "$[1:]", "JoinSource": "Input",
                        "OutputFilter": "$[0,-1]"}, "text/csv")
    original = p.parse_input(b'id-7,"1.50",2')
    assert p.select_input(original) == b"1.50,2"
    assert p.finish(original, b"0.25", "csv") == b"id-7,0.25"


def test_json_join_puts_the_output_under_sagemaker_output():
    p = DataProcessing({"JoinSource": "Input"}, "application/jsonlines")
    assert json.loads(p.finish({"id": 1}, b'{"score": 0.5}', "json")) == {
        "id": 1, "SageMakerOutput": {"score": 0.5}}
    assert json.loads(p.finish([1, 2], b"0.5", "json")) == {
        "SageMakerInput": [1, 2], "SageMakerOutput": 0.5}
    with pytest.raises(ProcessingError, match="already has a SageMakerOutput"):
        p.finish({"SageMakerOutput": 1}, b"2", "json")


def test_a_multi_record_answer_is_cut_per_record():
    assert per_record(b"0.1\n0.2\n", 2, "csv") == [b"0.1", b"0.2"]
    assert [json.loads(x) for x in per_record(
        b'{"predictions": [{"score": 1}, {"score": 2}]}', 2, "json")] == [{"score": 1},
                                                                          {"score": 2}]
    with pytest.raises(ProcessingError, match="cannot be matched"):
        per_record(b"0.1\n", 2, "csv")
