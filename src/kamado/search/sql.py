"""Search conditions and sort keys as SQL over the store's tables, on SQLite and Postgres.

Where a property lives in the store is declared per resource type with :class:`Field`s, keyed
by its path in the record (``"TrainingJobName"``, ``"Model.PrimaryContainer"``):

* :class:`Column` — a column of ``resources`` (name, arn, status, the two times);
* :class:`Data` — a subtree of the JSON document ``resources.data`` that the record shows as it
  is stored (the request members a family echoes), read with ``json_extract``/``json_each``
  on SQLite and ``#>``/``#>>``/``jsonb_array_elements`` on Postgres;
* :class:`Rows` — a list kept in its own table: ``tags`` (the record's Tags) and
  ``final_metrics`` (a training job's FinalMetricDataList).

A condition on a property with no field, or whose steps the declared storage cannot follow,
is not translated; :mod:`kamado.search.query` evaluates it in Python on rendered records
instead. A translated condition means exactly what :mod:`kamado.search.evaluate` says it
means (tests/unit/search/test_parity.py compares the two on both backends).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from kamado.search.expression import (CONTAINS, EQUALS, EXISTS, GREATER, GREATER_EQUAL, IN,
                                      LESS, LESS_EQUAL, NOT_EQUALS, NOT_EXISTS, Condition,
                                      Junction, Nested, Node)
from kamado.search.properties import (BOOLEAN, HYPERPARAMETER, NUMBER, PARAMETER, TEXT,
                                      TIMESTAMP, Property, Step)
from kamado.store.tables import final_metrics as finals_t
from kamado.store.tables import resources as res_t
from kamado.store.tables import tags as tags_t
from kamado.store.types import NUMBER_PATTERN, utc

# --- where a property is stored ----------------------------------------------------------------


class Field:
    """Where a record property is kept in the store."""


@dataclass(frozen=True)
class Column(Field):
    name: str


@dataclass(frozen=True)
class Data(Field):
    """``data`` at ``path`` (dotted), or at the property's own path when None."""

    path: str | None = None


@dataclass(frozen=True)
class Rows(Field):
    table: str  # "tags" or "final_metrics"


NAME, ARN, STATUS = Column("name"), Column("arn"), Column("status")
CREATED, MODIFIED = Column("creation_time"), Column("last_modified_time")
DATA = Data()
TAGS, FINAL_METRICS = Rows("tags"), Rows("final_metrics")

_ROW_COLUMNS = {
    "tags": (tags_t, "arn", {"Key": "key", "Value": "value"}),
    "final_metrics": (finals_t, "source_arn", {"MetricName": "name", "Value": "value"}),
}
Namer = Callable[[str], str]  # a prefix -> the next alias name of one query


# --- locations: where the walk along a property's steps has got to -----------------------------

@dataclass
class Elements:
    """The elements of a list: a FROM item, the location of one element, the conditions that
    tie the FROM item to the resource row, and a guard on the list itself."""

    from_: Any
    element: "Loc"
    where: list
    guard: Any = None


class Loc:
    def key(self, key: str) -> "Loc | None":
        return None

    def each(self) -> Elements | None:
        return None

    # leaves; None: not translatable here
    def text(self):
        return None

    def number(self):
        return None

    def boolean(self, value: bool):
        return None

    def timestamp(self):
        """(an expression that orders as the timestamp does, a converter for a datetime)."""
        return None

    def hyperparameter(self, integer: bool):
        return None

    def present(self):
        return None


class RecordLoc(Loc):
    def __init__(self, sql: "Translator", prefix: tuple[str, ...] = ()) -> None:
        self.sql, self.prefix = sql, prefix

    def key(self, key: str) -> Loc | None:
        path = self.prefix + (key,)
        dotted = ".".join(path)
        field = self.sql.fields.get(dotted)
        if field is not None:
            return self.sql.field_loc(field, dotted)
        if any(f.startswith(dotted + ".") for f in self.sql.fields):
            return RecordLoc(self.sql, path)
        return None


class ColumnLoc(Loc):
    def __init__(self, column) -> None:
        self.column = column

    def text(self):
        return self.column

    def number(self):
        return self.column

    def timestamp(self):
        return self.column, lambda value: value

    def present(self):
        return self.column.isnot(None)


class RowsLoc(Loc):
    def __init__(self, table: str, name: Namer) -> None:
        self.table, self.name = table, name

    def each(self) -> Elements:
        table, link, columns = _ROW_COLUMNS[self.table]
        alias = table.alias(self.name("r"))
        return Elements(alias, RowLoc(alias, columns), [alias.c[link] == res_t.c.arn])


