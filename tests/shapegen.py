"""Deterministic random values shaped by botocore's models.

``ValueGen`` makes *valid* values: it respects min/max, enums and ``pattern`` (strings are
generated from the pattern's own parse tree and checked with ``re.fullmatch``), and keeps text that
travels in headers to what HTTP headers can carry. ``ShapeGen`` breaks a share of them on purpose
(wrong types, out-of-range lengths, bad enum values, required members left out) for fuzzing.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import re._constants as C
import re._parser as sre

from kamado.gateway.validate import compile_pattern

SKIP = object()

_ASCII = [chr(c) for c in range(0x20, 0x7F)]
_UNIVERSE = _ASCII + ["\t", "\n", "é", "ü", "日", "ß"]
_FREE_TEXT = list("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-_./ ") + ["é", "日", "&", "<", ">", "%", "+", "\""]
_HEADER_TEXT = list("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-_./=:;")
_HEADER_KEY = list("abcdefghijklmnopqrstuvwxyz0123456789-")
# ASCII semantics, as Java's (and kamado's validate) shorthand classes have.
_CATEGORIES = {
    C.CATEGORY_DIGIT: re.compile(r"\d", re.A), C.CATEGORY_NOT_DIGIT: re.compile(r"\D", re.A),
    C.CATEGORY_SPACE: re.compile(r"\s", re.A), C.CATEGORY_NOT_SPACE: re.compile(r"\S", re.A),
    C.CATEGORY_WORD: re.compile(r"\w", re.A), C.CATEGORY_NOT_WORD: re.compile(r"\W", re.A),
}


class _PatternText:
    """Random strings drawn from a regular expression's parse tree."""

    def __init__(self, rng: random.Random, universe: list[str]) -> None:
        self.rng = rng
        self.universe = universe

    def make(self, pattern: str, cap: int) -> str | None:
        try:
            tree = sre.parse(pattern)
        except (re.error, OverflowError):
            return None
        out: list[str] = []
        self.groups: dict[int, str] = {}
        try:
            self._emit(tree, out, cap)
        except _Stuck:
            return None
        return "".join(out)

    def _emit(self, items, out: list[str], cap: int) -> None:
        for op, av in items:
            if op is C.LITERAL:
                out.append(chr(av))
            elif op is C.NOT_LITERAL:
                out.append(self._pick([c for c in self.universe if ord(c) != av]))
            elif op is C.ANY:
                out.append(self._pick([c for c in self.universe if c != "\n"]))
            elif op is C.IN:
                out.append(self._pick([c for c in self.universe if _in_class(c, av)], av))
            elif op is C.BRANCH:
                self._emit(self.rng.choice(av[1]), out, cap)
            elif op is C.SUBPATTERN:
                start = len(out)
                self._emit(av[3], out, cap)
                if av[0] is not None:
                    self.groups[av[0]] = "".join(out[start:])
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
                lo, hi, sub = av
                hi = lo + cap if hi == C.MAXREPEAT else min(hi, lo + cap)
                for _ in range(self.rng.randint(lo, hi)):
                    self._emit(sub, out, cap)
            elif op is C.ATOMIC_GROUP:
                self._emit(av, out, cap)
            elif op is C.GROUPREF:
                out.append(self.groups.get(av, ""))
            elif op is C.GROUPREF_EXISTS:
                branch = av[1] if av[0] in self.groups else av[2]
                if branch is not None:
                    self._emit(branch, out, cap)
            # AT (anchors) and lookarounds emit nothing; the final fullmatch check judges.

    def _pick(self, candidates: list[str], klass=None) -> str:
        if candidates:
            return self.rng.choice(candidates)
        if klass:  # a class outside our universe, e.g. [\u3000-\u303f]: take its first char
            for op, av in klass:
                if op is C.LITERAL:
                    return chr(av)
                if op is C.RANGE:
                    return chr(av[0])
        raise _Stuck


class _Stuck(Exception):
    pass


def _in_class(ch: str, items) -> bool:
    negate, hit = False, False
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            hit = hit or ord(ch) == av
        elif op is C.RANGE:
            hit = hit or av[0] <= ord(ch) <= av[1]
        elif op is C.CATEGORY:
            rx = _CATEGORIES.get(av)
            hit = hit or bool(rx and rx.match(ch))
    return hit != negate


