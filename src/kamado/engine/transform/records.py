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


# --- whole lines at a time -------------------------------------------------------------------------
# What an empty line brings with it (LF or CRLF endings); a chunk with one is filtered line by
# line. A line of only spaces is sent as a record (searching megabytes for every kind of blank
# line costs more than the rest of the cut).
_MAYBE_BLANK = (b"\n\n", b"\n\r\n")


def _may_have_blank_lines(piece: bytes) -> bool:
    return piece[:1] in (b"\n", b"\r") or any(m in piece for m in _MAYBE_BLANK)
BLOCK = 8 * 1024 * 1024


@dataclass
class Chunk:
    """Whole lines of an object sent as one request body as they are: MultiRecord over Line
    splitting, when no data processing needs the records one by one. Cutting bytes at newlines
    instead of making an object per line is what lets a transform keep up with the model."""

    data: bytes      # whole lines, each ending in a newline, no blank ones
    first_line: int  # the line of the object the first of them is
    count: int       # records (lines) in it
    source: bytes = b""  # the lines as read, blank ones included, when that differs

    @property
    def lines(self) -> int:
        """Lines of the object it covers, blank ones included."""
        return self.source.count(b"\n") if self.source else self.count

    def records(self) -> list[Record]:
        """The lines as records, numbered as in the object (to find the one a model
        refuses)."""
        found = []
        for offset, raw in enumerate((self.source or self.data).split(b"\n")[:-1]):
            if raw.strip():
                found.append(Record(len(found) + 1, self.first_line + offset, raw.rstrip(b"\r")))
        return found


def _without_blank_lines(block: bytes) -> tuple[bytes, int]:
    """The block with blank lines taken out (they are no records), and how many were."""
    lines = block.split(b"\n")[:-1]
    kept = [line for line in lines if line.strip()]
    return b"".join(line + b"\n" for line in kept), len(lines) - len(kept)


def chunk_of(piece: bytes, first_line: int) -> Chunk | None:
    """Whole lines (each ending in a newline) as the request body the ordinary way sends
    for them; None when they are all blank."""
    lines = piece.count(b"\n")
    source, blanks = b"", 0
    if _may_have_blank_lines(piece):
        source = piece
        piece, blanks = _without_blank_lines(piece)
    return Chunk(piece, first_line, lines - blanks, source) if piece else None


def line_ranges(data, max_bytes: int | None) -> Iterator[tuple[int, int]]:
    """Where :func:`line_chunks` cuts an object whose bytes are ``data`` (a ``bytes`` or an
    ``mmap``), as ``(start, end)`` offsets, found without copying the lines: what lets batch
    transform's fast path hand a model server a file and the places to cut it. It follows
    line_chunks step by step, blocks included (where a block ends decides where an object's
    unterminated last line is cut). The last range may lack its newline (line_chunks adds
    one). A line larger than the limit is a SplitError that does not say which line
    (line_chunks says it)."""
    limit = max_bytes or BLOCK
    size = len(data)
    start = read = 0  # what line_chunks has cut, and read, so far
    while True:
        block = min(max(limit, BLOCK), size - read)
        read += block
        if start == read:
            return
        # at the end, the last line counts as ending with a newline
        end_of_data = read + (1 if not block and data[read - 1:read] != b"\n" else 0)
        while True:
            stop = min(start + limit + 1, end_of_data)
            end = (read if end_of_data > read and start <= read < stop
                   else data.rfind(b"\n", start, stop))
            if end < 0:
                if end_of_data - start > limit:
                    raise SplitError(f"a line is larger than MaxPayloadInMB ({limit >> 20} MB) "
                                     "allows for one request")
                break
            yield start, min(end + 1, size)
            start = end + 1
            if end_of_data - start <= limit and block:
                break
        if not block:
            if start < size:
                raise SplitError("the last line could not be read")
            return


def line_chunks(stream: BinaryIO, max_bytes: int | None) -> Iterator[Chunk]:
    """The object's lines in chunks of at most ``max_bytes`` (None: 8 MB), cut at newlines."""
    limit = max_bytes or BLOCK
    pending, line = b"", 1
    while True:
        block = stream.read(max(limit, BLOCK))
        data = pending + block
        if not data:
            return
        if not block and not data.endswith(b"\n"):
            data += b"\n"  # the last line of an object needs no newline of its own
        start = 0
        while True:
            end = data.rfind(b"\n", start, start + limit + 1)
            if end < 0:
                if len(data) - start > limit:
                    raise SplitError(f"line {line} is larger than MaxPayloadInMB "
                                     f"({limit >> 20} MB) allows for one request")
                break
            piece = data[start:end + 1]
            chunk = chunk_of(piece, line)
            if chunk is not None:
                yield chunk
            line += chunk.lines if chunk is not None else piece.count(b"\n")
            start = end + 1
            if len(data) - start <= limit and block:
                break
        pending = data[start:]
        if not block:
            if pending.strip():
                raise SplitError(f"line {line} could not be read")
            return
