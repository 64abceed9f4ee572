"""CloudWatch Logs kept in the store: groups, streams and events, usable without HTTP.

The Logs provider serves this over the wire; the engine writes a job's output here directly.
Everything belongs to ``(ctx.account_id, ctx.region)`` like every other resource. Times are
epoch milliseconds. The store does not enforce the API's batch rules (chronological order,
age limits): those belong to the PutLogEvents operation, not to a job writing its own lines.
Errors are raised with CloudWatch Logs' codes, since that is the only API that shows them.
"""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import sqlalchemy as sa

from kamado.errors import AwsError
from kamado.store import paging
from kamado.store.database import Database
from kamado.store.tables import log_events, log_groups, log_streams
from kamado.store.types import prepare_bind

MAX_EVENTS_PER_PAGE = 10_000
MAX_PAGE_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26  # what AWS adds per event when it counts a batch's size
_SCAN_BATCH = 1000
# Outside any real timestamp: the positions before the first and after the last event.
_HEAD, _TAIL = (-1, -1), (2**63 - 1, 2**63 - 1)


def now_ms() -> int:
    return int(time.time() * 1000)


def not_found(what: str) -> AwsError:
    return AwsError(f"The specified {what} does not exist.", code="ResourceNotFoundException")


def already_exists(what: str) -> AwsError:
    return AwsError(f"The specified {what} already exists", code="ResourceAlreadyExistsException")


def invalid(message: str) -> AwsError:
    return AwsError(message, code="InvalidParameterException")


@dataclass
class LogGroup:
    id: int
    account_id: str
    region: str
    name: str
    creation_time: int
    retention_in_days: int | None
    kms_key_id: str | None
    log_group_class: str
    deletion_protection: bool
    stored_bytes: int = 0

    @property
    def arn(self) -> str:
        """The ARN that logs:DescribeLogGroups calls ``logGroupArn`` (``arn`` adds ':*')."""
        return f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{self.name}"


@dataclass
class LogStream:
    id: int
    group_id: int
    name: str
    creation_time: int
    first_event_timestamp: int | None
    last_event_timestamp: int | None
    last_ingestion_time: int | None
    next_sequence: int
    stored_bytes: int


@dataclass
class LogEvent:
    id: int
    stream_name: str
    sequence: int
    timestamp: int
    ingestion_time: int
    message: str


# --- filter patterns ----------------------------------------------------------------------

