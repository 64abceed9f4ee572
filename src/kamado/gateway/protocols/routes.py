"""Which operation a REST request names: method + path matched against each ``requestUri``.

Templates look like ``/{Bucket}/{Key+}?uploads`` or ``/{Bucket}?list-type=2``: ``{Label}`` is one
path segment, ``{Label+}`` is greedy (may hold ``/``), and what follows ``?`` are literal query
parameters that must be present. Several operations share one template (S3's ``PUT
/{Bucket}/{Key+}`` is PutObject, UploadPart, CopyObject or UploadPartCopy); the most specific
match wins: more literal query parameters, then more literal path text, then the operation whose
required query/header members are all in the request, then the one with more of them, then the
one using more of what the request carries, then a non-deprecated one, then the shortest name (the plain operation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from kamado.errors import UnknownOperation
from kamado.gateway.protocols.scalars import fix_latin1, percent_decode

_LABEL = re.compile(r"\{([^}]+)\}")


@dataclass
class Route:
    operation: object
    # (query key, required value or None for "present with any value")
    literal_query: tuple[tuple[str, str | None], ...]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    known_query: frozenset[str]
    known_headers: frozenset[str]
    deprecated: bool


@dataclass
class PathGroup:
    """All routes sharing one method and one path template: the path regex runs once."""

    regex: re.Pattern
    labels: dict[str, str]          # regex group -> label name
    literal_length: int
    routes: list[Route] = field(default_factory=list)


def _compile_path(path: str) -> tuple[re.Pattern, dict[str, str], int]:
    pattern, labels, greedy, literal = ["^"], {}, False, 0
    pos = 0
    for i, m in enumerate(_LABEL.finditer(path)):
        text = path[pos:m.start()]
        pattern.append(re.escape(text))
        literal += len(text)
        name = m.group(1)
        group = f"g{i}"
        if name.endswith("+"):
            name = name[:-1]
            greedy = True
            pattern.append(f"(?P<{group}>.+)")
        else:
            pattern.append(f"(?P<{group}>[^/]+)")
        labels[group] = name
        pos = m.end()
    tail = path[pos:]
    pattern.append(re.escape(tail))
    literal += len(tail)
    if path.endswith("}") and not greedy:
        pattern.append("/?")  # S3 accepts "/bucket/" for "/bucket"
    pattern.append("$")
    return re.compile("".join(pattern), re.DOTALL), labels, literal


def _literal_query(query: str) -> tuple[tuple[str, str | None], ...]:
    out = []
    for part in query.split("&"):
        if not part:
            continue
        key, eq, value = part.partition("=")
        out.append((key, value if eq else None))
    return tuple(out)


def _route(operation) -> Route:
    shape = operation.input_shape
    required_query, required_headers, known_query, known_headers = [], [], set(), []
    if shape is not None:
        required = set(shape.required_members)
        for name, member in shape.members.items():
            ser = member.serialization
            where, wire = ser.get("location"), ser.get("name", name)
            if where == "querystring":
                if member.type_name != "map":
                    known_query.add(wire)
                    if name in required:
                        required_query.append(wire)
            elif where == "header":
                known_headers.append(wire.lower())
                if name in required:
                    required_headers.append(wire.lower())
    return Route(operation, (), tuple(required_query), tuple(required_headers),
                 frozenset(known_query), frozenset(known_headers), bool(operation.deprecated))


class RouteTable:
    def __init__(self, service_model) -> None:
        self.service = service_model.service_name
        groups: dict[tuple[str, str], PathGroup] = {}
        for name in service_model.operation_names:
            op = service_model.operation_model(name)
            method = op.http.get("method", "POST").upper()
            path, _, query = op.http.get("requestUri", "/").partition("?")
            key = (method, path)
            if key not in groups:
                regex, labels, literal = _compile_path(path)
                groups[key] = PathGroup(regex, labels, literal)
            route = _route(op)
            route.literal_query = _literal_query(query)
            groups[key].routes.append(route)
        self._by_method: dict[str, list[PathGroup]] = {}
        for (method, _), group in groups.items():
            self._by_method.setdefault(method, []).append(group)

    def match(self, req) -> tuple[object, dict[str, str]]:
        method = req.method.upper()
        query_pairs = parse_qsl(fix_latin1(req.query_string), keep_blank_values=True)
        query = {}
        for k, v in query_pairs:
            query.setdefault(k, v)
        header_names = {k.lower() for k in req.headers}  # routes hold lower-case names
        best, best_score, best_labels = None, None, None
        for group in self._by_method.get(method, ()):
            m = group.regex.match(req.path)
            if m is None:
                continue
            for route in group.routes:
                literal_hits = 0
                for key, value in route.literal_query:
                    if key not in query or (value is not None and query[key] != value):
                        break
                    literal_hits += 1
                else:
                    score = (literal_hits, group.literal_length, *self._fit(route, query, header_names),
                             not route.deprecated, -len(route.operation.name))
                    if best_score is None or score > best_score:
                        best, best_score, best_labels = route, score, (group, m)
        if best is None:
            shown = req.path + (f"?{req.query_string}" if req.query_string else "")
            raise UnknownOperation(
                f"No operation of {self.service} matches {method} {shown}.")
        group, m = best_labels
        labels = {group.labels[g]: percent_decode(v) for g, v in m.groupdict().items()}
        return best.operation, labels

    @staticmethod
    def _fit(route: Route, query: dict, names: set[str]) -> tuple[bool, int, int]:
        present = 0
        for key in route.required_query:
            present += key in query
        for name in route.required_headers:
            present += name in names
        complete = present == len(route.required_query) + len(route.required_headers)
        used = sum(1 for key in query if key in route.known_query)
        used += len(route.known_headers & names)
        return (complete, present, used)
