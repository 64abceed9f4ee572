"""CloudWatch Logs over the wire: groups, streams, PutLogEvents, GetLogEvents, FilterLogEvents.

The data lives in :class:`kamado.store.logs.LogStore`; this layer adds what belongs to the
API only: naming rules, the rules a PutLogEvents batch must follow, and response shapes.
"""

from __future__ import annotations

import re

from kamado.errors import AwsError
from kamado.services.base import Provider, RequestContext
from kamado.store.logs import (EVENT_OVERHEAD_BYTES, LogGroup, LogStore, LogStream, invalid,
                               not_found, now_ms)

DEFAULT_LIMIT = 50
MAX_BATCH_BYTES = 1_048_576
DAY_MS = 24 * 3600 * 1000
TOO_NEW_MS = 2 * 3600 * 1000   # events more than 2 hours ahead are rejected
TOO_OLD_MS = 14 * DAY_MS       # ... and so are those older than 14 days

_GROUP_ARN = re.compile(r"arn:aws[a-z-]*:logs:([a-z0-9-]*):(\d{12}):log-group:([^:]+)(?::\*)?")


def _group_out(group: LogGroup, brief: bool = False) -> dict:
    out = {"logGroupName": group.name, "creationTime": group.creation_time,
           "arn": f"{group.arn}:*"}
    if brief:  # what AWS returns when logGroupNamePattern was used
        return out
    out.update(metricFilterCount=0, storedBytes=group.stored_bytes,
               logGroupClass=group.log_group_class, logGroupArn=group.arn,
               deletionProtectionEnabled=group.deletion_protection)
    if group.retention_in_days is not None:
        out["retentionInDays"] = group.retention_in_days
    if group.kms_key_id:
        out["kmsKeyId"] = group.kms_key_id
    return out


def _stream_out(group: LogGroup, stream: LogStream) -> dict:
    out = {"logStreamName": stream.name, "creationTime": stream.creation_time,
           "arn": f"{group.arn}:log-stream:{stream.name}", "storedBytes": stream.stored_bytes,
           "uploadSequenceToken": f"{stream.next_sequence:056d}"}
    for key, value in (("firstEventTimestamp", stream.first_event_timestamp),
                       ("lastEventTimestamp", stream.last_event_timestamp),
                       ("lastIngestionTime", stream.last_ingestion_time)):
        if value is not None:
            out[key] = value
    return out


