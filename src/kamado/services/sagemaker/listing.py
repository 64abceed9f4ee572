"""The List* operations' common request members (NameContains, creation and modification time
windows, SortBy/SortOrder, MaxResults/NextToken) applied to a resource family."""

from __future__ import annotations

from kamado.errors import ValidationError
from kamado.store import paging
from kamado.store.types import utc

DEFAULT_MAX_RESULTS = 10


def list_page(resources, ctx, type: str, request: dict, **extra):
    """One page of ``type`` as the request asks, and the next page's token."""
    after, before = request.get("LastModifiedTimeAfter"), request.get("LastModifiedTimeBefore")

    def modified_between(r) -> bool:
        return ((after is None or r.last_modified_time > utc(after))
                and (before is None or r.last_modified_time < utc(before)))
    return resources.list(
        ctx, type, name_contains=request.get("NameContains"),
        created_after=request.get("CreationTimeAfter"),
        created_before=request.get("CreationTimeBefore"),
        sort_by=request.get("SortBy") or "CreationTime",
        sort_order=request.get("SortOrder") or "Descending",
        max_results=request.get("MaxResults") or DEFAULT_MAX_RESULTS,
        next_token=request.get("NextToken") or None,
        where=modified_between if after is not None or before is not None else None, **extra)


def page(key: str, items, token: str | None, summary) -> dict:
    """A List* answer: ``summary(resource)`` for each item under ``key``, and NextToken."""
    out = {key: [summary(r) for r in items]}
    if token:
        out["NextToken"] = token
    return out


def offset_page(scope: str, items: list, request: dict, size: int):
    """One page of a list computed in full (sorted in Python), and the next page's token: for
    listings whose order the store cannot give. ``scope`` names the listing so that a token of
    another one is refused."""
    start = 0
    if request.get("NextToken"):
        try:
            start = int(paging.decode(scope, request["NextToken"])["o"])
        except (paging.BadToken, KeyError, TypeError, ValueError):
            raise ValidationError("The NextToken is not valid for this request.") from None
    token = paging.encode(scope, {"o": start + size}) if start + size < len(items) else None
    return items[start:start + size], token, start
