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
