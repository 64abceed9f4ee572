"""The log store used by the engine and the Logs provider: groups, streams, events, paging."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from kamado.errors import AwsError
from kamado.store.logs import LogStore, compile_filter_pattern
from kamado.store.tables import log_events
from tests.conftest_store import ctx, db, db_url, west  # noqa: F401


@pytest.fixture
def logs(db):
    return LogStore(db)


@pytest.fixture
def stream(logs, ctx):
    logs.create_group(ctx, "/aws/sagemaker/TrainingJobs")
    logs.create_stream(ctx, "/aws/sagemaker/TrainingJobs", "job/algo-1")
    return "/aws/sagemaker/TrainingJobs", "job/algo-1"


def codes(fn) -> str:
    with pytest.raises(AwsError) as e:
        fn()
    return e.value.code


def messages(events) -> list[str]:
    return [e.message for e in events]


# --- groups and streams --------------------------------------------------------------------

def test_groups_are_unique_per_region_and_missing_ones_are_reported(logs, ctx, west):
    group = logs.create_group(ctx, "g", log_group_class="INFREQUENT_ACCESS")
    assert group.arn == "arn:aws:logs:us-east-1:000000000000:log-group:g"
    assert codes(lambda: logs.create_group(ctx, "g")) == "ResourceAlreadyExistsException"
    assert logs.create_group(ctx, "g", exist_ok=True).id == group.id
    assert codes(lambda: logs.get_group(west, "g")) == "ResourceNotFoundException"
    logs.create_group(west, "g")  # free in another region
    assert codes(lambda: logs.create_stream(ctx, "nope", "s")) == "ResourceNotFoundException"
    logs.create_stream(ctx, "g", "s")
    assert codes(lambda: logs.create_stream(ctx, "g", "s")) == "ResourceAlreadyExistsException"
    assert codes(lambda: logs.get_stream(ctx, "g", "other")) == "ResourceNotFoundException"


def test_describe_groups_prefix_substring_class_and_paging(logs, ctx):
    for name in ["/b/one", "/a/two", "/a/one", "/A/upper", "/c/one"]:
        logs.create_group(ctx, name, log_group_class="ESSENTIALS" if "c" in name else "STANDARD")
    everything, token = logs.describe_groups(ctx)
    assert [g.name for g in everything] == ["/A/upper", "/a/one", "/a/two", "/b/one", "/c/one"]
    assert token is None
    assert [g.name for g in logs.describe_groups(ctx, prefix="/a/")[0]] == ["/a/one", "/a/two"]
    assert [g.name for g in logs.describe_groups(ctx, contains="one")[0]] == [
        "/a/one", "/b/one", "/c/one"]
    assert [g.name for g in logs.describe_groups(ctx, contains="UP")[0]] == []  # case-sensitive
    assert [g.name for g in logs.describe_groups(ctx, group_class="INFREQUENT_ACCESS")[0]] == [
        "/c/one"]
    seen, token = [], None
    while True:
        page, token = logs.describe_groups(ctx, limit=2, next_token=token)
        seen += [g.name for g in page]
        if not token:
            break
    assert seen == [g.name for g in everything]
    assert codes(lambda: logs.describe_groups(ctx, next_token="bogus")) == "InvalidParameterException"


def test_describe_streams_by_name_and_by_last_event(logs, ctx):
    logs.create_group(ctx, "g")
    for name, ts in [("b", 300), ("a", 100), ("c", None), ("ab", 200)]:
        logs.create_stream(ctx, "g", name)
        if ts is not None:
            logs.put_events(ctx, "g", name, [(ts, "x")])
    by_name = lambda **kw: [s.name for s in logs.describe_streams(ctx, "g", **kw)[0]]  # noqa: E731
    assert by_name() == ["a", "ab", "b", "c"]
    assert by_name(prefix="a") == ["a", "ab"]
    assert by_name(descending=True) == ["c", "b", "ab", "a"]
    assert by_name(order_by="LastEventTime", descending=True) == ["b", "ab", "a", "c"]
    for kw in ({}, {"order_by": "LastEventTime"}, {"order_by": "LastEventTime", "descending": True}):
        seen, token = [], None
        while True:
            page, token = logs.describe_streams(ctx, "g", limit=1, next_token=token, **kw)
            seen += [s.name for s in page]
            if not token:
                break
        assert seen == by_name(**kw)


def test_deleting_a_group_removes_its_streams_and_events(db, logs, ctx, stream):
    group, name = stream
    logs.put_events(ctx, group, name, [(1, "a"), (2, "b")])
    logs.delete_group(ctx, group)
    with db.session(write=False) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(log_events)).scalar() == 0
    assert codes(lambda: logs.get_group(ctx, group)) == "ResourceNotFoundException"
    assert codes(lambda: logs.delete_group(ctx, group)) == "ResourceNotFoundException"


def test_deletion_protection(logs, ctx):
    logs.create_group(ctx, "kept", deletion_protection=True)
    assert codes(lambda: logs.delete_group(ctx, "kept")) == "ValidationException"
    assert logs.get_group(ctx, "kept").name == "kept"


# --- writing -------------------------------------------------------------------------------

def test_put_events_numbers_them_and_updates_the_stream(logs, ctx, stream):
    group, name = stream
    assert logs.put_events(ctx, group, name, [{"timestamp": 50, "message": "héllo"},
                                              {"timestamp": 70, "message": "b"}]) == 3
    assert logs.put_events(ctx, group, name, [(10, "early")]) == 4
    assert logs.put_events(ctx, group, name, []) == 4
    s = logs.get_stream(ctx, group, name)
    assert (s.first_event_timestamp, s.last_event_timestamp, s.next_sequence) == (10, 70, 4)
    assert s.stored_bytes == len("héllo".encode()) + 1 + 5
    assert s.last_ingestion_time is not None
    assert logs.get_group(ctx, group).stored_bytes == s.stored_bytes


def test_put_events_can_create_what_is_missing(logs, ctx):
    logs.put_events(ctx, "/new/group", "s", [(1, "x")], create=True)
    logs.put_events(ctx, "/new/group", "s", [(2, "y")], create=True)
    events, _, _ = logs.get_events(ctx, "/new/group", "s", start_from_head=True)
    assert messages(events) == ["x", "y"]
    assert codes(lambda: logs.put_events(ctx, "/other", "s", [(1, "x")])) == (
        "ResourceNotFoundException")


def test_concurrent_writers_get_distinct_contiguous_sequences(db, logs, ctx, stream):
    group, name = stream
    errors = []

    def write(worker: int):
        try:
            for i in range(10):
                logs.put_events(ctx, group, name, [(i, f"w{worker}-{i}a"), (i, f"w{worker}-{i}b")])
        except Exception as exc:  # collected, the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.session(write=False) as s:
        sequences = sorted(s.execute(sa.select(log_events.c.sequence)).scalars())
    assert sequences == list(range(1, 6 * 10 * 2 + 1))
    assert logs.get_stream(ctx, group, name).next_sequence == 121


# --- GetLogEvents ----------------------------------------------------------------------------

def test_get_events_from_head_and_tail_with_tokens(logs, ctx, stream):
    group, name = stream
    logs.put_events(ctx, group, name, [(t, f"m{t}") for t in range(10)])

    head, fwd, back = logs.get_events(ctx, group, name, start_from_head=True, limit=4)
    assert messages(head) == ["m0", "m1", "m2", "m3"]
    page, fwd, _ = logs.get_events(ctx, group, name, next_token=fwd, limit=4)
    assert messages(page) == ["m4", "m5", "m6", "m7"]
    page, fwd, _ = logs.get_events(ctx, group, name, next_token=fwd, limit=4)
    assert messages(page) == ["m8", "m9"]
    empty, same, _ = logs.get_events(ctx, group, name, next_token=fwd, limit=4)
    assert empty == [] and same == fwd  # nothing new: the same token comes back

    logs.put_events(ctx, group, name, [(20, "later")])
    page, _, _ = logs.get_events(ctx, group, name, next_token=fwd)
    assert messages(page) == ["later"]

    tail, _, back = logs.get_events(ctx, group, name, limit=3)  # the newest, oldest first
    assert messages(tail) == ["m8", "m9", "later"]
    page, _, back = logs.get_events(ctx, group, name, next_token=back, limit=3)
    assert messages(page) == ["m5", "m6", "m7"]
    _, _, back = logs.get_events(ctx, group, name, next_token=back, limit=5)
    empty, _, again = logs.get_events(ctx, group, name, next_token=back, limit=5)
    assert empty == [] and again == back

    first, _, _ = logs.get_events(ctx, group, name, start_from_head=True, limit=1)
    assert messages(first) == ["m0"]


def test_get_events_time_window_and_ordering(logs, ctx, stream):
    group, name = stream
    logs.put_events(ctx, group, name, [(100, "c"), (100, "d")])
    logs.put_events(ctx, group, name, [(50, "a"), (60, "b")])  # an older batch arrives later
    everything, _, _ = logs.get_events(ctx, group, name, start_from_head=True)
    assert messages(everything) == ["a", "b", "c", "d"]
    window, _, _ = logs.get_events(ctx, group, name, start_from_head=True,
                                   start_time=60, end_time=100)  # start inclusive, end exclusive
    assert messages(window) == ["b"]
    assert codes(lambda: logs.get_events(ctx, group, name, next_token="x/123")) == (
        "InvalidParameterException")
    assert codes(lambda: logs.get_events(ctx, group, "nope")) == "ResourceNotFoundException"


def test_an_empty_stream_still_gives_tokens(logs, ctx, stream):
    group, name = stream
    events, fwd, back = logs.get_events(ctx, group, name, start_from_head=True)
    assert events == [] and fwd.startswith("f/") and back.startswith("b/")
    logs.put_events(ctx, group, name, [(5, "first")])
    events, _, _ = logs.get_events(ctx, group, name, next_token=fwd)
    assert messages(events) == ["first"]


def test_a_page_stops_at_one_megabyte(logs, ctx, stream):
    group, name = stream
    big = "x" * 400_000
    logs.put_events(ctx, group, name, [(i, big) for i in range(4)])
    page, fwd, _ = logs.get_events(ctx, group, name, start_from_head=True)
    assert len(page) == 2
    rest, _, _ = logs.get_events(ctx, group, name, next_token=fwd)
    assert len(rest) == 2


# --- FilterLogEvents -----------------------------------------------------------------------

@pytest.mark.parametrize("pattern,message,expected", [
    ("", "anything", True),
    ("ERROR", "an ERROR here", True),
    ("ERROR", "an error here", False),  # case-sensitive
    ("ERROR disk", "ERROR: disk full", True),
    ("ERROR disk", "ERROR: memory", False),
    ('"disk full"', "ERROR: disk full", True),
    ('"disk full"', "full disk", False),
    ("?WARN ?ERROR", "a WARN", True),
    ("?WARN ?ERROR", "INFO only", False),
    ("ERROR -retry", "ERROR will retry", False),
    ("ERROR -retry", "ERROR final", True),
    ("%loss=0\\.[0-4]%", "epoch 3 loss=0.25", True),
    ("%loss=0\\.[0-4]%", "epoch 1 loss=0.5", False),
])
def test_filter_patterns(pattern, message, expected):
    assert compile_filter_pattern(pattern)(message) is expected


@pytest.mark.parametrize("pattern", ['{ $.level = "ERROR" }', "[ip, user]", '"unbalanced', "%[%"])
def test_unsupported_filter_patterns_are_invalid_parameters(pattern):
    with pytest.raises(AwsError) as e:
        compile_filter_pattern(pattern)
    assert e.value.code == "InvalidParameterException"


def test_filter_events_across_streams(logs, ctx):
    logs.create_group(ctx, "g")
    for stream in ("train/algo-1", "train/algo-2", "eval"):
        logs.create_stream(ctx, "g", stream)
    logs.put_events(ctx, "g", "train/algo-1", [(1, "epoch 1 loss"), (4, "epoch 2 loss")])
    logs.put_events(ctx, "g", "train/algo-2", [(2, "epoch 1 loss"), (3, "warning")])
    logs.put_events(ctx, "g", "eval", [(5, "epoch eval")])

    events, token = logs.filter_events(ctx, "g", pattern="epoch")
    assert [(e.timestamp, e.stream_name) for e in events] == [
        (1, "train/algo-1"), (2, "train/algo-2"), (4, "train/algo-1"), (5, "eval")]
    assert token is None
    events, _ = logs.filter_events(ctx, "g", stream_prefix="train/", start_time=2, end_time=4)
    assert messages(events) == ["epoch 1 loss", "warning", "epoch 2 loss"]  # both ends inclusive
    events, _ = logs.filter_events(ctx, "g", stream_names=["eval", "train/algo-2"], pattern="epoch")
    assert [e.timestamp for e in events] == [2, 5]
    events, _ = logs.filter_events(ctx, "g", start_from_head=False, limit=2)
    assert [e.timestamp for e in events] == [5, 4]


def test_filter_events_pages_only_while_more_match(logs, ctx, stream):
    group, name = stream
    logs.put_events(ctx, group, name, [(i, "hit" if i % 10 == 0 else "miss") for i in range(2500)])
    seen, token, pages = [], None, 0
    while True:
        events, token = logs.filter_events(ctx, group, pattern="hit", limit=100, next_token=token)
        seen += [e.timestamp for e in events]
        pages += 1
        if not token:
            break
    assert seen == list(range(0, 2500, 10))
    assert pages == 3  # 100 + 100 + 50, and no empty page at the end
    for direction in (True, False):
        _, token = logs.filter_events(ctx, group, limit=1, start_from_head=direction)
        with pytest.raises(AwsError) as e:
            logs.filter_events(ctx, group, next_token=token[:-2] + "xx")
        assert e.value.code == "InvalidParameterException"
    events, _ = logs.filter_events(ctx, group, pattern="hit", limit=2, start_from_head=False)
    assert [e.timestamp for e in events] == [2490, 2480]
