"""Batch transform's fast path, on kamado's own built-in model servers: ``POST /kamado/batch``.

Not part of the container contract (which is ``/invocations``, and what every other server
gets): a kamado-internal route that a transform job uses when the model server is one of
kamado's built-in algorithms and the input is an object of kamado's own store, which is a
file on this machine. Instead of cutting the object into request bodies and sending each one
over HTTP, the job sends the file's path and the byte ranges of its mini-batches (cut exactly
where the ordinary way would cut them); the server reads each range from the file itself,
answers the mini-batches in parts of a couple of megabytes on up to ``threads`` threads at
once (every step — Arrow's reader, XGBoost's prediction, Arrow's formatting — runs outside
the GIL), and answers with their bodies concatenated in order. What that saves: the job
reading, copying and cutting the object, every body crossing a socket twice, one worker
idle while the other parses, and a thread waiting for the last mini-batch.

The handlers say what they can answer this way (``batch_fn``, see
:func:`kamado.algorithms.xgboost.inference.batch_fn`): exactly the bytes ``/invocations``
would answer for the same mini-batch, or nothing. Anything they do not answer — another
format, a blank line, a quoted field, a bad record — makes the whole request answer 409, and
the job sends those mini-batches the ordinary way, which gives the same answer or the same
error as it always has. The route exists only in a batch transform's servers
(``SAGEMAKER_BATCH``), and only for the built-in handlers (never a user's script): 404
elsewhere (``KAMADO_BATCH_FAST_PATH=false`` in the job's Environment too), 501 when these
handlers cannot answer this job's types at all. It reads and writes files the server's user
can, on a loopback port any local user can reach: a request must carry the token the job
gave the server in ``KAMADO_BATCH_TOKEN`` (403 otherwise), and a server without one has no
such route.

Request (JSON): ``{"path": "...", "ranges": [[start, end], ...], "content_type": "text/csv",
"accept": null, "threads": 2, "output": "...", "offset": 0, "token": "..."}``; a range's
lines end with a newline, but for the object's last line, to which the server adds one as
the job does. The answers are written to ``output`` (the job's part file, from ``offset``)
as they come, or, without it, sent back. Response: 200 with ``X-Kamado-Records`` (how many
records they answer) and ``X-Kamado-Bytes`` (how many bytes); 409 or 501 with the reason as
text (the job then sends the object the ordinary way, from the start, to a part file of its
own).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Callable, Iterator

ROUTE = "/kamado/batch"
RECORDS_HEADER = "X-Kamado-Records"
BYTES_HEADER = "X-Kamado-Bytes"
# A range smaller than this is read by numpy's parser, not Arrow's, the ordinary way
# (kamado.serving.formats), so the job sends it to /invocations instead.
SMALLEST_RANGE = 64 * 1024
# A mini-batch is answered in parts of about this size, on as many threads as the job asks.
PART_BYTES = 2 * 1024 * 1024


class Declined(Exception):
    """These mini-batches are for ``/invocations``; the message says why."""

    def __init__(self, reason: str, status: int = 409) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Lines:
    """What a built-in's ``batch_fn`` answers mini-batches of lines with.

    ``prepare(lines)``: what ``answer`` needs to read any run of a mini-batch's lines as it
    reads all of them (its rows' width, say), or None when the mini-batch is for
    ``/invocations``. ``answer(lines, prepared)``: for whole lines of it (a ``memoryview``),
    the body ``/invocations`` answers for them and how many records that is, or None when it
    does not answer them that way. The answers of consecutive runs of lines, joined, must be
    the answer of all of them (one line per record, say): a mini-batch is answered in parts,
    on several threads, so that none waits for the last one."""

    prepare: Callable[[bytes], object]
    answer: Callable[[memoryview, object], "tuple[bytes, int] | None"]


def parts(lines: bytes, size: int) -> Iterator[tuple[int, int]]:
    """``lines`` (ending with a newline) in runs of whole lines of about ``size`` bytes."""
    start, end = 0, len(lines)
    while start < end:
        stop = start + size
        if stop >= end:
            cut = end
        else:
            cut = lines.rfind(b"\n", start, stop) + 1
            if cut <= start:  # a line longer than size: it is a part of its own
                cut = lines.find(b"\n", stop) + 1 or end
        yield start, cut
        start = cut


def answer(batch_fn, model, request: dict, accept: str, max_bytes: int | None,
           cancelled: threading.Event | None = None) -> tuple[bytes, int, int]:
    """(the bodies joined, how many records and bytes they are) for the request's ranges;
    Declined otherwise. With ``output`` (a file) in the request, the bodies are written there
    from ``offset`` as they come, and the bytes returned are none. ``cancelled``: the client
    has gone (it stops at the next part)."""
    try:
        path, ranges = str(request["path"]), [(int(a), int(b)) for a, b in request["ranges"]]
        threads = max(1, min(int(request.get("threads") or 1), os.cpu_count() or 1))
        content_type = request.get("content_type")
        output, offset = request.get("output"), int(request.get("offset") or 0)
    except (KeyError, TypeError, ValueError) as exc:
        raise Declined(f"a bad request: {exc!r}") from None
    lines_fn = batch_fn(model, content_type, accept)
    if lines_fn is None:
        raise Declined(f"this model does not answer {content_type} as {accept} this way", 501)
    with ExitStack() as stack:
        try:
            fd = os.open(path, os.O_RDONLY)
            stack.callback(os.close, fd)
            out = None if output is None else os.open(str(output), os.O_WRONLY)
            if out is not None:
                stack.callback(os.close, out)
        except OSError as exc:
            raise Declined(f"cannot open {exc.filename}: {exc.strerror}") from None
        size = os.fstat(fd).st_size
        for start, end in ranges:
            if not 0 <= start < end <= size:
                raise Declined(f"the range {start}-{end} is not in the file ({size} bytes)")

        def work() -> Iterator[tuple]:
            """(range, a part of its lines, what reading them needs) in order."""
            for start, end in ranges:
                lines = os.pread(fd, end - start, start)
                if len(lines) != end - start:
                    raise Declined(f"bytes {start}-{end} could not be read")
                if not lines.endswith(b"\n"):
                    lines += b"\n"  # the object's last line, which the job ends as it sends it
                if max_bytes is not None and len(lines) > max_bytes:
                    # /invocations answers 413 for it, as it always has
                    raise Declined(f"bytes {start}-{end} are over SAGEMAKER_MAX_PAYLOAD_IN_MB")
                prepared = lines_fn.prepare(lines)
                if prepared is None:
                    raise Declined(f"bytes {start}-{end} are for /invocations")
                view = memoryview(lines)
                for a, b in parts(lines, PART_BYTES):
                    yield (start, end), view[a:b], prepared

        bodies: list[bytes] = []
        done = [0, 0]  # records, bytes

        def take(where, result) -> None:
            if cancelled is not None and cancelled.is_set():
                raise Declined("the job gave up waiting")
            # every answer is whole lines, so that the answers joined are one answer
            if result is None or not result[0].endswith(b"\n"):
                raise Declined(f"bytes {where[0]}-{where[1]} are for /invocations")
            body, records = result
            if out is None:
                bodies.append(body)
            else:
                view, position = memoryview(body), offset + done[1]
                while view:
                    written = os.pwrite(out, view, position)
                    view, position = view[written:], position + written
                done[1] += len(body)
            done[0] += records

        if threads == 1:
            for where, part, prepared in work():
                take(where, lines_fn.answer(part, prepared))
        else:
            with ThreadPoolExecutor(threads, thread_name_prefix="batch") as pool:
                # a few parts ahead of the one being joined: every thread busy, memory bounded
                pending: deque = deque()
                try:
                    for where, part, prepared in work():
                        pending.append((where, pool.submit(lines_fn.answer, part, prepared)))
                        if len(pending) > 2 * threads:
                            where, future = pending.popleft()
                            take(where, future.result())
                    while pending:
                        where, future = pending.popleft()
                        take(where, future.result())
                finally:
                    for _, future in pending:
                        future.cancel()
        joined = b"".join(bodies)
        return joined, done[0], len(joined) if out is None else done[1]
