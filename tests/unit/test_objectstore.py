"""The built-in object store, called directly: buckets, objects, listings, multipart, and what
survives a failed or crashed write."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest

from kamado.errors import AwsError
from kamado.gateway.http import FileRange, Payload
from kamado.storage.objectstore import CompletedPart, ObjectStore

MIB = 1024 * 1024


def code(fn) -> str:
    with pytest.raises(AwsError) as e:
        fn()
    return e.value.code


def payload(directory: Path, data: bytes) -> Payload:
    """A request body as the gateway leaves it: spooled to a file, digests computed."""
    path = directory / f"spool-{hashlib.sha1(data).hexdigest()[:12]}-{os.urandom(4).hex()}"
    path.write_bytes(data)
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    return Payload(path, len(data), hashlib.md5(data).hexdigest(), {"CRC32": crc})


def blob_files(root: Path) -> list[Path]:
    return [p for p in (root / "blobs").rglob("*") if p.is_file()]


@pytest.fixture(params=[True, False], ids=["fsync", "no-fsync"])
def store(tmp_path, request):
    """Both durability settings keep the same behaviour; only power-loss safety differs."""
    s = ObjectStore(tmp_path / "objects", fsync=request.param)
    assert s.blobs.fsync is request.param
    assert s.index._conn.execute("PRAGMA synchronous").fetchone()[0] == (2 if request.param else 1)
    s.create_bucket("bkt")
    yield s
    s.close()


def keys_of(listing) -> list[str]:
    return [o.key for o in listing.objects]


# --- buckets ---------------------------------------------------------------------------------

def test_bucket_lifecycle(tmp_path):
    with ObjectStore(tmp_path / "s") as s:
        info = s.create_bucket("my-bucket.1", "eu-west-1", owner="111111111111")
        assert (info.name, info.region) == ("my-bucket.1", "eu-west-1")
        assert s.head_bucket("my-bucket.1").region == "eu-west-1"
        assert code(lambda: s.create_bucket("my-bucket.1", owner="111111111111")) == (
            "BucketAlreadyOwnedByYou")
        assert code(lambda: s.create_bucket("my-bucket.1", owner="222222222222")) == (
            "BucketAlreadyExists")
        s.create_bucket("another", "us-east-1")
        buckets, truncated = s.list_buckets()
        assert [b.name for b in buckets] == ["another", "my-bucket.1"] and not truncated
        page, truncated = s.list_buckets(limit=1)
        assert [b.name for b in page] == ["another"] and truncated
        assert [b.name for b in s.list_buckets(start_after="another")[0]] == ["my-bucket.1"]
        assert [b.name for b in s.list_buckets(region="us-east-1")[0]] == ["another"]
        s.delete_bucket("another")
        err = pytest.raises(AwsError, s.head_bucket, "another").value
        assert (err.code, err.status, err.fields["BucketName"]) == ("NoSuchBucket", 404, "another")


@pytest.mark.parametrize("name", ["ab", "a" * 64, "Upper", "under_score", "-lead", "trail-",
                                  "192.168.1.1", "two..dots", "dot.-dash", "xn--punycode",
                                  "name-s3alias", ""])
def test_invalid_bucket_names(tmp_path, name):
    with ObjectStore(tmp_path / "s") as s:
        err = pytest.raises(AwsError, s.create_bucket, name).value
        assert (err.code, err.status) == ("InvalidBucketName", 400)


def test_bucket_not_empty_counts_objects_and_pending_uploads(store):
    store.put_object("bkt", "k", b"x")
    err = pytest.raises(AwsError, store.delete_bucket, "bkt").value
    assert (err.code, err.status) == ("BucketNotEmpty", 409)
    store.delete_object("bkt", "k")
    upload = store.create_upload("bkt", "pending")
    assert code(lambda: store.delete_bucket("bkt")) == "BucketNotEmpty"
    store.abort_upload("bkt", "pending", upload.upload_id)
    store.delete_bucket("bkt")
    assert code(lambda: store.head_bucket("bkt")) == "NoSuchBucket"


# --- objects ---------------------------------------------------------------------------------

def test_put_get_head_delete(store, tmp_path):
    body = payload(tmp_path, b"hello world")
    info = store.put_object("bkt", "dir/a.txt", body, content_type="text/plain",
                            metadata={"owner": "kamado"},
                            headers={"CacheControl": "no-cache", "ContentLanguage": "en"},
                            checksums={"CRC32": body.checksums["CRC32"]},
                            checksum_type="FULL_OBJECT")
    assert not body.path.exists()  # moved into place, not copied
    assert info.etag == '"%s"' % hashlib.md5(b"hello world").hexdigest()
    got = store.get_object("bkt", "dir/a.txt")
    assert got.path.read_bytes() == b"hello world"
    assert (got.size, got.content_type, got.metadata) == (11, "text/plain", {"owner": "kamado"})
    assert got.headers == {"CacheControl": "no-cache", "ContentLanguage": "en"}
    assert got.checksums == {"CRC32": body.checksums["CRC32"]}
    assert got.last_modified.microsecond == 0 and got.last_modified.tzinfo is not None
    assert store.read_object("bkt", "dir/a.txt", 6, 5) == b"world"
    assert store.head_object("bkt", "dir/a.txt").etag == info.etag
    assert store.delete_object("bkt", "dir/a.txt") is True
    assert store.delete_object("bkt", "dir/a.txt") is False  # idempotent
    err = pytest.raises(AwsError, store.get_object, "bkt", "dir/a.txt").value
    assert (err.code, err.status, err.fields["Key"]) == ("NoSuchKey", 404, "dir/a.txt")
    assert code(lambda: store.get_object("nope", "k")) == "NoSuchBucket"
    assert code(lambda: store.put_object("nope", "k", b"")) == "NoSuchBucket"
    assert blob_files(store.root) == []


def test_defaults_and_empty_objects(store):
    info = store.put_object("bkt", "empty", None)
    assert info.size == 0 and info.etag == '"d41d8cd98f00b204e9800998ecf8427e"'
    assert store.get_object("bkt", "empty").content_type == "binary/octet-stream"
    assert store.get_object("bkt", "empty").path.read_bytes() == b""


def test_overwrite_removes_the_old_blob(store):
    store.put_object("bkt", "k", b"one")
    first = store.get_object("bkt", "k").path
    store.put_object("bkt", "k", b"two")
    assert not first.exists()
    assert store.read_object("bkt", "k") == b"two"
    assert len(blob_files(store.root)) == 1


def test_key_length_limit(store):
    ok = "é" * 512  # 1024 bytes in UTF-8
    store.put_object("bkt", ok, b"x")
    assert store.read_object("bkt", ok) == b"x"
    err = pytest.raises(AwsError, store.put_object, "bkt", ok + "a", b"x").value
    assert (err.code, err.status) == ("KeyTooLongError", 400)


@pytest.mark.parametrize("key", ["../../etc/passwd", "/abs", "a/../../b", "..", "./x", "/",
                                 "a", "a/b", "a/b/", "ünï/cødé ✓", "back\\slash", "nul\x01"])
def test_keys_never_reach_outside_the_root(tmp_path, key):
    root = tmp_path / "deep" / "objects"
    before = {p for p in tmp_path.rglob("*")}
    with ObjectStore(root) as s:
        s.create_bucket("bkt")
        s.put_object("bkt", key, key.encode())
        assert s.read_object("bkt", key) == key.encode()
        assert keys_of(s.list_objects("bkt")) == [key]
        assert s.get_object("bkt", key).path.parent.parent == root / "blobs"
    created = {p for p in tmp_path.rglob("*")} - before
    assert all(p == root.parent or root in p.parents or p == root for p in created), created
    assert not (tmp_path / "etc").exists() and not Path("/abs").exists()


def test_a_and_a_slash_b_coexist(store):
    store.put_object("bkt", "a", b"file a")
    store.put_object("bkt", "a/b", b"file a/b")
    assert store.read_object("bkt", "a") == b"file a"
    assert store.read_object("bkt", "a/b") == b"file a/b"


def test_copy_object_keeps_or_replaces_metadata(store):
    store.put_object("bkt", "src", b"payload", content_type="text/csv", metadata={"a": "1"},
                     headers={"ContentEncoding": "gzip"})
    copied = store.copy_object("bkt", "src", "bkt", "dst")
    got = store.get_object("bkt", "dst")
    assert (got.content_type, got.metadata, got.headers) == ("text/csv", {"a": "1"},
                                                             {"ContentEncoding": "gzip"})
    assert copied.etag == store.get_object("bkt", "src").etag
    replaced = store.copy_object("bkt", "src", "bkt", "dst2", replace_metadata=True,
                                 metadata={"b": "2"})
    assert (replaced.content_type, replaced.metadata, replaced.headers) == (
        "binary/octet-stream", {"b": "2"}, {})
    # Copies share nothing a delete could break.
    store.delete_object("bkt", "src")
    assert store.read_object("bkt", "dst") == b"payload"
    assert store.read_object("bkt", "dst2") == b"payload"
    assert code(lambda: store.copy_object("bkt", "src", "bkt", "x")) == "NoSuchKey"
    assert code(lambda: store.copy_object("bkt", "dst", "nope", "x")) == "NoSuchBucket"


def test_copy_check_sees_the_source(store):
    store.put_object("bkt", "src", b"v1")
    seen = []
    store.copy_object("bkt", "src", "bkt", "dst", check=lambda s: seen.append(s.etag))
    assert seen == [store.get_object("bkt", "src").etag]

    def refuse(src):
        raise AwsError("no", code="PreconditionFailed", status=412)

    assert code(lambda: store.copy_object("bkt", "src", "bkt", "dst3", check=refuse)) == (
        "PreconditionFailed")
    assert code(lambda: store.get_object("bkt", "dst3")) == "NoSuchKey"


def test_conditional_writes(store):
    store.put_object("bkt", "k", b"v1", if_none_match="*")
    assert code(lambda: store.put_object("bkt", "k", b"v2", if_none_match="*")) == (
        "PreconditionFailed")
    etag = store.get_object("bkt", "k").etag
    assert code(lambda: store.put_object("bkt", "k", b"v2", if_match='"0000"')) == (
        "PreconditionFailed")
    store.put_object("bkt", "k", b"v2", if_match=etag)
    assert store.read_object("bkt", "k") == b"v2"
    assert code(lambda: store.put_object("bkt", "missing", b"v", if_match=etag)) == "NoSuchKey"
    assert len(blob_files(store.root)) == 1  # refused writes left no bytes behind


def test_delete_many(store):
    for k in ("a", "b", "c"):
        store.put_object("bkt", k, k.encode())
    results = store.delete_objects("bkt", ["a", "missing", "c", "x" * 2000])
    assert [(k, e.code if e else None) for k, e in results] == [
        ("a", None), ("missing", None), ("c", None), ("x" * 2000, "KeyTooLongError")]
    assert keys_of(store.list_objects("bkt")) == ["b"]


# --- listing ---------------------------------------------------------------------------------

KEYS = ["a/1", "a/2", "a/b/3", "c", "z z", "ü/x", "é", "\U0001f600", "aa", "a-"]


@pytest.fixture
def listed(store):
    for k in KEYS:
        store.put_object("bkt", k, k.encode())
    return store


def test_listing_is_in_utf8_byte_order(listed):
    assert keys_of(listed.list_objects("bkt")) == sorted(KEYS, key=lambda k: k.encode())
    # Python's str order differs from byte order for astral characters vs U+FFFF, say;
    # é (C3 A9) < ü (C3 BC) < 😀 (F0 9F ..) in both here, so check the bytes outright.
    raw = [k.encode() for k in keys_of(listed.list_objects("bkt"))]
    assert raw == sorted(raw)


def test_prefix_and_delimiter(listed):
    top = listed.list_objects("bkt", delimiter="/")
    assert top.prefixes == ["a/", "ü/"]
    assert keys_of(top) == ["a-", "aa", "c", "z z", "é", "\U0001f600"]
    under = listed.list_objects("bkt", prefix="a/", delimiter="/")
    assert keys_of(under) == ["a/1", "a/2"] and under.prefixes == ["a/b/"]
    assert keys_of(listed.list_objects("bkt", prefix="a")) == ["a-", "a/1", "a/2", "a/b/3", "aa"]
    assert keys_of(listed.list_objects("bkt", prefix="nothing")) == []
    # A multi-character delimiter rolls up too.
    assert listed.list_objects("bkt", prefix="a", delimiter="/b").prefixes == ["a/b"]


@pytest.mark.parametrize("delimiter", ["", "/"])
@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_paging_visits_everything_once(listed, delimiter, size):
    seen, marker = [], None
    for _ in range(50):
        page = listed.list_objects("bkt", delimiter=delimiter, max_keys=size, marker=marker)
        seen += keys_of(page) + page.prefixes
        assert len(page.objects) + len(page.prefixes) <= size
        if not page.truncated:
            break
        marker = page.last
    whole = listed.list_objects("bkt", delimiter=delimiter)
    assert sorted(seen, key=str.encode) == sorted(keys_of(whole) + whole.prefixes, key=str.encode)
    assert len(seen) == len(set(seen))


def test_start_after_marker(listed):
    assert keys_of(listed.list_objects("bkt", marker="c")) == ["z z", "é", "ü/x", "\U0001f600"]
    assert keys_of(listed.list_objects("bkt", prefix="a/", marker="a/1")) == ["a/2", "a/b/3"]
    # A marker before the prefix starts at the prefix; one past it lists nothing.
    assert keys_of(listed.list_objects("bkt", prefix="a/", marker="0")) == ["a/1", "a/2", "a/b/3"]
    assert keys_of(listed.list_objects("bkt", prefix="a/", marker="b")) == []
    # Resuming after a common prefix skips everything under it.
    page = listed.list_objects("bkt", delimiter="/", marker="a/")
    assert "a/" not in page.prefixes and keys_of(page)[0] == "aa"


def test_max_keys_zero_and_truncation_flag(listed):
    page = listed.list_objects("bkt", max_keys=0)
    assert (page.objects, page.prefixes, page.truncated) == ([], [], False)
    assert listed.list_objects("bkt", max_keys=len(KEYS)).truncated is False
    assert listed.list_objects("bkt", max_keys=len(KEYS) - 1).truncated is True


def test_listing_many_keys_under_common_prefixes(store):
    # More keys than one fetch batch under one prefix: the walk jumps past them.
    for i in range(30):
        store.put_object("bkt", f"big/{i:03d}", b"")
    store.put_object("bkt", "small/x", b"")
    store.put_object("bkt", "top", b"")
    page = store.list_objects("bkt", delimiter="/", max_keys=2)
    assert page.prefixes == ["big/", "small/"] and page.truncated
    rest = store.list_objects("bkt", delimiter="/", max_keys=2, marker=page.last)
    assert keys_of(rest) == ["top"] and not rest.truncated


# --- multipart -------------------------------------------------------------------------------

def test_multipart_happy_path_with_s3_etag(store, tmp_path):
    parts_data = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"tail"]
    upload = store.create_upload("bkt", "big.bin", content_type="application/x-thing",
                                 metadata={"m": "v"})
    etags = []
    for n, data in enumerate(parts_data, start=1):
        part = store.upload_part("bkt", "big.bin", upload.upload_id, n, payload(tmp_path, data))
        etags.append(part.etag)
    info = store.complete_upload("bkt", "big.bin", upload.upload_id,
                                 [CompletedPart(n, e) for n, e in enumerate(etags, start=1)])
    expected = hashlib.md5(b"".join(hashlib.md5(d).digest() for d in parts_data)).hexdigest()
    assert info.etag == f'"{expected}-3"'
    got = store.get_object("bkt", "big.bin")
    assert got.path.read_bytes() == b"".join(parts_data)
    assert (got.content_type, got.metadata, got.part_sizes) == (
        "application/x-thing", {"m": "v"}, [5 * MIB, 5 * MIB, 4])
    assert store.list_uploads("bkt").uploads == []
    assert len(blob_files(store.root)) == 1  # the part files are gone
    assert code(lambda: store.list_parts("bkt", "big.bin", upload.upload_id)) == "NoSuchUpload"


def test_reuploading_a_part_replaces_it(store):
    upload = store.create_upload("bkt", "k")
    store.upload_part("bkt", "k", upload.upload_id, 1, b"first")
    second = store.upload_part("bkt", "k", upload.upload_id, 1, b"second")
    _, parts, _ = store.list_parts("bkt", "k", upload.upload_id)
    assert [(p.part_number, p.etag, p.size) for p in parts] == [(1, second.etag, 6)]
    assert len(blob_files(store.root)) == 1
    store.complete_upload("bkt", "k", upload.upload_id, [CompletedPart(1, second.etag)])
    assert store.read_object("bkt", "k") == b"second"


def test_multipart_refusals(store):
    upload = store.create_upload("bkt", "k")
    uid = upload.upload_id
    small = store.upload_part("bkt", "k", uid, 1, b"a" * 10)
    big = store.upload_part("bkt", "k", uid, 2, b"b" * (5 * MIB))
    last = store.upload_part("bkt", "k", uid, 3, b"c")

    def complete(parts):
        return lambda: store.complete_upload("bkt", "k", uid, parts)

    err = pytest.raises(AwsError, complete([CompletedPart(1, small.etag),
                                            CompletedPart(4, last.etag)])).value
    assert (err.code, err.status) == ("InvalidPart", 400)
    assert code(complete([CompletedPart(1, big.etag)])) == "InvalidPart"  # wrong ETag
    err = pytest.raises(AwsError, complete([CompletedPart(2, big.etag),
                                            CompletedPart(1, small.etag)])).value
    assert (err.code, err.status) == ("InvalidPartOrder", 400)
    assert code(complete([CompletedPart(2, big.etag), CompletedPart(2, big.etag)])) == (
        "InvalidPartOrder")
    err = pytest.raises(AwsError, complete([CompletedPart(1, small.etag),
                                            CompletedPart(2, big.etag)])).value
    assert (err.code, err.status) == ("EntityTooSmall", 400)
    assert code(complete([])) == "MalformedXML"
    for bad in (0, 10001):
        assert code(lambda: store.upload_part("bkt", "k", uid, bad, b"x")) == "InvalidArgument"
    assert code(lambda: store.upload_part("bkt", "k", "no-such-id", 1, b"x")) == "NoSuchUpload"
    assert code(lambda: store.upload_part("bkt", "other-key", uid, 1, b"x")) == "NoSuchUpload"
    # Refusals changed nothing: the upload is intact and completes with a valid list.
    info = store.complete_upload("bkt", "k", uid, [CompletedPart(2, big.etag),
                                                   CompletedPart(3, last.etag)])
    assert info.size == 5 * MIB + 1 and info.etag.endswith('-2"')
    assert len(blob_files(store.root)) == 1  # the unused part 1 went too


def test_interrupted_upload_is_listed_then_aborted(store):
    uid = store.create_upload("bkt", "partial").upload_id
    other = store.create_upload("bkt", "dir/other").upload_id
    store.upload_part("bkt", "partial", uid, 1, b"a" * 1024)
    store.upload_part("bkt", "partial", uid, 2, b"b" * 1024)
    assert code(lambda: store.get_object("bkt", "partial")) == "NoSuchKey"
    listing = store.list_uploads("bkt")
    assert [(u.key, u.upload_id) for u in listing.uploads] == [("dir/other", other),
                                                               ("partial", uid)]
    rolled = store.list_uploads("bkt", delimiter="/")
    assert rolled.prefixes == ["dir/"] and [u.key for u in rolled.uploads] == ["partial"]
    first = store.list_uploads("bkt", max_uploads=1)
    assert first.truncated and first.next_key_marker == "dir/other"
    rest = store.list_uploads("bkt", key_marker=first.next_key_marker,
                              upload_id_marker=first.next_upload_id_marker)
    assert [u.upload_id for u in rest.uploads] == [uid]
    _, parts, truncated = store.list_parts("bkt", "partial", uid, max_parts=1)
    assert [p.part_number for p in parts] == [1] and truncated
    _, parts, truncated = store.list_parts("bkt", "partial", uid, marker=1)
    assert [p.part_number for p in parts] == [2] and not truncated

    store.abort_upload("bkt", "partial", uid)
    assert code(lambda: store.abort_upload("bkt", "partial", uid)) == "NoSuchUpload"
    assert [u.upload_id for u in store.list_uploads("bkt").uploads] == [other]
    assert blob_files(store.root) == []


def test_several_uploads_of_one_key_page_by_upload_id(store):
    ids = [store.create_upload("bkt", "same").upload_id for _ in range(3)]
    seen, key_marker, id_marker = [], "", ""
    while True:
        page = store.list_uploads("bkt", key_marker=key_marker, upload_id_marker=id_marker,
                                  max_uploads=1)
        seen += [u.upload_id for u in page.uploads]
        if not page.truncated:
            break
        key_marker, id_marker = page.next_key_marker, page.next_upload_id_marker
    assert sorted(seen) == sorted(ids) and len(seen) == 3


def test_upload_part_copy_from_a_range(store):
    store.put_object("bkt", "src", b"0123456789")
    uid = store.create_upload("bkt", "dst").upload_id
    part, src = store.copy_part("bkt", "dst", uid, 1, "bkt", "src", lambda s: (2, 5))
    assert part.size == 5 and src.key == "src"
    store.complete_upload("bkt", "dst", uid, [CompletedPart(1, part.etag)])
    assert store.read_object("bkt", "dst") == b"23456"


# --- failures, crashes and concurrency -------------------------------------------------------

def test_vanished_payload_leaves_the_old_object(store, tmp_path):
    store.put_object("bkt", "k", b"old")
    body = payload(tmp_path, b"new")
    body.path.unlink()  # the spool file is gone before it could be moved into place
    err = pytest.raises(AwsError, store.put_object, "bkt", "k", body).value
    assert (err.code, err.status) == ("IncompleteBody", 400)
    assert store.read_object("bkt", "k") == b"old"


def test_short_payload_is_refused(store, tmp_path):
    store.put_object("bkt", "k", b"old")
    body = payload(tmp_path, b"new data")
    body.path.write_bytes(b"new")  # fewer bytes than the request declared
    assert code(lambda: store.put_object("bkt", "k", body)) == "IncompleteBody"
    assert store.read_object("bkt", "k") == b"old"


def test_write_failing_midway_leaves_no_trace(store, monkeypatch, tmp_path):
    store.put_object("bkt", "k", b"old")

    def chunks():
        yield b"partial"
        raise OSError("disk went away")

    source = tmp_path / "src"
    source.write_bytes(b"x" * 100)
    monkeypatch.setattr("kamado.storage.objectstore.read_range", lambda *a, **k: chunks())
    with pytest.raises(OSError):
        store.put_object("bkt", "k", FileRange(source, 0, 100))
    monkeypatch.undo()
    assert store.read_object("bkt", "k") == b"old"
    assert list((store.root / "tmp").iterdir()) == []
    assert len(blob_files(store.root)) == 1


_CRASH = """
import os, sys
from kamado.storage.objectstore import ObjectStore
store = ObjectStore(sys.argv[1])
def crash(*args, **kwargs):
    os._exit(17)  # the process dies after the blob is renamed, before the index commits
