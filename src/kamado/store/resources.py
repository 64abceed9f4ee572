"""The generic resource repository that every SageMaker-style resource family uses.

A resource is a row of ``resources``: account, region, type, name, ARN, status, two
timestamps, and a JSON ``data`` document with the rest. Resources belong to
``(ctx.account_id, ctx.region)``; one created in us-east-1 does not exist in eu-west-1.

What differs between families (the AWS error for a duplicate or a missing name, whether
names are case-sensitive) is declared once with :meth:`Resources.register`.

Calls made inside ``with resources.transaction():`` share one transaction, so a provider can
check a rule and act on it atomically (e.g. refuse to delete an experiment that has trials).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from kamado.errors import AwsError, ConflictError, ResourceNotFound, ValidationError
from kamado.store import paging
from kamado.store.database import Database
from kamado.store.tables import associations as links_t
from kamado.store.tables import resources as res_t
from kamado.store.tables import tags as tags_t
from kamado.store.types import now, utc

_UNSET: Any = object()
# (account, region, type, name key) -> Resource, while a Resources.preloaded() block runs.
_PRELOADED: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "kamado_preloaded_resources", default=None)


class _Scope(Protocol):
    """Anything with ``account_id`` and ``region``: a RequestContext, or the engine's own."""

    account_id: str
    region: str


@dataclass
class Resource:
    id: int
    account_id: str
    region: str
    type: str
    name: str
    arn: str
    status: str | None
    creation_time: dt.datetime
    last_modified_time: dt.datetime
    data: dict = field(default_factory=dict)


@dataclass
class Association:
    type: str
    source_arn: str
    destination_arn: str
    creation_time: dt.datetime
    data: dict | None = None


ErrorFactory = Callable[[str, str], AwsError]  # (name, arn-or-"") -> the error to raise


@dataclass(frozen=True)
class Family:
    """What one resource type needs the repository to know about it."""

    type: str
    label: str
    case_sensitive: bool = False
    on_duplicate: ErrorFactory | None = None
    on_missing: ErrorFactory | None = None

    def key(self, name: str) -> str:
        return name if self.case_sensitive else name.lower()

    def duplicate(self, name: str, arn: str) -> AwsError:
        if self.on_duplicate:
            return self.on_duplicate(name, arn)
        return ValidationError(f"{self.label} with name ({name}) already exists.")

    def missing(self, name: str, arn: str) -> AwsError:
        if self.on_missing:
            return self.on_missing(name, arn)
        return ResourceNotFound(f"{self.label} '{arn or name}' does not exist.")


_SORT_COLUMNS = {
    "name": res_t.c.name,
    "creationtime": res_t.c.creation_time,
    "lastmodifiedtime": res_t.c.last_modified_time,
    "status": res_t.c.status,
}

# How many rows to read at a time when a Python-side `where` may discard some of them.
_SCAN_BATCH = 200