class RowLoc(Loc):
    def __init__(self, alias, columns: Mapping[str, str]) -> None:
        self.alias, self.columns = alias, columns

    def key(self, key: str) -> Loc | None:
        column = self.columns.get(key)
        return None if column is None else ColumnLoc(self.alias.c[column])

    def present(self):
        return sa.true()


class SqliteJson(Loc):
    """A place in a JSON document on SQLite: the document column and a JSON path, given as a
    prefix expression (an element's ``fullkey``) and the keys after it."""

    def __init__(self, root, base, keys: tuple[str, ...], name: Namer) -> None:
        self.root, self.base, self.keys, self.name = root, base, keys, name

    def key(self, key: str) -> Loc | None:
        if '"' in key or "\x00" in key:  # SQLite's JSON paths cannot quote a double quote
            return None
        return SqliteJson(self.root, self.base, self.keys + (key,), self.name)

    def _path(self):
        suffix = "".join(f'."{k}"' for k in self.keys)
        if self.base is None:
            return sa.literal("$" + suffix, sa.String)
        return self.base + sa.literal(suffix, sa.String) if suffix else self.base

    def _type(self):
        return sa.func.json_type(self.root, self._path(), type_=sa.String)

    def _extract(self, type_=sa.String):
        return sa.func.json_extract(self.root, self._path(), type_=type_)

    def text(self):
        return sa.case((self._type() == "text", self._extract()), else_=sa.null())

    def number(self):
        return sa.case((self._type().in_(["integer", "real"]), self._extract(sa.Float)),
                       else_=sa.null())

    def boolean(self, value: bool):
        return self._type() == ("true" if value else "false")

    def timestamp(self):
        inner = self.key("__dt__")
        return inner.text(), lambda value: utc(value).isoformat()

    def hyperparameter(self, integer: bool):
        fn = sa.func.kamado_integer if integer else sa.func.kamado_number
        return fn(self.text(), type_=sa.Float)

    def present(self):
        t = self._type()
        return sa.and_(t.isnot(None), t != "null",
                       sa.or_(t != "array", sa.func.json_array_length(self.root, self._path()) > 0),
                       sa.or_(t != "object", self._extract() != "{}"))

    def each(self) -> Elements:
        items = sa.func.json_each(self.root, self._path()).table_valued(
            sa.column("fullkey", sa.String), sa.column("type", sa.String)).alias(self.name("j"))
        return Elements(items, SqliteJson(self.root, items.c.fullkey, (), self.name), [],
                        guard=self._type() == "array")


_JSONB = postgresql.JSONB()
_KEYS = postgresql.ARRAY(sa.Text)


class PgJson(Loc):
    """A place in a JSONB value on Postgres: the value and the keys into it."""

    def __init__(self, root, keys: tuple[str, ...], name: Namer) -> None:
        self.root, self.keys, self.name = root, keys, name

    def key(self, key: str) -> Loc | None:
        if "\x00" in key:  # Postgres text cannot carry NUL
            return None
        return PgJson(self.root, self.keys + (key,), self.name)

    def _node(self):
        if not self.keys:
            return self.root
        return self.root.op("#>", return_type=_JSONB)(sa.literal(list(self.keys), _KEYS))

    def _raw(self):
        return self.root.op("#>>", return_type=sa.Text)(sa.literal(list(self.keys), _KEYS))

    def _type(self):
        return sa.func.jsonb_typeof(self._node(), type_=sa.String)

    def text(self):
        return sa.case((self._type() == "string", self._raw()), else_=sa.null())

    def number(self):
        return sa.case((self._type() == "number", sa.cast(self._raw(), sa.Float)),
                       else_=sa.null())

    def boolean(self, value: bool):
        return sa.and_(self._type() == "boolean", self._raw() == ("true" if value else "false"))

    def timestamp(self):
        inner = self.key("__dt__")
        return inner.text().collate("C"), lambda value: utc(value).isoformat()

    def hyperparameter(self, integer: bool):
        text = self.text()
        number = sa.case((text.op("~")(NUMBER_PATTERN), sa.cast(text, sa.Float)), else_=sa.null())
        return sa.func.trunc(number, type_=sa.Float) if integer else number

    def present(self):
        t, node = self._type(), self._node()
        return sa.and_(t.isnot(None), t != "null",
                       node != sa.cast(sa.literal("[]"), _JSONB),
                       node != sa.cast(sa.literal("{}"), _JSONB))

    def each(self) -> Elements:
        array = sa.case((self._type() == "array", self._node()),
                        else_=sa.cast(sa.literal("[]"), _JSONB))
        items = sa.func.jsonb_array_elements(array).table_valued(
            sa.column("value", _JSONB)).alias(self.name("j"))
        return Elements(items, PgJson(items.c.value, (), self.name), [])


