"""Input objects as records (SplitType) and records as request bodies (BatchStrategy,
MaxPayloadInMB), as SageMaker's batch transform cuts them (inference-contract.md §12.3)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO, Iterator

_RECORDIO_MAGIC = 0xCED7230A


class SplitError(Exception):
    """The object cannot be cut into records as asked; the message says where."""


@dataclass(frozen=True)
class Record:
    number: int  # 1-based, in the object
    line: int    # the line it starts on (Line split), else 0
    data: bytes  # without its line terminator; a whole frame for RecordIO / TFRecord


def _lines(stream: BinaryIO) -> Iterator[Record]:
    number = 0
    for line_no, raw in enumerate(stream, 1):
        data = raw.rstrip(b"\r\n")
        # An empty line is no record: a trailing newline or a blank separator line would
        # otherwise reach the model as an empty request and fail the whole object.
        if not data.strip():
            continue
        number += 1
        yield Record(number, line_no, data)


def _read_exact(stream: BinaryIO, size: int, what: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise SplitError(f"the object ends inside a {what} frame")
    return data


def _recordio(stream: BinaryIO) -> Iterator[Record]:
    number = 0
    while True:
        head = stream.read(8)
        if not head:
            return
        if len(head) < 8:
            raise SplitError("the object ends inside a RecordIO frame header")
        magic, lrec = struct.unpack("<II", head)
        if magic != _RECORDIO_MAGIC:
            raise SplitError(f"RecordIO frame {number + 1} does not start with the magic "
                             "number 0xCED7230A; is the object RecordIO?")
        length = lrec & 0x1FFFFFFF
        body = _read_exact(stream, length + (4 - length % 4) % 4, "RecordIO")
        number += 1
        yield Record(number, 0, head + body)


def _tfrecord(stream: BinaryIO) -> Iterator[Record]:
    number = 0
    while True:
        head = stream.read(12)  # uint64 length + masked CRC of it
        if not head:
            return
        if len(head) < 12:
            raise SplitError("the object ends inside a TFRecord frame header")
        (length,) = struct.unpack("<Q", head[:8])
        body = _read_exact(stream, length + 4, "TFRecord")
        number += 1
        yield Record(number, 0, head + body)


def _whole(stream: BinaryIO) -> Iterator[Record]:
    yield Record(1, 1, stream.read())


def split(stream: BinaryIO, split_type: str | None) -> Iterator[Record]:
    kind = split_type or "None"
    if kind == "Line":
        return _lines(stream)
    if kind == "RecordIO":
        return _recordio(stream)
    if kind == "TFRecord":
        return _tfrecord(stream)
    return _whole(stream)


def body(records: list[Record], split_type: str | None) -> bytes:
    """The request body for a mini-batch: lines each end with a newline, frames are
    concatenated; a single record is sent as it is."""
    if len(records) == 1:
        return records[0].data
    if split_type == "Line":
        return b"".join(r.data + b"\n" for r in records)
    return b"".join(r.data for r in records)


def batches(records: Iterator[Record], *, multi: bool, max_bytes: int | None,
            split_type: str | None) -> Iterator[list[Record]]:
    """SingleRecord: one record per request. MultiRecord: as many whole records as fit in
    ``max_bytes`` (None: no limit). A record larger than the limit alone is an error either
    way, since no request could carry it."""
    extra = 1 if split_type == "Line" else 0
    batch: list[Record] = []
    size = 0
    for record in records:
        need = len(record.data) + extra
        if max_bytes is not None and len(record.data) > max_bytes:
            where = f"line {record.line}" if record.line else f"record {record.number}"
            raise SplitError(f"{where} is {len(record.data)} bytes, larger than MaxPayloadInMB "
                             f"({max_bytes >> 20} MB) allows for one request")
        if not multi:
            yield [record]
            continue
        if batch and max_bytes is not None and size + need > max_bytes:
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += need
    if batch:
        yield batch
