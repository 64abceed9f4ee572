"""Search's property names, resolved against the botocore shape of the SearchRecord member.

A property name is a dotted path into the record a resource's Describe answers:
``TrainingJobName``, ``ResourceConfig.InstanceCount``, ``InputDataConfig.ChannelName`` (a list
on the way means "any element"), ``HyperParameters.eta`` (a map key: everything after the map's
name, dots included). Two names are keys into lists rather than members:

* ``Tags.<key>`` — the Value of the tag with that Key;
* ``Metrics.<name>[.<statistic>]`` — the entry of a metric list (elements with a
  ``MetricName``) named so: a training job's ``FinalMetricDataList`` Value, a trial
  component's ``Metrics`` summary (``Last`` unless a statistic such as ``Max`` is named).

Resolving a name gives a :class:`Property`: the steps that reach its values in a record (the
same steps the SQL translation follows through the stored document) and the kind of value
there, which decides the operators and how a filter's Value is read.
"""

from __future__ import annotations

from dataclasses import dataclass

from kamado.errors import ValidationError

# Kinds of value a property holds.
TEXT = "text"
NUMBER = "number"
TIMESTAMP = "timestamp"
BOOLEAN = "boolean"
HYPERPARAMETER = "hyperparameter"  # text that compares as a number when the Value is one
PARAMETER = "parameter"  # a trial component parameter: {StringValue} or {NumberValue}
OBJECT = "object"  # a structure, map or list of them: Exists and NotExists only

SCALARS = (TEXT, NUMBER, TIMESTAMP, BOOLEAN, HYPERPARAMETER)
_NUMERIC_TYPES = ("integer", "long", "float", "double")


@dataclass(frozen=True)
class Step:
    """One step from a value to the values inside it.

    ``key``: a structure member or a map key; ``each``: every element of a list; ``where``:
    only the elements (structures) whose member ``key`` equals ``value``.
    """

    op: str
    key: str = ""
    value: str = ""

    def __str__(self) -> str:
        if self.op == "each":
            return "[*]"
        if self.op == "where":
            return f"[{self.key}={self.value}]"
        return f".{self.key}"


EACH = Step("each")


@dataclass(frozen=True)
class Property:
    name: str  # as the request spelled it
    steps: tuple[Step, ...]
    kind: str

    @property
    def in_list(self) -> bool:
        """Whether a record may hold several values of it (a list on the way)."""
        return any(s.op == "each" for s in self.steps)

    def relative_to(self, outer: "Property") -> "Property | None":
        """This property seen from inside each value of ``outer`` (a NestedFilters property),
        or None if it is not inside it."""
        n = len(outer.steps)
        if self.steps[:n] != outer.steps or not self.name.startswith(outer.name + "."):
            return None
        return Property(self.name, self.steps[n:], self.kind)


def invalid_property(name: str, resource: str) -> ValidationError:
    return ValidationError(f"The property name {name} is not valid for resource {resource}: "
                           "it names no member of the resource's SearchRecord.")


class Schema:
    """The properties of one Search resource, from its SearchRecord member's shape.

    ``aliases`` maps a first segment to the member it stands for (a training job's
    ``Metrics`` is its ``FinalMetricDataList``).
    """

    def __init__(self, resource: str, shape, aliases: dict[str, str] | None = None) -> None:
        self.resource = resource
        self.shape = shape
        self.aliases = dict(aliases or {})
        self._cache: dict[str, Property] = {}

    def resolve(self, name: str) -> Property:
        found = self._cache.get(name)
        if found is None:
            found = self._cache[name] = self._resolve(name)
        return found

    def _resolve(self, name: str) -> Property:
        segments = name.split(".")
        shape, steps, i = self.shape, [], 0
        map_name = ""
        while i < len(segments):
            t = shape.type_name
            if t == "list":
                steps.append(EACH)
                shape = shape.member
                continue
            seg = segments[i]
            if t == "structure":
                member = self.aliases.get(seg, seg) if i == 0 else seg
                if member not in shape.members:
                    raise invalid_property(name, self.resource)
                mshape = shape.members[member]
                steps.append(Step("key", member))
                i += 1
                keyed = _keyed(seg, mshape)
                if keyed is not None and i < len(segments):
                    field, default = keyed
                    element = mshape.member
                    rest = segments[i:]
                    if field != "Key" and len(rest) > 1 and rest[-1] in element.members \
                            and rest[-1] != field:
                        key, stat = ".".join(rest[:-1]), rest[-1]
                    else:
                        key, stat = ".".join(rest), default
                    steps += [EACH, Step("where", field, key), Step("key", stat)]
                    shape = element.members[stat]
                    i = len(segments)
                    break
                map_name = member
                shape = mshape
                continue
            if t == "map":
                rest = segments[i:]
                value = shape.value
                if value.type_name == "structure" and len(rest) > 1 and rest[-1] in value.members:
                    key, i = ".".join(rest[:-1]), len(segments) - 1
                else:
                    key, i = ".".join(rest), len(segments)
                steps.append(Step("key", key))
                shape = value
                if shape.type_name == "string" and map_name.endswith("HyperParameters") \
                        and i == len(segments):
                    return Property(name, tuple(steps), HYPERPARAMETER)
                continue
            raise invalid_property(name, self.resource)  # a scalar with segments left over
        while shape.type_name == "list":
            steps.append(EACH)
            shape = shape.member
        return Property(name, tuple(steps), _kind(shape))

    # --- what GetSearchSuggestions offers ---------------------------------------------------------
    def keyed_roots(self) -> dict[str, tuple[Step, ...]]:
        """First segments whose next segment is a key (a map, tags, metrics) -> their steps."""
        out = {}
        for member, mshape in self.shape.members.items():
            if mshape.type_name == "map":
                out[member] = (Step("key", member),)
            elif _keyed(member, mshape) is not None:
                out[member] = (Step("key", member), EACH)
        for alias, member in self.aliases.items():
            mshape = self.shape.members.get(member)
            if mshape is not None and _keyed(alias, mshape) is not None:
                out[alias] = (Step("key", member), EACH)
        return out


def _keyed(segment: str, shape):
    """(the element member that is the key, the member a key leads to) for a list addressed by
    key: ``Tags`` (Key -> Value) and ``Metrics`` (MetricName -> Value, or Last)."""
    if shape.type_name != "list" or shape.member.type_name != "structure":
        return None
    members = shape.member.members
    if segment == "Tags" and "Key" in members and "Value" in members:
        return "Key", "Value"
    if segment == "Metrics" and "MetricName" in members:
        for default in ("Value", "Last"):
            if default in members:
                return "MetricName", default
    return None


def _kind(shape) -> str:
    t = shape.type_name
    if t == "string":
        return TEXT
    if t in _NUMERIC_TYPES:
        return NUMBER
    if t == "timestamp":
        return TIMESTAMP
    if t == "boolean":
        return BOOLEAN
    if t == "structure" and set(shape.members) == {"StringValue", "NumberValue"}:
        return PARAMETER
    return OBJECT