def compile_filter_pattern(pattern: str | None) -> Callable[[str], bool]:
    """CloudWatch's term patterns: ``ERROR`` and ``"exact phrase"`` must all occur, ``?a ?b``
    needs any one of them, ``-term`` must not occur; ``%regex%`` is a regular expression.
    Matching is case-sensitive, as on AWS. JSON and space-delimited patterns are refused."""
    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if len(text) >= 2 and text.startswith("%") and text.endswith("%"):
        try:
            regex = re.compile(text[1:-1])
        except re.error as exc:
            raise invalid(f"Invalid regular expression in filter pattern: {exc}") from None
        return lambda message: regex.search(message) is not None
    if text[0] in "{[":
        raise invalid("kamado supports term, phrase and %regex% filter patterns; "
                      "JSON and space-delimited patterns are not supported yet.")
    try:
        lexer = shlex.shlex(text, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        words = list(lexer)
    except ValueError:
        raise invalid("Invalid character(s) in term: unbalanced quotes in filter pattern.") from None
    required, optional, excluded = [], [], []
    for word in words:
        if word.startswith("?") and len(word) > 1:
            optional.append(word[1:])
        elif word.startswith("-") and len(word) > 1:
            excluded.append(word[1:])
        else:
            required.append(word)

    def matches(message: str) -> bool:
        return (all(t in message for t in required)
                and (not optional or any(t in message for t in optional))
                and not any(t in message for t in excluded))
    return matches


# --- the store ----------------------------------------------------------------------------

def _one(s, query, what: str, missing_ok: bool, for_update: bool):
    """The one row ``query`` finds; None or ResourceNotFoundException naming ``what`` if none."""
    if for_update:
        query = query.with_for_update()
    row = s.execute(query).mappings().first()
    if row is None and not missing_ok:
        raise not_found(what)
    return row


class LogStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- groups ---------------------------------------------------------------------------
    def create_group(self, ctx, name: str, *, kms_key_id: str | None = None,
                     log_group_class: str = "STANDARD", deletion_protection: bool = False,
                     exist_ok: bool = False) -> LogGroup:
        row = dict(account_id=ctx.account_id, region=ctx.region, name=name,
                   creation_time=now_ms(), retention_in_days=None, kms_key_id=kms_key_id,
                   log_group_class=log_group_class, deletion_protection=deletion_protection)
        with self.db.session() as s:
            existing = self._group(s, ctx, name, missing_ok=True)
            if existing is not None:
                if exist_ok:
                    return existing
                raise already_exists("log group")
            try:
                with s.begin_nested():
                    new_id = s.execute(log_groups.insert().values(**row)).inserted_primary_key[0]
            except sa.exc.IntegrityError:
                if exist_ok:
                    return self._group(s, ctx, name)
                raise already_exists("log group") from None
        return LogGroup(id=new_id, **row)

    def get_group(self, ctx, name: str) -> LogGroup:
        with self.db.session(write=False) as s:
            return self._group(s, ctx, name)

    def _group(self, s, ctx, name: str, *, missing_ok: bool = False,
               for_update: bool = False) -> LogGroup | None:
        row = _one(s, sa.select(log_groups).where(
            log_groups.c.account_id == ctx.account_id, log_groups.c.region == ctx.region,
            log_groups.c.name == name), "log group", missing_ok, for_update)
        return None if row is None else LogGroup(**row, stored_bytes=self._group_bytes(s, row["id"]))

    @staticmethod
    def _group_bytes(s, group_id: int) -> int:
        total = s.execute(sa.select(sa.func.coalesce(sa.func.sum(log_streams.c.stored_bytes), 0))
                          .where(log_streams.c.group_id == group_id)).scalar()
        return int(total or 0)

    def describe_groups(self, ctx, *, prefix: str | None = None, contains: str | None = None,
                        group_class: str | None = None, limit: int = 50,
                        next_token: str | None = None) -> tuple[list[LogGroup], str | None]:
        """Groups in name order (byte-wise, as AWS's "ASCII-sorted"), one page at a time."""
        query = sa.select(log_groups).where(log_groups.c.account_id == ctx.account_id,
                                            log_groups.c.region == ctx.region)
        if prefix:
            query = query.where(self._startswith(log_groups.c.name, prefix))
        if contains:
            query = query.where(self._contains(log_groups.c.name, contains))
        if group_class:
            # AWS treats the two cheaper classes as one when filtering.
            cheap = {"INFREQUENT_ACCESS", "ESSENTIALS"}
            classes = cheap if group_class in cheap else {group_class}
            query = query.where(log_groups.c.log_group_class.in_(sorted(classes)))
        if next_token:
            after = self._decode(f"groups:{ctx.account_id}:{ctx.region}", next_token, "n")
            query = query.where(log_groups.c.name > after)
        query = query.order_by(log_groups.c.name).limit(limit + 1)
        with self.db.session(write=False) as s:
            rows = s.execute(query).mappings().all()
            groups = [LogGroup(**r, stored_bytes=self._group_bytes(s, r["id"])) for r in rows]
        token = None
        if len(groups) > limit:
            groups = groups[:limit]
            token = paging.encode(f"groups:{ctx.account_id}:{ctx.region}", {"n": groups[-1].name})
        return groups, token

    def delete_group(self, ctx, name: str) -> LogGroup:
        with self.db.session() as s:
            group = self._group(s, ctx, name, for_update=True)
            if group.deletion_protection:
                raise AwsError("Log group deletion protection is enabled; disable it before "
                               "deleting the log group.", code="ValidationException")
            # Streams and events go with it (ON DELETE CASCADE).
            s.execute(log_groups.delete().where(log_groups.c.id == group.id))
        return group

    # --- streams --------------------------------------------------------------------------
    def create_stream(self, ctx, group: str, name: str, *, exist_ok: bool = False) -> LogStream:
        with self.db.session() as s:
            group_row = self._group(s, ctx, group)
            existing = self._stream(s, group_row.id, name, missing_ok=True)
            if existing is not None:
                if exist_ok:
                    return existing
                raise already_exists("log stream")
            row = dict(group_id=group_row.id, name=name, creation_time=now_ms(),
                       first_event_timestamp=None, last_event_timestamp=None,
                       last_ingestion_time=None, next_sequence=1, stored_bytes=0)
            try:
                with s.begin_nested():
                    new_id = s.execute(log_streams.insert().values(**row)).inserted_primary_key[0]
            except sa.exc.IntegrityError:
                if exist_ok:
                    return self._stream(s, group_row.id, name)
                raise already_exists("log stream") from None
        return LogStream(id=new_id, **row)

    def get_stream(self, ctx, group: str, name: str) -> LogStream:
        with self.db.session(write=False) as s:
            return self._stream(s, self._group(s, ctx, group).id, name)

    @staticmethod
    def _stream(s, group_id: int, name: str, *, missing_ok: bool = False,
                for_update: bool = False) -> LogStream | None:
        row = _one(s, sa.select(log_streams).where(log_streams.c.group_id == group_id,
                                                   log_streams.c.name == name),
                   "log stream", missing_ok, for_update)
        return None if row is None else LogStream(**row)

    def describe_streams(self, ctx, group: str, *, prefix: str | None = None,
                         order_by: str = "LogStreamName", descending: bool = False,
                         limit: int = 50, next_token: str | None = None
                         ) -> tuple[list[LogStream], str | None]:
        by_time = order_by == "LastEventTime"
        key = (sa.func.coalesce(log_streams.c.last_event_timestamp, -1) if by_time
               else log_streams.c.name)
        with self.db.session(write=False) as s:
            group_row = self._group(s, ctx, group)
            scope = f"streams:{group_row.id}:{order_by}:{int(descending)}"
            query = sa.select(log_streams).where(log_streams.c.group_id == group_row.id)
            if prefix:
                query = query.where(self._startswith(log_streams.c.name, prefix))
            if next_token:
                position = self._decode(scope, next_token, "p")
                if by_time:
                    value, name = position
                    if not isinstance(value, int) or not isinstance(name, str):
                        raise invalid("The specified nextToken is invalid.")
                    newer = key < value if descending else key > value
                    name_next = log_streams.c.name < name if descending else log_streams.c.name > name
                    query = query.where(sa.or_(newer, sa.and_(key == value, name_next)))
                else:
                    if not isinstance(position, str):
                        raise invalid("The specified nextToken is invalid.")
                    query = query.where(log_streams.c.name < position if descending
                                        else log_streams.c.name > position)
            order = [key.desc() if descending else key.asc()]
            if by_time:
                order.append(log_streams.c.name.desc() if descending else log_streams.c.name.asc())
            rows = s.execute(query.order_by(*order).limit(limit + 1)).mappings().all()
        streams = [LogStream(**r) for r in rows]
        token = None
        if len(streams) > limit:
            streams = streams[:limit]
            last = streams[-1]
            position = ([last.last_event_timestamp if last.last_event_timestamp is not None else -1,
                         last.name] if by_time else last.name)
            token = paging.encode(scope, {"p": position})
        return streams, token

    def delete_stream(self, ctx, group: str, name: str) -> None:
        with self.db.session() as s:
            stream = self._stream(s, self._group(s, ctx, group).id, name, for_update=True)
            s.execute(log_streams.delete().where(log_streams.c.id == stream.id))

    # --- events ---------------------------------------------------------------------------
    def put_events(self, ctx, group: str, stream: str,
                   events: Iterable[Mapping[str, Any] | Sequence[Any]], *,
                   create: bool = False) -> int:
        """Append events ({"timestamp", "message"} or (timestamp, message)) to a stream and
        return the sequence number the next event will get. ``create`` makes the group and
        stream first if they do not exist (what a job writing its own logs wants)."""
        batch = [_as_event(e) for e in events]
        with self.db.session() as s:
            if create:
                self.create_stream(ctx, self.create_group(ctx, group, exist_ok=True).name,
                                   stream, exist_ok=True)
            group_row = self._group(s, ctx, group)
            # Locking the stream row makes concurrent writers take turns on the sequence.
            row = self._stream(s, group_row.id, stream, for_update=True)
            if not batch:
                return row.next_sequence
            ingested = now_ms()
            first_seq = row.next_sequence
            s.execute(log_events.insert(), [
                dict(stream_id=row.id, group_id=group_row.id, sequence=first_seq + i,
                     timestamp=ts, ingestion_time=ingested, message=message)
                for i, (ts, message) in enumerate(batch)])
            stamps = [ts for ts, _ in batch]
            first = min(stamps) if row.first_event_timestamp is None else min(
                row.first_event_timestamp, *stamps)
            last = max(stamps) if row.last_event_timestamp is None else max(
                row.last_event_timestamp, *stamps)
            size = sum(len(m.encode("utf-8", "surrogatepass")) for _, m in batch)
            next_seq = first_seq + len(batch)
            s.execute(log_streams.update().where(log_streams.c.id == row.id).values(
                first_event_timestamp=first, last_event_timestamp=last,
                last_ingestion_time=ingested, next_sequence=next_seq,
                stored_bytes=row.stored_bytes + size))
        return next_seq

    def get_events(self, ctx, group: str, stream: str, *, start_time: int | None = None,
                   end_time: int | None = None, limit: int | None = None,
                   start_from_head: bool = False, next_token: str | None = None
                   ) -> tuple[list[LogEvent], str, str]:
        """One page of a stream's events in time order, with the forward and backward tokens.

        Without a token the page is the oldest events (``start_from_head``) or the newest.
        A forward token continues after the page, a backward one before it; where there is
        nothing more in that direction, the token handed in comes back unchanged, as on AWS.
        ``start_time`` is inclusive and ``end_time`` exclusive.
        """
        if next_token:
            forward, anchor = _parse_stream_token(next_token)
        else:
            forward, anchor = start_from_head, (_HEAD if start_from_head else _TAIL)
        limit = min(limit or MAX_EVENTS_PER_PAGE, MAX_EVENTS_PER_PAGE)
        with self.db.session(write=False) as s:
            row = self._stream(s, self._group(s, ctx, group).id, stream)
            query = (sa.select(log_events.c.id, log_events.c.sequence, log_events.c.timestamp,
                               log_events.c.ingestion_time, log_events.c.message)
                     .where(log_events.c.stream_id == row.id))
            query = query.where(_key_after(anchor) if forward else _key_before(anchor))
            if start_time is not None:
                query = query.where(log_events.c.timestamp >= start_time)
            if end_time is not None:
                query = query.where(log_events.c.timestamp < end_time)
            direction = (log_events.c.timestamp.asc(), log_events.c.id.asc()) if forward else (
                log_events.c.timestamp.desc(), log_events.c.id.desc())
            rows = s.execute(query.order_by(*direction).limit(limit)).all()
        events = _fit_page([LogEvent(r.id, stream, r.sequence, r.timestamp, r.ingestion_time,
                                     r.message) for r in rows])
        if not forward:
            events.reverse()
        if not events:
            return events, _stream_token(True, anchor), _stream_token(False, anchor)
        return (events, _stream_token(True, (events[-1].timestamp, events[-1].id)),
                _stream_token(False, (events[0].timestamp, events[0].id)))

    def filter_events(self, ctx, group: str, *, stream_names: Sequence[str] | None = None,
                      stream_prefix: str | None = None, start_time: int | None = None,
                      end_time: int | None = None,
                      pattern: str | Callable[[str], bool] | None = None,
                      limit: int | None = None, start_from_head: bool = True,
                      next_token: str | None = None) -> tuple[list[LogEvent], str | None]:
        """Events of a group matching a filter pattern, all streams interleaved in time order.
        Both times are inclusive. The next token is given only if more events match."""
        matches = pattern if callable(pattern) else compile_filter_pattern(pattern)
        limit = min(limit or MAX_EVENTS_PER_PAGE, MAX_EVENTS_PER_PAGE)
        with self.db.session(write=False) as s:
            group_row = self._group(s, ctx, group)
            scope = f"filter:{group_row.id}"
            forward, anchor = start_from_head, (_HEAD if start_from_head else _TAIL)
            if next_token:
                position = self._decode(scope, next_token, "p")
                try:
                    forward, anchor = bool(position[0]), (int(position[1]), int(position[2]))
                except (TypeError, ValueError, IndexError):
                    raise invalid("The specified nextToken is invalid.") from None
            query = (sa.select(log_events.c.id, log_events.c.sequence, log_events.c.timestamp,
                               log_events.c.ingestion_time, log_events.c.message,
                               log_streams.c.name.label("stream_name"))
                     .join(log_streams, log_streams.c.id == log_events.c.stream_id)
                     .where(log_events.c.group_id == group_row.id))
            if stream_names:
                query = query.where(log_streams.c.name.in_(list(stream_names)))
            if stream_prefix:
                query = query.where(self._startswith(log_streams.c.name, stream_prefix))
            if start_time is not None:
                query = query.where(log_events.c.timestamp >= start_time)
            if end_time is not None:
                query = query.where(log_events.c.timestamp <= end_time)
            direction = (log_events.c.timestamp.asc(), log_events.c.id.asc()) if forward else (
                log_events.c.timestamp.desc(), log_events.c.id.desc())
            found: list[LogEvent] = []
            more = False
            size = 0
            position = anchor
            while True:
                batch = s.execute(query.where(_key_after(position) if forward
                                              else _key_before(position))
                                  .order_by(*direction).limit(_SCAN_BATCH)).all()
                for r in batch:
                    if not matches(r.message):
                        continue
                    cost = len(r.message.encode("utf-8", "surrogatepass")) + EVENT_OVERHEAD_BYTES
                    if len(found) >= limit or (found and size + cost > MAX_PAGE_BYTES):
                        more = True
                        break
                    size += cost
                    found.append(LogEvent(r.id, r.stream_name, r.sequence, r.timestamp,
                                          r.ingestion_time, r.message))
                if more or len(batch) < _SCAN_BATCH:
                    break
                position = (batch[-1].timestamp, batch[-1].id)
        token = None
        if more:
            last = found[-1]
            token = paging.encode(scope, {"p": [int(forward), last.timestamp, last.id]})
        return found, token

    # --- helpers --------------------------------------------------------------------------
    def _startswith(self, column, prefix: str):
        encoded = prepare_bind(prefix, self.db.dialect)
        return sa.func.substr(column, 1, len(encoded)) == sa.literal(encoded, sa.String())

    def _contains(self, column, text: str):
        encoded = prepare_bind(text, self.db.dialect)
        if self.db.dialect == "postgresql":
            return sa.func.strpos(column, sa.literal(encoded, sa.String())) > 0
        return sa.func.instr(column, sa.literal(encoded, sa.String())) > 0

    @staticmethod
    def _decode(scope: str, token: str, field: str):
        try:
            return paging.decode(scope, token)[field]
        except (paging.BadToken, KeyError):
            raise invalid("The specified nextToken is invalid.") from None


# --- module helpers -----------------------------------------------------------------------

def _as_event(event) -> tuple[int, str]:
    if isinstance(event, Mapping):
        return int(event["timestamp"]), str(event["message"])
    ts, message = event
    return int(ts), str(message)


def _key_after(anchor: tuple[int, int]):
    ts, row_id = anchor
    return sa.or_(log_events.c.timestamp > ts,
                  sa.and_(log_events.c.timestamp == ts, log_events.c.id > row_id))


def _key_before(anchor: tuple[int, int]):
    ts, row_id = anchor
    return sa.or_(log_events.c.timestamp < ts,
                  sa.and_(log_events.c.timestamp == ts, log_events.c.id < row_id))


def _fit_page(events: list[LogEvent]) -> list[LogEvent]:
    """Cut a page at AWS's 1 MB response size (always keeping at least one event)."""
    size = 0
    for i, event in enumerate(events):
        size += len(event.message.encode("utf-8", "surrogatepass")) + EVENT_OVERHEAD_BYTES
        if size > MAX_PAGE_BYTES and i > 0:
            return events[:i]
    return events


# GetLogEvents tokens look like AWS's: a direction letter, a slash and digits.
_STREAM_TOKEN = re.compile(r"([fb])/(\d{20})(\d{20})")


def _stream_token(forward: bool, anchor: tuple[int, int]) -> str:
    ts, row_id = anchor
    return f"{'f' if forward else 'b'}/{ts + 1:020d}{row_id + 1:020d}"


def _parse_stream_token(token: str) -> tuple[bool, tuple[int, int]]:
    match = _STREAM_TOKEN.fullmatch(token)
    if not match:
        raise invalid("The specified nextToken is invalid.")
    return match.group(1) == "f", (int(match.group(2)) - 1, int(match.group(3)) - 1)