# --- the translator ----------------------------------------------------------------------------

_COMPARE: dict[str, Callable] = {
    EQUALS: lambda x, v: x == v, GREATER: lambda x, v: x > v, GREATER_EQUAL: lambda x, v: x >= v,
    LESS: lambda x, v: x < v, LESS_EQUAL: lambda x, v: x <= v,
}


@dataclass
class Join:
    """A list kept in its own table, joined to the resource row by its unique key (one tag,
    one final metric): at most one row per resource, so conditions and the sort read its
    columns directly. Inner when a top-level condition requires the row anyway."""

    table: str
    key: str  # the element member that is the key: "Key" or "MetricName"
    value: str
    alias: Any
    onclause: Any
    inner: bool
    used: bool = False  # by a condition (not only the sort)


class Translator:
    def __init__(self, dialect: str, fields: Mapping[str, Field]) -> None:
        self.dialect = dialect
        self.fields = dict(fields)
        self.joins: list[Join] = []
        self._count = itertools.count()

    def name(self, prefix: str) -> str:
        """The next alias name: in the order this query makes them, so the same search
        compiles to the same SQL and SQLAlchemy's statement cache serves it."""
        return f"{prefix}{next(self._count)}"

    def for_query(self) -> "Translator":
        """A translator of one's own for one query (joins are per query)."""
        return Translator(self.dialect, self.fields)

    def join(self, prop: Property, inner: bool) -> Join | None:
        """Join the row that holds ``prop`` (a tag or a final metric picked by its key) so the
        sort and every condition on it read it directly; None if it is not such a property."""
        loc, steps = self.root(), prop.steps
        for i, step in enumerate(steps):
            if step.op != "key":
                break
            loc = loc.key(step.key)
            if loc is None:
                return None
        else:
            return None
        rest = steps[i:]
        if not isinstance(loc, RowsLoc) or len(rest) < 2 or rest[0].op != "each" \
                or rest[1].op != "where":
            return None
        table, link, columns = _ROW_COLUMNS[loc.table]
        key = rest[1].key
        if key not in ("Key", "MetricName") or key not in columns:
            return None
        alias = table.alias(self.name("s"))
        onclause = sa.and_(alias.c[link] == res_t.c.arn, alias.c[columns[key]] == rest[1].value)
        found = Join(loc.table, key, rest[1].value, alias, onclause, inner)
        self.joins.append(found)
        return found

    def _joined(self, table: str, key: str, value: str) -> Join | None:
        for j in self.joins:
            if (j.table, j.key, j.value) == (table, key, value):
                return j
        return None

    def from_(self, outer: bool = True):
        """The FROM clause: resources and this query's joins (without the outer ones that
        only the sort reads, when ``outer`` is False: they cannot change a count)."""
        out = res_t
        for j in self.joins:
            if j.inner or j.used or outer:
                out = out.join(j.alias, j.onclause, isouter=not j.inner)
        return out

    # locations
    def root(self) -> Loc:
        return RecordLoc(self)

    def field_loc(self, field: Field, dotted: str) -> Loc:
        if isinstance(field, Column):
            return ColumnLoc(res_t.c[field.name])
        if isinstance(field, Rows):
            return RowsLoc(field.table, self.name)
        keys = tuple((field.path or dotted).split("."))
        if self.dialect == "postgresql":
            return PgJson(res_t.c.data, keys, self.name)
        return SqliteJson(res_t.c.data, None, keys, self.name)

    # conditions
    def where(self, node: Node | None):
        """The SQL of a whole tree, or None if some part of it is not translatable."""
        if node is None:
            return sa.true()
        if isinstance(node, Condition):
            return self.condition(node, self.root())
        if isinstance(node, Nested):
            return self.nested(node)
        parts = [self.where(p) for p in node.parts]
        if any(p is None for p in parts):
            return None
        return sa.or_(*parts) if node.op == "Or" else sa.and_(*parts)

    def split(self, node: Node | None) -> tuple[list, Node | None]:
        """(SQL conditions, what is left for Python) of a tree: the top-level conjuncts that
        translate go to SQL; an Or translates whole or not at all."""
        if node is None:
            return [], None
        parts = node.parts if isinstance(node, Junction) and node.op == "And" else (node,)
        sql, rest = [], []
        for part in parts:
            translated = self.where(part)
            (rest if translated is None else sql).append(part if translated is None
                                                         else translated)
        if not rest:
            return sql, None
        return sql, rest[0] if len(rest) == 1 else Junction("And", tuple(rest))

    def condition(self, c: Condition, loc: Loc):
        if c.op in (NOT_EQUALS, NOT_EXISTS):
            positive = self.walk(loc, c.prop.steps,
                                 lambda leaf: self.leaf(c, EQUALS if c.op == NOT_EQUALS
                                                        else EXISTS, leaf))
            return None if positive is None else sa.not_(positive)
        return self.walk(loc, c.prop.steps, lambda leaf: self.leaf(c, c.op, leaf))

    def nested(self, n: Nested):
        def all_hold(element: Loc):
            parts = [self.condition(c, element) for c in n.conditions]
            return None if any(p is None for p in parts) else sa.and_(*parts)
        return self.walk(self.root(), n.prop.steps, all_hold)

    def walk(self, loc: Loc, steps: tuple[Step, ...], leaf: Callable[[Loc], Any]):
        """``leaf(location)`` where the steps end; a list on the way becomes an EXISTS over its
        elements (with ``where`` steps as conditions on the element)."""
        for i, step in enumerate(steps):
            if step.op == "key":
                loc = loc.key(step.key)
                if loc is None:
                    return None
                continue
            if step.op != "each":
                return None
            if isinstance(loc, RowsLoc) and i + 1 < len(steps) and steps[i + 1].op == "where":
                joined = self._joined(loc.table, steps[i + 1].key, steps[i + 1].value)
                if joined is not None:  # the one row with that key is already joined
                    joined.used = True
                    _, _, columns = _ROW_COLUMNS[loc.table]
                    return self.walk(RowLoc(joined.alias, columns), steps[i + 2:], leaf)
            elements = loc.each()
            if elements is None:
                return None
            conditions, j = list(elements.where), i + 1
            while j < len(steps) and steps[j].op == "where":
                key = elements.element.key(steps[j].key)
                text = key.text() if key is not None else None
                if text is None or (not isinstance(key, ColumnLoc) and "\x00" in steps[j].value):
                    return None
                conditions.append(text == steps[j].value)
                j += 1
            inner = self.walk(elements.element, steps[j:], leaf)
            if inner is None:
                return None
            found = sa.select(sa.literal(1)).select_from(elements.from_).where(
                *conditions, inner).exists()
            return found if elements.guard is None else sa.and_(elements.guard, found)
        return leaf(loc)

    def leaf(self, c: Condition, op: str, loc: Loc):
        if op == EXISTS:
            return loc.present()
        kind, mode = c.prop.kind, c.mode
        if kind == PARAMETER:
            return None
        if kind == TEXT or mode == "text":
            x = loc.text()
            if x is None or _has_nul(c.value):
                # The store keeps a text with NUL in a tagged form (types.encode_value) that
                # SQL does not read as text: Python decides.
                return None
            if op == CONTAINS:
                fn = sa.func.strpos if self.dialect == "postgresql" else sa.func.instr
                return fn(x, c.value) > 0
            if op == IN:
                return x.in_(list(c.value))
            return sa.and_(x.isnot(None), x == c.value)
        if kind == HYPERPARAMETER:
            x, value = loc.hyperparameter(mode == "integer"), c.value
        elif kind == NUMBER:
            x, value = loc.number(), c.value
        elif kind == TIMESTAMP:
            got = loc.timestamp()
            if got is None:
                return None
            x, value = got[0], got[1](c.value)
        elif kind == BOOLEAN:
            return loc.boolean(c.value)
        else:
            return None
        if x is None:
            return None
        return sa.and_(x.isnot(None), _COMPARE[op](x, value))

    # sorting
    def sort_keys(self, prop: Property, required: bool = False) -> list | None:
        """The ORDER BY keys of a property: [group, value] ([group, number, text] for a
        hyperparameter), as :func:`kamado.search.evaluate.sort_key` builds them; None if the
        property cannot be sorted on in SQL. A tag or final metric is joined (inner when
        ``required``: a top-level condition needs it to exist), so the database can read it
        in order from its index."""
        kind = prop.kind
        joined = self.join(prop, required) if kind in (TEXT, NUMBER) else None
        if joined is not None and joined.inner:
            value = self.scalar(prop, lambda loc: loc.text() if kind == TEXT else loc.number())
            return [sa.literal(0), self._ordered(value) if kind == TEXT else value]
        if kind == HYPERPARAMETER:
            number = self.scalar(prop, lambda loc: loc.hyperparameter(False))
            text = self.scalar(prop, lambda loc: loc.text())
            if number is None or text is None:
                return None
            text = self._ordered(text)
            group = sa.case((number.isnot(None), 0), (text.isnot(None), 1), else_=2)
            return [group, number, sa.case((number.is_(None), text), else_=sa.null())]
        if kind == TEXT:
            value = self.scalar(prop, lambda loc: loc.text())
            value = None if value is None else self._ordered(value)
        elif kind == NUMBER:
            value = self.scalar(prop, lambda loc: loc.number())
        elif kind == TIMESTAMP:
            value = self.scalar(prop, lambda loc: (loc.timestamp() or (None,))[0])
        elif kind == BOOLEAN:
            value = self.scalar(prop, lambda loc: _boolean_number(loc))
        else:
            return None
        if value is None:
            return None
        return [sa.case((value.isnot(None), 0), else_=2), value]

    def _ordered(self, text):
        # Postgres orders text by the database's collation; byte order is Python's order.
        return text.collate("C") if self.dialect == "postgresql" else text

    def scalar(self, prop: Property, leaf: Callable[[Loc], Any]):
        """The one value of a property as an expression: directly, through this query's join
        of it, or a subquery through a list kept in its own table and picked by key."""
        loc, steps = self.root(), prop.steps
        for i, step in enumerate(steps):
            if step.op == "key":
                loc = loc.key(step.key)
                if loc is None:
                    return None
                continue
            if not isinstance(loc, RowsLoc) or step.op != "each":
                return None
            if i + 1 < len(steps) and steps[i + 1].op == "where":
                joined = self._joined(loc.table, steps[i + 1].key, steps[i + 1].value)
                if joined is not None:
                    _, _, columns = _ROW_COLUMNS[loc.table]
                    inner = RowLoc(joined.alias, columns)
                    for later in steps[i + 2:]:
                        inner = inner.key(later.key) if later.op == "key" else None
                        if inner is None:
                            return None
                    return leaf(inner)
            elements = loc.each()
            rest = steps[i + 1:]
            if not rest or rest[0].op != "where":
                return None
            conditions = list(elements.where)
            element, j = elements.element, 0
            while j < len(rest) and rest[j].op == "where":
                key = element.key(rest[j].key)
                if key is None:
                    return None
                conditions.append(key.text() == rest[j].value)
                j += 1
            inner = element
            for later in rest[j:]:
                if later.op != "key":
                    return None
                inner = inner.key(later.key)
                if inner is None:
                    return None
            value = leaf(inner)
            if value is None:
                return None
            return sa.select(value).select_from(elements.from_).where(
                *conditions).limit(1).scalar_subquery()
        return leaf(loc)