class Resources:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._families: dict[str, Family] = {}

    # --- families -------------------------------------------------------------------------
    def register(self, type: str, *, label: str | None = None, case_sensitive: bool = False,
                 on_duplicate: ErrorFactory | None = None,
                 on_missing: ErrorFactory | None = None) -> Family:
        family = Family(type, label or type, case_sensitive, on_duplicate, on_missing)
        self._families[type] = family
        return family

    def family(self, type: str) -> Family:
        return self._families.get(type) or Family(type, type)

    def transaction(self):
        """One transaction around several repository calls (they join it)."""
        return self.db.session()

    @contextlib.contextmanager
    def preloaded(self, found: Iterable[Resource]) -> Iterator[None]:
        """Within the block, :meth:`get` (not for update) of one of ``found`` answers with it
        instead of reading its row again: Search renders a page through each family's
        Describe, which gets the resource by name, from rows it has just read."""
        outer = _PRELOADED.get()
        mine = {(r.account_id, r.region, r.type, self.family(r.type).key(r.name)): r
                for r in found}
        token = _PRELOADED.set({**(outer or {}), **mine})
        try:
            yield
        finally:
            _PRELOADED.reset(token)

    # --- single resources -----------------------------------------------------------------
    def create(self, ctx: _Scope, type: str, name: str, arn: str, data: Mapping[str, Any],
               status: str | None = None, *, tags: Iterable[Mapping[str, str]] | None = None,
               creation_time: dt.datetime | None = None,
               on_duplicate: ErrorFactory | None = None) -> Resource:
        family = self.family(type)
        created = utc(creation_time) if creation_time else now()
        row = dict(account_id=ctx.account_id, region=ctx.region, type=type, name=name,
                   name_key=family.key(name), arn=arn, status=status, creation_time=created,
                   last_modified_time=created, data=dict(data))
        with self.db.session() as s:
            try:
                # A savepoint, so a duplicate does not poison a surrounding transaction.
                with s.begin_nested():
                    new_id = s.execute(res_t.insert().values(**row)).inserted_primary_key[0]
            except IntegrityError:
                raise (on_duplicate or family.duplicate)(name, arn) from None
            if tags:
                self.add_tags(arn, tags)
        return _resource({"id": new_id, **row})

    def get(self, ctx: _Scope, type: str, name: str, *, for_update: bool = False,
            missing_ok: bool = False, on_missing: ErrorFactory | None = None) -> Resource | None:
        family = self.family(type)
        preloaded = _PRELOADED.get()
        if preloaded is not None and not for_update:
            found = preloaded.get((ctx.account_id, ctx.region, type, family.key(name)))
            if found is not None:
                return found
        query = sa.select(res_t).where(
            res_t.c.account_id == ctx.account_id, res_t.c.region == ctx.region,
            res_t.c.type == type, res_t.c.name_key == family.key(name))
        return self._one(query, for_update, missing_ok,
                         lambda: (on_missing or family.missing)(name, ""))

    def get_by_arn(self, ctx: _Scope, arn: str, *, type: str | None = None,
                   for_update: bool = False, missing_ok: bool = False,
                   on_missing: ErrorFactory | None = None) -> Resource | None:
        query = sa.select(res_t).where(
            res_t.c.account_id == ctx.account_id, res_t.c.region == ctx.region,
            res_t.c.arn == arn)
        if type is not None:
            query = query.where(res_t.c.type == type)
        family = self.family(type or "Resource")
        return self._one(query, for_update, missing_ok,
                         lambda: (on_missing or family.missing)("", arn))

    def _one(self, query, for_update: bool, missing_ok: bool, missing: Callable[[], AwsError]):
        if for_update:
            query = query.with_for_update()
        with self.db.session(write=for_update) as s:
            row = s.execute(query).mappings().first()
        if row is None:
            if missing_ok:
                return None
            raise missing()
        return _resource(row)

    def update(self, ctx: _Scope, type: str, name: str,
               changes: Mapping[str, Any] | Callable[[dict], dict] | None = None, *,
               status: str | None = _UNSET, expect_status: str | Iterable[str] | None = None,
               on_missing: ErrorFactory | None = None) -> Resource:
        """Change a resource and stamp its LastModifiedTime.

        ``changes`` is merged into ``data`` (a key set to None is removed), or is a function
        from the old ``data`` to the new one. ``expect_status`` makes the update conditional:
        if the current status is not (one of) it, ``ConflictException`` is raised and nothing
        changes, which lets the engine move a job through its states without races.
        """
        with self.db.session() as s:
            current = self.get(ctx, type, name, for_update=True, on_missing=on_missing)
            if expect_status is not None:
                allowed = {expect_status} if isinstance(expect_status, str) else set(expect_status)
                if current.status not in allowed:
                    raise ConflictError(f"{self.family(type).label} {current.name} is "
                                        f"{current.status}, not {' or '.join(sorted(allowed))}.")
            data = dict(current.data)
            if callable(changes):
                data = dict(changes(data))
            elif changes:
                for key, value in changes.items():
                    if value is None:
                        data.pop(key, None)
                    else:
                        data[key] = value
            values: dict[str, Any] = {"data": data, "last_modified_time": now()}
            if status is not _UNSET:
                values["status"] = status
            s.execute(res_t.update().where(res_t.c.id == current.id).values(**values))
        current.data = data
        current.last_modified_time = values["last_modified_time"]
        current.status = values.get("status", current.status)
        return current

    def delete(self, ctx: _Scope, type: str, name: str, *,
               on_missing: ErrorFactory | None = None) -> Resource:
        """Remove a resource with its tags and every association that names it."""
        with self.db.session() as s:
            current = self.get(ctx, type, name, for_update=True, on_missing=on_missing)
            s.execute(res_t.delete().where(res_t.c.id == current.id))
            s.execute(tags_t.delete().where(tags_t.c.arn == current.arn))
            s.execute(links_t.delete().where(sa.or_(
                links_t.c.source_arn == current.arn,
                links_t.c.destination_arn == current.arn)))
        return current

    # --- listing --------------------------------------------------------------------------
    def scan(self, type: str, *, statuses: Iterable[str] = ()) -> list[Resource]:
        """Every resource of a family in every account and region (for the engine's own
        bookkeeping, never for a request), oldest first."""
        query = sa.select(res_t).where(res_t.c.type == type)
        statuses = list(statuses)
        if statuses:
            query = query.where(res_t.c.status.in_(statuses))
        with self.db.session(write=False) as s:
            rows = s.execute(query.order_by(res_t.c.creation_time, res_t.c.id)).mappings().all()
        return [_resource(r) for r in rows]

    def list(self, ctx: _Scope, type: str, *, name_contains: str | None = None,
             created_after: dt.datetime | None = None, created_before: dt.datetime | None = None,
             status_equals: str | Iterable[str] | None = None, sort_by: str = "CreationTime",
             sort_order: str = "Descending", max_results: int | None = None,
             next_token: str | None = None,
             where: Mapping[Any, Any] | Callable[[Resource], bool] | None = None,
             arns: Iterable[Any] = ()) -> tuple[list[Resource], str | None]:
        """One page of a family's resources and the token of the next page (None at the end).

        ``where`` is either a mapping from a path into ``data`` ("Key", "Outer.Inner" or a
        tuple) to the value it must equal, evaluated by the database, or a predicate on the
        Resource evaluated here. Each entry of ``arns`` restricts the result to a set of ARNs:
        a list of them, or a subquery such as :meth:`linked`. A token from another listing,
        or a forged one, is a ``ValidationException``.
        """
        column = _SORT_COLUMNS.get((sort_by or "CreationTime").replace("_", "").lower())
        if column is None:
            raise ValidationError(f"Cannot sort by {sort_by!r}.")
        descending = (sort_order or "Descending").lower().startswith("desc")
        sort_key = sa.func.coalesce(column, "") if column is res_t.c.status else column

        query = sa.select(res_t).where(
            res_t.c.account_id == ctx.account_id, res_t.c.region == ctx.region,
            res_t.c.type == type)
        if name_contains:
            query = query.where(sa.func.lower(res_t.c.name).contains(
                name_contains.lower(), autoescape=True))
        if created_after is not None:
            query = query.where(res_t.c.creation_time > utc(created_after))
        if created_before is not None:
            query = query.where(res_t.c.creation_time < utc(created_before))
        if status_equals is not None:
            wanted = [status_equals] if isinstance(status_equals, str) else list(status_equals)
            query = query.where(res_t.c.status.in_(wanted))
        for allowed in arns:
            query = query.where(res_t.c.arn.in_(allowed if isinstance(allowed, sa.Select)
                                                  else list(allowed)))
        predicate = None
        if callable(where):
            predicate = where
        elif where:
            for path, value in where.items():
                query = query.where(_json_equals(path, value))

        scope = f"resources:{type}:{column.name}:{'d' if descending else 'a'}"
        if next_token:
            try:
                position = paging.decode(scope, next_token)
                after_value = _token_value(column, position["v"])
                after_id = int(position["i"])
            except (paging.BadToken, KeyError, TypeError, ValueError):
                raise ValidationError("The NextToken is not valid for this request.") from None
            query = query.where(_after(sort_key, after_value, after_id, descending))

        order = (sort_key.desc(), res_t.c.id.desc()) if descending else (
            sort_key.asc(), res_t.c.id.asc())
        query = query.order_by(*order)

        wanted_rows = None if max_results is None else max_results + 1
        found: list[Resource] = []
        with self.db.session(write=False) as s:
            if predicate is None:
                rows = s.execute(query.limit(wanted_rows) if wanted_rows else query).mappings()
                found = [_resource(r) for r in rows]
            else:
                offset = 0
                while wanted_rows is None or len(found) < wanted_rows:
                    batch = [_resource(r) for r in
                             s.execute(query.offset(offset).limit(_SCAN_BATCH)).mappings()]
                    found.extend(r for r in batch if predicate(r))
                    if len(batch) < _SCAN_BATCH:
                        break
                    offset += _SCAN_BATCH
        if max_results is None or len(found) <= max_results:
            return found, None
        page = found[:max_results]
        last = page[-1]
        last_value = getattr(last, column.name)
        token = paging.encode(scope, {
            "v": last_value.isoformat() if isinstance(last_value, dt.datetime) else (last_value or ""),
            "i": last.id})
        return page, token

    # --- tags -----------------------------------------------------------------------------
    def add_tags(self, arn: str, new_tags: Iterable[Mapping[str, str]] | Mapping[str, str]) -> None:
        """Add or overwrite tags; ``new_tags`` is AWS's [{"Key", "Value"}] list or a dict."""
        pairs = _tag_pairs(new_tags)
        if not pairs:
            return
        insert = (postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert)(tags_t)
        with self.db.session() as s:
            for key, value in pairs.items():
                stmt = insert.values(arn=arn, key=key, value=value)
                s.execute(stmt.on_conflict_do_update(index_elements=["arn", "key"],
                                                     set_={"value": stmt.excluded.value}))

    def list_tags(self, arn: str, max_results: int | None = None,
                  next_token: str | None = None) -> tuple[list[dict[str, str]], str | None]:
        query = sa.select(tags_t.c.id, tags_t.c.key, tags_t.c.value).where(tags_t.c.arn == arn)
        if next_token:
            try:
                after = int(paging.decode("tags", next_token)["i"])
            except (paging.BadToken, KeyError, TypeError, ValueError):
                raise ValidationError("The NextToken is not valid for this request.") from None
            query = query.where(tags_t.c.id > after)
        query = query.order_by(tags_t.c.id)
        if max_results is not None:
            query = query.limit(max_results + 1)
        with self.db.session(write=False) as s:
            rows = s.execute(query).all()
        token = None
        if max_results is not None and len(rows) > max_results:
            rows = rows[:max_results]
            token = paging.encode("tags", {"i": rows[-1].id})
        return [{"Key": r.key, "Value": r.value} for r in rows], token

    def tags_of(self, arn: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.list_tags(arn)[0]}

    def delete_tags(self, arn: str, keys: Iterable[str]) -> None:
        keys = list(keys)
        if keys:
            with self.db.session() as s:
                s.execute(tags_t.delete().where(tags_t.c.arn == arn, tags_t.c.key.in_(keys)))

    # --- associations ---------------------------------------------------------------------
    def associate(self, type: str, source_arn: str, destination_arn: str,
                  data: Mapping[str, Any] | None = None) -> bool:
        """Link two ARNs; False if the link already existed (it is left as it was)."""
        insert = (postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert)(links_t)
        stmt = insert.values(type=type, source_arn=source_arn, destination_arn=destination_arn,
                             creation_time=now(), data=dict(data) if data else None)
        with self.db.session() as s:
            inserted = s.execute(stmt.on_conflict_do_nothing(
                index_elements=["type", "source_arn", "destination_arn"]).returning(links_t.c.id))
            return inserted.first() is not None

    def disassociate(self, type: str, source_arn: str, destination_arn: str) -> bool:
        """Remove a link; False if there was none."""
        with self.db.session() as s:
            result = s.execute(links_t.delete().where(
                links_t.c.type == type, links_t.c.source_arn == source_arn,
                links_t.c.destination_arn == destination_arn))
            return result.rowcount > 0

    def linked(self, type: str, *, source: Any = None, destination: Any = None) -> sa.Select:
        """A subquery of the ARNs at the other end of ``type`` links from ``source`` (or to
        ``destination``); each may be an ARN, a list of ARNs, or another linked() subquery."""
        if (source is None) == (destination is None):
            raise TypeError("give exactly one of source= or destination=")
        if source is not None:
            return sa.select(links_t.c.destination_arn).where(
                links_t.c.type == type, _matches(links_t.c.source_arn, source))
        return sa.select(links_t.c.source_arn).where(
            links_t.c.type == type, _matches(links_t.c.destination_arn, destination))

    def has_links(self, type: str, *, source: Any = None, destination: Any = None) -> bool:
        query = self.linked(type, source=source, destination=destination).limit(1)
        with self.db.session(write=False) as s:
            return s.execute(query).first() is not None

    def links(self, type: str | None = None, *, source: str | None = None,
                     destination: str | None = None) -> list[Association]:
        query = sa.select(links_t.c.type, links_t.c.source_arn,
                          links_t.c.destination_arn, links_t.c.creation_time,
                          links_t.c.data)
        if type is not None:
            query = query.where(links_t.c.type == type)
        if source is not None:
            query = query.where(links_t.c.source_arn == source)
        if destination is not None:
            query = query.where(links_t.c.destination_arn == destination)
        with self.db.session(write=False) as s:
            rows = s.execute(query.order_by(links_t.c.id)).mappings().all()
        return [Association(**r) for r in rows]


