"""File-mode channels: each object copied whole into the channel directory."""

from __future__ import annotations

import gzip
import os

import pytest

from kamado.engine import channels
from kamado.engine.channels import SourceObject


@pytest.mark.parametrize("kernel_copy", [True, False], ids=["copy_file_range", "python"])
def test_download_copies_every_byte_and_gunzips(tmp_path, monkeypatch, kernel_copy):
    if not kernel_copy:
        monkeypatch.delattr(os, "copy_file_range", raising=False)
    body = os.urandom(5 * 1024 * 1024 + 3)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.bin").write_bytes(body)
    (tmp_path / "src" / "b.csv.gz").write_bytes(gzip.compress(b"1,2\n3,4\n"))
    target = tmp_path / "input" / "train"

    written = channels.download({"ChannelName": "train"}, [
        SourceObject(str(tmp_path / "src" / "a.bin"), "a.bin")], target, config=None,
        objects=None)
    assert written == len(body) and (target / "a.bin").read_bytes() == body

    channels.download({"ChannelName": "train", "CompressionType": "Gzip"}, [
        SourceObject(str(tmp_path / "src" / "b.csv.gz"), "b.csv.gz")], target, config=None,
        objects=None)
    assert (target / "b.csv").read_bytes() == b"1,2\n3,4\n"


def test_a_reading_program_gets_the_stored_bytes_linked_as_they_were(tmp_path):
    """kamado's own algorithms get hard links to the store's blobs: no copy, and still the
    bytes of the object as the job started, whatever is written under its key afterwards."""
    from kamado.storage.objectstore import ObjectStore

    objects = ObjectStore(tmp_path / "objects", fsync=False)
    objects.create_bucket("data", "us-east-1")
    objects.put_object("data", "train/a.csv", b"1,2\n")
    items = channels.list_channel(
        {"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://data/train/"}}},
        config=None, objects=objects, region="us-east-1", role="r", host_index=0, host_count=1)

    linked, copied = tmp_path / "linked", tmp_path / "copied"
    for target, link in ((linked, True), (copied, False)):
        assert channels.download({"ChannelName": "train"}, items, target, config=None,
                                 objects=objects, link=link) == 4
    blob = objects.get_object("data", "train/a.csv").path
    assert (linked / "a.csv").stat().st_ino == blob.stat().st_ino
    assert (copied / "a.csv").stat().st_ino != blob.stat().st_ino
    objects.put_object("data", "train/a.csv", b"5,6,7\n")
    assert (linked / "a.csv").read_bytes() == b"1,2\n" == (copied / "a.csv").read_bytes()
    assert objects.get_object("data", "train/a.csv").path.read_bytes() == b"5,6,7\n"