class Logs(Provider):
    service = "logs"

    def __init__(self, platform) -> None:
        super().__init__(platform)
        self.store: LogStore = platform.logs

    # --- naming the log group -------------------------------------------------------------
    def _group_name(self, request: dict, ctx: RequestContext) -> str:
        """The group a request names, by logGroupName or logGroupIdentifier (name or ARN)."""
        name, ident = request.get("logGroupName"), request.get("logGroupIdentifier")
        if (name is None) == (ident is None):
            raise invalid("Specify exactly one of logGroupName and logGroupIdentifier.")
        if name is not None:
            return name
        match = _GROUP_ARN.fullmatch(ident)
        if match is None:
            return ident
        region, account, group = match.groups()
        if (region, account) != (ctx.region, ctx.account_id):
            raise not_found("log group")
        return group

    # --- groups ---------------------------------------------------------------------------
    def create_log_group(self, request: dict, ctx: RequestContext) -> dict:
        name = request["logGroupName"]
        if name.startswith("aws/"):
            raise invalid("Log group names can't start with the string aws/.")
        with self.platform.db.session():
            group = self.store.create_group(
                ctx, name, kms_key_id=request.get("kmsKeyId"),
                log_group_class=request.get("logGroupClass") or "STANDARD",
                deletion_protection=bool(request.get("deletionProtectionEnabled")))
            if request.get("tags"):
                self.platform.resources.add_tags(group.arn, request["tags"])
        return {}

    def describe_log_groups(self, request: dict, ctx: RequestContext) -> dict:
        prefix, pattern = request.get("logGroupNamePrefix"), request.get("logGroupNamePattern")
        if prefix and pattern:
            raise invalid("logGroupNamePrefix and logGroupNamePattern are mutually exclusive.")
        if request.get("logGroupIdentifiers"):
            groups = []
            for ident in request["logGroupIdentifiers"]:
                try:
                    name = self._group_name({"logGroupIdentifier": ident}, ctx)
                    groups.append(self.store.get_group(ctx, name))
                except AwsError as exc:  # a name that does not exist is simply not listed
                    if exc.code != "ResourceNotFoundException":
                        raise
            groups = sorted({g.id: g for g in groups}.values(), key=lambda g: g.name)
            return {"logGroups": [_group_out(g) for g in groups]}
        groups, token = self.store.describe_groups(
            ctx, prefix=prefix, contains=pattern, group_class=request.get("logGroupClass"),
            limit=request.get("limit") or DEFAULT_LIMIT, next_token=request.get("nextToken"))
        out = {"logGroups": [_group_out(g, brief=bool(pattern)) for g in groups]}
        if token:
            out["nextToken"] = token
        return out

    def delete_log_group(self, request: dict, ctx: RequestContext) -> dict:
        with self.platform.db.session():
            group = self.store.delete_group(ctx, request["logGroupName"])
            tags = self.platform.resources.tags_of(group.arn)
            self.platform.resources.delete_tags(group.arn, tags)
        return {}

    # --- streams --------------------------------------------------------------------------
    def create_log_stream(self, request: dict, ctx: RequestContext) -> dict:
        self.store.create_stream(ctx, request["logGroupName"], request["logStreamName"])
        return {}

    def describe_log_streams(self, request: dict, ctx: RequestContext) -> dict:
        order_by = request.get("orderBy") or "LogStreamName"
        if order_by == "LastEventTime" and request.get("logStreamNamePrefix"):
            raise invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        name = self._group_name(request, ctx)
        group = self.store.get_group(ctx, name)
        streams, token = self.store.describe_streams(
            ctx, name, prefix=request.get("logStreamNamePrefix"), order_by=order_by,
            descending=bool(request.get("descending")),
            limit=request.get("limit") or DEFAULT_LIMIT, next_token=request.get("nextToken"))
        out = {"logStreams": [_stream_out(group, s) for s in streams]}
        if token:
            out["nextToken"] = token
        return out

    def delete_log_stream(self, request: dict, ctx: RequestContext) -> dict:
        self.store.delete_stream(ctx, request["logGroupName"], request["logStreamName"])
        return {}

    # --- events ---------------------------------------------------------------------------
    def put_log_events(self, request: dict, ctx: RequestContext) -> dict:
        events = request["logEvents"]
        stamps = [int(e["timestamp"]) for e in events]
        if any(later < earlier for earlier, later in zip(stamps, stamps[1:], strict=False)):
            raise invalid("Log events in a single PutLogEvents request must be in "
                          "chronological order.")
        size = sum(len(e["message"].encode("utf-8", "surrogatepass")) + EVENT_OVERHEAD_BYTES
                   for e in events)
        if size > MAX_BATCH_BYTES:
            raise invalid(f"Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}")
        now = now_ms()
        # The batch is sorted, so the too-old events lead it and the too-new ones trail it.
        old_end = sum(1 for ts in stamps if ts < now - TOO_OLD_MS)
        new_start = next((i for i, ts in enumerate(stamps) if ts > now + TOO_NEW_MS), len(stamps))
        accepted = events[old_end:new_start]
        if accepted and stamps[new_start - 1] - stamps[old_end] > DAY_MS:
            raise invalid("The batch of log events in a single PutLogEvents request cannot "
                          "span more than 24 hours.")
        next_seq = self.store.put_events(ctx, request["logGroupName"], request["logStreamName"],
                                         accepted)
        out: dict = {"nextSequenceToken": f"{next_seq:056d}"}
        rejected = {}
        if old_end:
            rejected["tooOldLogEventEndIndex"] = old_end
        if new_start < len(stamps):
            rejected["tooNewLogEventStartIndex"] = new_start
        if rejected:
            out["rejectedLogEventsInfo"] = rejected
        return out

    def get_log_events(self, request: dict, ctx: RequestContext) -> dict:
        events, forward, backward = self.store.get_events(
            ctx, self._group_name(request, ctx), request["logStreamName"],
            start_time=request.get("startTime"), end_time=request.get("endTime"),
            limit=request.get("limit"), start_from_head=bool(request.get("startFromHead")),
            next_token=request.get("nextToken"))
        return {"events": [{"timestamp": e.timestamp, "message": e.message,
                            "ingestionTime": e.ingestion_time} for e in events],
                "nextForwardToken": forward, "nextBackwardToken": backward}

    def filter_log_events(self, request: dict, ctx: RequestContext) -> dict:
        if request.get("logStreamNames") and request.get("logStreamNamePrefix"):
            raise invalid("logStreamNames and logStreamNamePrefix are mutually exclusive.")
        start_from_head = request.get("startFromHead")
        events, token = self.store.filter_events(
            ctx, self._group_name(request, ctx), stream_names=request.get("logStreamNames"),
            stream_prefix=request.get("logStreamNamePrefix"),
            start_time=request.get("startTime"), end_time=request.get("endTime"),
            pattern=request.get("filterPattern"), limit=request.get("limit"),
            start_from_head=True if start_from_head is None else bool(start_from_head),
            next_token=request.get("nextToken"))
        out = {"events": [{"logStreamName": e.stream_name, "timestamp": e.timestamp,
                           "message": e.message, "ingestionTime": e.ingestion_time,
                           "eventId": f"{e.id:056d}"} for e in events],
               "searchedLogStreams": []}
        if token:
            out["nextToken"] = token
        return out