class ValueGen:
    """Valid values for shapes. ``where`` is the location a value travels in: body, header,
    query, uri, xml (an XML body) — text for headers stays ASCII and trimmed."""

    def __init__(self, seed: int, *, xml: bool = False, subsecond: bool = True,
                 max_depth: int = 4) -> None:
        self.rng = random.Random(seed)
        self.xml = xml
        self.subsecond = subsecond
        self.max_depth = max_depth

    # --- operation level ----------------------------------------------------------------------
    def params(self, shape, optional: float = 0.8) -> dict:
        if shape is None:
            return {}
        return self.structure(shape, 0, "body", optional)

    # --- shapes -------------------------------------------------------------------------------
    def value(self, shape, depth: int, where: str):
        t = shape.type_name
        if t == "structure":
            return self.structure(shape, depth, where, 0.8 if depth <= 1 else 0.4)
        if t == "list":
            return self.list(shape, depth, where)
        if t == "map":
            return self.map(shape, depth, where)
        if t == "string":
            return self.string(shape, where)
        if t in ("integer", "long"):
            meta = shape.metadata
            lo = int(meta.get("min", 0))
            hi = int(meta.get("max", lo + 1000))
            return self.rng.randint(lo, min(hi, lo + 1000))
        if t in ("float", "double"):
            meta = shape.metadata
            lo = float(meta.get("min", 0))
            hi = float(meta.get("max", lo + 100))
            return round(lo + self.rng.random() * min(hi - lo, 100), 3) if hi > lo else lo
        if t == "boolean":
            return self.rng.random() < 0.5
        if t == "timestamp":
            when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(
                seconds=self.rng.randint(0, 10**8))
            rfc822 = shape.serialization.get("timestampFormat") == "rfc822"
            if self.subsecond and where != "header" and not rfc822:
                when += dt.timedelta(milliseconds=self.rng.randint(1, 999))
            return when
        if t == "blob":
            lo = int(shape.metadata.get("min", 1))
            n = self.rng.randint(max(lo, 1), max(lo, 1) + 24)
            return bytes(self.rng.randrange(256) for _ in range(n))
        return SKIP

    def structure(self, shape, depth: int, where: str, optional: float) -> dict:
        out = {}
        members = [(n, m) for n, m in shape.members.items()
                   if not (m.serialization.get("eventstream") or m.metadata.get("eventstream"))]
        if shape.is_tagged_union:
            name, member = self.rng.choice(members)
            for _ in range(len(members)):
                value = self.value(member, depth + 1, self._where(member, where))
                if value is not SKIP:
                    return {name: value}
                name, member = self.rng.choice(members)
            return out
        required = set(shape.required_members)
        for name, member in members:
            if name not in required and (depth >= self.max_depth or self.rng.random() >= optional):
                continue
            value = self.value(member, depth + 1, self._where(member, where))
            if value is not SKIP:
                out[name] = value
        if not out and members and depth > 0:
            # An empty structure has no spelling in the query protocol; give it one member.
            for name, member in self.rng.sample(members, len(members)):
                value = self.value(member, depth + 1, self._where(member, where))
                if value is not SKIP:
                    out[name] = value
                    break
        return out

    def _where(self, member, where: str) -> str:
        if member.serialization.get("hostLabel"):
            return "hostlabel"
        location = member.serialization.get("location")
        if location in ("header", "headers"):
            return "header"
        if location == "querystring":
            return "query"
        if location == "uri":
            return "uri"
        return where

    def list(self, shape, depth: int, where: str):
        meta = shape.metadata
        lo = max(int(meta.get("min", 0)), 1)
        hi = min(int(meta.get("max", 3)), lo + 2)
        if depth >= self.max_depth + 2 and lo <= 1:
            hi = lo
        item_where = "headerlist" if where == "header" else where
        items = []
        for _ in range(self.rng.randint(lo, max(lo, hi))):
            item = self.value(shape.member, depth + 1, item_where)
            if item is SKIP:
                return SKIP
            items.append(item)
        return items

    def map(self, shape, depth: int, where: str):
        meta = shape.metadata
        lo = max(int(meta.get("min", 0)), 1)
        out = {}
        for _ in range(self.rng.randint(lo, lo + 1)):
            key_where = "headerkey" if where == "header" else where
            key = self.string(shape.key, key_where)
            value = self.value(shape.value, depth + 1, "header" if where == "header" else where)
            if key is SKIP or value is SKIP:
                return SKIP
            out[key] = value
        return out

    def string(self, shape, where: str):
        meta = shape.metadata
        if meta.get("enum"):
            return self.rng.choice(meta["enum"])
        lo = int(meta.get("min", 0))
        hi = int(meta.get("max", 64))
        if where in ("header", "headerlist", "headerkey", "uri", "hostlabel"):
            lo = max(lo, 1)  # an empty header or path label does not survive HTTP
        pattern = meta.get("pattern")
        compiled = compile_pattern(pattern) if pattern else None
        header = where in ("header", "headerlist", "headerkey", "hostlabel")
        if compiled is not None:
            universe = [c for c in _UNIVERSE if c.isascii() and c.isprintable()] if header else _UNIVERSE
            maker = _PatternText(self.rng, universe)
            caps = (3, 8, max(lo, 4), 2 * max(lo, 4), 30, 100)
            for attempt in range(240):
                text = maker.make(compiled.pattern, caps[attempt % len(caps)])
                if text is not None and lo <= len(text) <= hi and compiled.fullmatch(text) \
                        and self._fits(text, where):
                    return text
            return SKIP
        if where == "headerkey":
            alphabet = _HEADER_KEY
        elif where == "hostlabel":
            alphabet = list("abcdefghij0123456789-.")
        elif header:
            alphabet = _HEADER_TEXT
        else:
            alphabet = _FREE_TEXT
        n = self.rng.randint(max(lo, 1), max(max(lo, 1), min(hi, lo + 16)))
        text = "".join(self.rng.choice(alphabet) for _ in range(n))
        if header:
            text = text.strip() or "x"
        return text

    def _fits(self, text: str, where: str) -> bool:
        if where.startswith("header") or where == "hostlabel":
            if text != text.strip() or not text.isascii() or any(c in text for c in ',"\t\n\r'):
                return False
            if where == "headerkey" and text != text.lower():
                return False
            if where == "hostlabel" and not re.fullmatch(r"[A-Za-z0-9.\-]+", text):
                return False
        if self.xml and "\r" in text:
            return False
        return True