# --- helpers ------------------------------------------------------------------------------

def _resource(row: Mapping[str, Any]) -> Resource:
    return Resource(**{k: v for k, v in row.items() if k != "name_key"})


def from_row(row: Mapping[str, Any]) -> Resource:
    """A Resource from a ``resources`` row read by a query of one's own (Search's)."""
    return _resource(row)


def _tag_pairs(new_tags) -> dict[str, str]:
    if isinstance(new_tags, Mapping):
        return {str(k): str(v) for k, v in new_tags.items()}
    return {t["Key"]: t.get("Value", "") or "" for t in new_tags}


def _matches(column, value):
    if isinstance(value, str):
        return column == value
    return column.in_(value)


def _json_equals(path, value):
    if isinstance(path, str):
        path = tuple(path.split("."))
    element = res_t.c.data[path if len(path) > 1 else path[0]]
    if value is None:
        return element.as_string().is_(None)
    if isinstance(value, bool):
        return element.as_boolean() == value
    if isinstance(value, int):
        return element.as_integer() == value
    if isinstance(value, float):
        return element.as_float() == value
    return element.as_string() == str(value)


def _token_value(column, raw):
    if column.name in ("creation_time", "last_modified_time"):
        return dt.datetime.fromisoformat(raw)
    if not isinstance(raw, str):
        raise ValueError(raw)
    return raw


def _after(sort_key, value, row_id: int, descending: bool):
    if descending:
        return sa.or_(sort_key < value, sa.and_(sort_key == value, res_t.c.id < row_id))
    return sa.or_(sort_key > value, sa.and_(sort_key == value, res_t.c.id > row_id))
