"""One Search page: filter, sort and page a resource type's resources, in SQL where it can.

The plan, from the checked expression and the sort property:

1. The top-level conjuncts that translate become the WHERE clause (with the account, region
   and type); the rest is evaluated in Python on rendered records.
2. If the sort property translates, rows come in SQL order from a keyset cursor (the last
   row's sort key and id, carried in NextToken): with nothing left for Python, one LIMIT
   query and a COUNT(*) for TotalHits; otherwise batches are rendered and filtered until the
   page is full.
3. Otherwise every row the WHERE clause lets through is rendered, filtered, sorted in Python
   (:func:`kamado.search.evaluate.sort_key`) and the page taken after the token's key.

Only the page's resources are rendered in the first two cases, so a search over 10,000
training jobs renders 50 of them, however many match.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable

import sqlalchemy as sa

from kamado.errors import ValidationError
from kamado.search import evaluate
from kamado.search.expression import (CONTAINS, EQUALS, EXISTS, GREATER, GREATER_EQUAL, IN,
                                      LESS, LESS_EQUAL, Condition, Junction, Node)
from kamado.search.properties import Property
from kamado.search.sql import MODIFIED, Translator, after, order_by
from kamado.store import paging
from kamado.store.resources import Resource, from_row
from kamado.store.tables import resources as res_t

BATCH = 200  # rows rendered at a time when Python filters what SQL let through


@dataclass
class Page:
    records: list[dict]
    next_token: str | None
    total: int
    exact: bool  # TotalHits.Relation: EqualTo, or GreaterThanOrEqualTo


@dataclass
class Plan:
    """How a search will run (what tests and the docs' examples check)."""

    where: list  # SQL conditions
    residual: Node | None  # left for Python
    sort_keys: list | None  # ORDER BY keys, or None: sorted in Python
    sql: Translator  # this query's (its joins)


def fingerprint(*parts: Any) -> str:
    """A digest of what a token was issued for: a token of another search is refused."""
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class Query:
    def __init__(self, db, translator: Translator, store_type: str,
                 render: Callable[[list[Resource]], list[dict | None]]) -> None:
        """``render`` gives the records of resources, in their order (None for one that has
        gone since the query read it)."""
        self.db = db
        self.sql = translator
        self.store_type = store_type
        self.render = render

    def plan(self, node: Node | None, sort: Property | None, python_only: bool = False) -> Plan:
        sql = self.sql.for_query()
        if python_only:
            return Plan([], node, None, sql)
        if sort is None:
            keys = [sa.literal(0), res_t.c[MODIFIED.name]]
        else:  # first, so that conditions on a joined sort property read the join
            keys = sql.sort_keys(sort, required=_required(node, sort))
        where, residual = sql.split(node)
        return Plan(where, residual, keys, sql)

    def page(self, ctx, node: Node | None, sort: Property | None, descending: bool,
             max_results: int, token: str | None, scope: str, *,
             python_only: bool = False) -> Page:
        plan = self.plan(node, sort, python_only)
        position = self._decode(token, scope) if token else None
        base = [res_t.c.account_id == ctx.account_id, res_t.c.region == ctx.region,
                res_t.c.type == self.store_type, *plan.where]
        if plan.sort_keys is None:
            return self._sorted_in_python(base, plan, sort, descending, max_results,
                                          position, scope)
        return self._sorted_in_sql(base, plan, descending, max_results, position, scope)

    # --- SQL order ------------------------------------------------------------------------------
    def _sorted_in_sql(self, base, plan: Plan, descending: bool, max_results: int,
                       position: dict | None, scope: str) -> Page:
        keys = plan.sort_keys
        labelled = [k.label(f"_k{i}") for i, k in enumerate(keys)]
        query = sa.select(res_t, *labelled).select_from(plan.sql.from_()).where(
            *base).order_by(*order_by(keys, descending))
        seen = int(position.get("n", 0)) if position else 0
        start = (_load_keys(position["k"]), int(position["i"])) if position else None
        with self.db.session(write=False) as s:
            if plan.residual is None:
                return self._page_in_sql(s, plan, base, keys, labelled, descending, max_results,
                                         position, start, seen, scope)
            matched: list[tuple[Any, dict]] = []
            exhausted = False
            while len(matched) <= max_results:
                q = query if start is None else query.where(after(keys, *start, descending))
                batch = s.execute(q.limit(BATCH)).mappings().all()
                if batch:
                    records = self.render([from_row(_row(r)) for r in batch])
                    matched += [(row, rec) for row, rec in zip(batch, records)
                                if rec is not None and evaluate.matches(plan.residual, rec)]
                    last = batch[-1]
                    start = ([last[f"_k{i}"] for i in range(len(keys))], last["id"])
                if len(batch) < BATCH:
                    exhausted = True
                    break
        more = len(matched) > max_results
        page = matched[:max_results]
        token = (self._token(scope, page[-1][0], len(keys), seen + len(page))
                 if more else None)
        return Page([rec for _, rec in page], token, seen + len(matched), exhausted)

    def _page_in_sql(self, s, plan: Plan, base, keys, labelled, descending: bool,
                     max_results: int, position, start, seen: int, scope: str) -> Page:
        """Filter and sort in a statement that reads ids and sort keys only, then read the
        page's rows by id. The first page counts every match: with a window function in that
        statement when it reads every match anyway (a scan), or in a COUNT of its own when the
        sort is a joined metric or tag, which the database reads in index order and stops
        after the page. Later pages carry the count in the token."""
        first = start is None
        apart = first and any(j.inner for j in plan.sql.joins)
        columns = [res_t.c.id, *labelled]
        if first and not apart:
            columns.append(sa.func.count().over().label("_total"))
        query = sa.select(*columns).select_from(plan.sql.from_()).where(*base).order_by(
            *order_by(keys, descending))
        if not first:
            query = query.where(after(keys, *start, descending))
        found = s.execute(query.limit(max_results + 1)).mappings().all()
        more = len(found) > max_results
        found = found[:max_results]
        if apart:
            total = s.execute(sa.select(sa.func.count()).select_from(
                plan.sql.from_(outer=False)).where(*base)).scalar_one()
        elif first:
            total = found[0]["_total"] if found else 0
        else:
            total = int(position.get("t", seen + len(found)))
        rows = {r["id"]: r for r in s.execute(sa.select(res_t).where(
            res_t.c.id.in_([f["id"] for f in found]))).mappings()} if found else {}
        records = [r for r in self.render([from_row(rows[f["id"]]) for f in found
                                           if f["id"] in rows]) if r is not None]
        token = None
        if more:
            last = found[-1]
            token = paging.encode(scope, {
                "k": _dump_keys([last[f"_k{i}"] for i in range(len(keys))]), "i": last["id"],
                "n": seen + len(found), "t": total})
        return Page(records, token, total, True)

    def _token(self, scope: str, row, n_keys: int, seen: int) -> str:
        return paging.encode(scope, {"k": _dump_keys([row[f"_k{i}"] for i in range(n_keys)]),
                                     "i": row["id"], "n": seen})

    # --- Python order ---------------------------------------------------------------------------
    def _sorted_in_python(self, base, plan: Plan, sort: Property | None, descending: bool,
                          max_results: int, position: dict | None, scope: str) -> Page:
        with self.db.session(write=False) as s:
            rows = s.execute(sa.select(res_t).select_from(plan.sql.from_()).where(
                *base)).mappings().all()
            resources = [from_row(r) for r in rows]
            records = self.render(resources)
        keyed = []
        for res, rec in zip(resources, records):
            if rec is None or not evaluate.matches(plan.residual, rec):
                continue
            if sort is None:
                key = (0, res.last_modified_time)
            else:
                key = evaluate.sort_key(sort, rec, descending)
            keyed.append((key + (res.id,), rec))
        keyed = evaluate.sort_records(keyed, lambda item: item[0], descending)
        total = len(keyed)
        if position is not None:
            start = tuple(_load_keys(position["k"])) + (int(position["i"]),)
            keyed = [item for item in keyed
                     if evaluate.compare_keys(item[0], start, descending) > 0]
        page = keyed[:max_results]
        token = None
        if len(keyed) > max_results:
            last = page[-1][0]
            token = paging.encode(scope, {"k": _dump_keys(list(last[:-1])), "i": last[-1]})
        return Page([rec for _, rec in page], token, total, True)

    @staticmethod
    def _decode(token: str, scope: str) -> dict:
        try:
            position = paging.decode(scope, token)
            _load_keys(position["k"])
            int(position["i"])
            return position
        except (paging.BadToken, KeyError, TypeError, ValueError):
            raise ValidationError("The NextToken is not valid for this request: it was issued "
                                  "for another search (Resource, SearchExpression, SortBy or "
                                  "SortOrder differ) or was altered.") from None


# Operators that hold only where the property has a value: a top-level condition with one
# means resources without the property are not results.
_NEEDS_VALUE = (EQUALS, GREATER, GREATER_EQUAL, LESS, LESS_EQUAL, IN, CONTAINS, EXISTS)


def _required(node: Node | None, prop: Property) -> bool:
    """Whether a top-level condition of ``node`` excludes resources without ``prop``."""
    if node is None:
        return False
    parts = node.parts if isinstance(node, Junction) and node.op == "And" else (node,)
    return any(isinstance(p, Condition) and p.prop.steps == prop.steps and p.op in _NEEDS_VALUE
               for p in parts)


def _row(mapping) -> dict:
    return {k: v for k, v in mapping.items() if not k.startswith("_k")}


def _dump_keys(keys: list) -> list:
    out = []
    for k in keys:
        if isinstance(k, dt.datetime):
            out.append({"t": k.isoformat()})
        elif isinstance(k, float) and k != k:
            out.append({"f": "nan"})
        else:
            out.append(k)
    return out


def _load_keys(raw) -> list:
    if not isinstance(raw, list):
        raise ValueError(raw)
    out = []
    for k in raw:
        if isinstance(k, dict) and "t" in k:
            out.append(dt.datetime.fromisoformat(k["t"]))
        elif isinstance(k, dict) and "f" in k:
            out.append(float(k["f"]))
        elif k is None or isinstance(k, (str, int, float)):
            out.append(k)
        else:
            raise ValueError(k)
    return out