def hash_seed(*parts: str) -> int:
    """A seed that is stable across runs (Python's str hash is salted per process)."""
    seed = 0
    for part in parts:
        for ch in part:
            seed = (seed * 131 + ord(ch)) % (2**31)
    return seed


class ShapeGen(ValueGen):
    """ValueGen that, with probability ``broken`` per value, makes it invalid instead."""

    def __init__(self, seed: int, broken: float = 0.0, max_depth: int = 4) -> None:
        super().__init__(seed, max_depth=max_depth)
        self.broken = broken

    def _break(self) -> bool:
        return self.broken > 0 and self.rng.random() < self.broken

    def value(self, shape, depth: int, where: str):
        if self._break():
            return self._invalid(shape, where)
        return super().value(shape, depth, where)

    def structure(self, shape, depth: int, where: str, optional: float) -> dict:
        out = super().structure(shape, depth, where, optional)
        required = [name for name in shape.required_members if name in out]
        if required and self._break():
            del out[self.rng.choice(required)]  # a required member left out
        return out

    def _invalid(self, shape, where: str):
        meta = shape.metadata
        choices = [lambda: 12345, lambda: "not-a-" + shape.type_name, lambda: None,
                   lambda: "x" * (int(meta.get("max", 2000)) + 1),
                   lambda: -(10 ** 12), lambda: {"unexpected": [1, 2]}, lambda: []]
        if where == "body":
            # Invalid for the model yet still sendable: a control character in a header is
            # broken HTTP, which the HTTP server refuses before kamado sees it.
            choices.append(lambda: "\x00\xff")
        if meta.get("enum"):
            choices.append(lambda: "NotAnEnumValue")
        return self.rng.choice(choices)()


POOL_NAMES = ["a1", "b2", "c3"]  # a small pool, so fuzzed requests meet each other's resources


def aim_at_pool(request: dict, rng: random.Random, arn_prefix: str) -> None:
    """Point most of a fuzzed request's names and ARNs at the shared pool, so that requests
    reach past "not found" into the providers' real work."""
    for key in list(request):
        if key.endswith("Name") and isinstance(request[key], str) and rng.random() < 0.8:
            request[key] = rng.choice(POOL_NAMES)
        if key == "ResourceArn" and rng.random() < 0.8:
            request[key] = f"{arn_prefix}experiment/{rng.choice(POOL_NAMES)}"