def _has_nul(value) -> bool:
    if isinstance(value, tuple):
        return any("\x00" in v for v in value)
    return isinstance(value, str) and "\x00" in value


def _boolean_number(loc: Loc):
    true = loc.boolean(True)
    false = loc.boolean(False)
    if true is None:
        return None
    return sa.case((true, 1), (false, 0), else_=sa.null())


def after(keys: list, last: list, last_id: int, descending: bool):
    """Rows that come after (``last``..., ``last_id``) in ORDER BY ``keys``, id: the first key
    (the group) ascending, the others and the id as ``descending`` says."""
    terms, equal = [], []
    for index, (expr, value) in enumerate(list(zip(keys, last)) + [(res_t.c.id, last_id)]):
        ascending = index == 0 or not descending
        if value is not None:
            terms.append(sa.and_(*equal, expr > value if ascending else expr < value))
            equal.append(expr == value)
        else:
            equal.append(expr.is_(None))
    return sa.or_(*terms)


def order_by(keys: list, descending: bool) -> list:
    out = [] if isinstance(keys[0], sa.BindParameter) else [keys[0].asc()]  # a constant group
    out += [k.desc() if descending else k.asc() for k in keys[1:]]
    out.append(res_t.c.id.desc() if descending else res_t.c.id.asc())
    return out