store._commit_object = crash
(store.blobs.tmp / "spool-leftover").write_bytes(b"half a request")
store.put_object("bkt", "k", b"new version")
"""


def test_crash_between_rename_and_commit(tmp_path):
    root = tmp_path / "objects"
    with ObjectStore(root) as s:
        s.create_bucket("bkt")
        s.put_object("bkt", "k", b"old version")
    proc = subprocess.run([sys.executable, "-c", _CRASH, str(root)], capture_output=True)
    assert proc.returncode == 17, proc.stderr.decode()
    assert len(blob_files(root)) == 2  # the new blob reached blobs/ but no row names it
    with ObjectStore(root) as s:
        assert s.read_object("bkt", "k") == b"old version"
        assert s.swept == (1, 1)
        assert len(blob_files(root)) == 1
        assert list((root / "tmp").iterdir()) == []


def test_second_opener_does_not_sweep_live_files(tmp_path):
    root = tmp_path / "objects"
    with ObjectStore(root) as first:
        inflight = first.blobs.tmp_file("spool")
        inflight.write_bytes(b"being received")
        with ObjectStore(root) as second:
            assert second.swept == (0, 0)
            assert inflight.exists()
    with ObjectStore(root) as alone:
        assert alone.swept == (1, 0) and not inflight.exists()


def test_concurrent_writers_and_readers(store):
    errors = []

    def writer(n):
        try:
            for i in range(20):
                store.put_object("bkt", f"k{i % 3}", f"{n}-{i}".encode() * 100)
                store.put_object("bkt", f"own/{n}/{i}", b"x")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader():
        try:
            for _ in range(40):
                for i in range(3):
                    try:
                        data = store.read_object("bkt", f"k{i}")
                    except AwsError as exc:
                        assert exc.code == "NoSuchKey"
                        continue
                    unit = data[:len(data) // 100]
                    assert data == unit * 100  # one whole version, never a mix
                store.list_objects("bkt", delimiter="/")
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(keys_of(store.list_objects("bkt", prefix="own/"))) == 80
    # Every object has exactly its own blob: nothing leaked, nothing shared wrongly.
    assert len(blob_files(store.root)) == 83
