"""Which resource types Search serves: one :func:`register` call per type.

A registration names the ``Resource`` value of the Search request, the store type its
resources are kept under, and how to render one resource as its SearchRecord member — most
simply the provider's own Describe method::

    from kamado.search import register
    register("ModelPackage", TYPE, ModelPackages.describe_model_package)

That alone makes every property of the record searchable and sortable (evaluated in Python on
rendered records, which is right for every property but renders every resource of the type).
``fields`` (see :mod:`kamado.search.sql`) says where properties are stored so their conditions
and sorts run in SQL: worth it for a family with many resources.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from kamado.search.properties import Schema
from kamado.search.sql import TAGS, Field

Renderer = Callable[[Any, Any, Any], dict]  # (platform, Resource, RequestContext) -> record

# Search's Resource values whose SearchRecord member is named otherwise.
_RECORD_MEMBER = {"ExperimentTrial": "Trial", "ExperimentTrialComponent": "TrialComponent"}


@dataclass
class Searchable:
    resource: str
    store_type: str
    render: Renderer
    record: str
    fields: Mapping[str, Field]
    tags: str | None  # where the record carries its Tags ("Tags", "Model.Tags"), if anywhere
    aliases: Mapping[str, str] = field(default_factory=dict)
    _schema: Schema | None = None

    @property
    def shape(self):
        from kamado.gateway.models import service_model

        return service_model("sagemaker").shape_for("SearchRecord").members[self.record]

    @property
    def schema(self) -> Schema:
        if self._schema is None:
            self._schema = Schema(self.resource, self.shape, self.aliases)
        return self._schema


_REGISTRY: dict[str, Searchable] = {}


def register(resource: str, store_type: str, render: Callable, *, record: str | None = None,
             fields: Mapping[str, Field] | None = None, tags: str | None = "",
             aliases: Mapping[str, str] | None = None, key: str | None = None) -> Searchable:
    """Make ``resource`` searchable.

    ``render`` is a provider's ``describe_*`` method (called with the resource's name, or its
    ARN when ``key="arn"``), or a function ``(platform, resource, ctx) -> dict``. ``record``
    is the SearchRecord member (defaults from ``resource``); ``tags`` the record path of its
    Tags (default: ``"Tags"`` when the record has that member; None for none); ``aliases``
    extra first segments (``{"Metrics": "FinalMetricDataList"}``).
    """
    from kamado.gateway.models import service_model

    record = record or _RECORD_MEMBER.get(resource, resource)
    shape = service_model("sagemaker").shape_for("SearchRecord").members[record]
    if tags == "":
        tags = "Tags" if "Tags" in shape.members else None
    declared = dict(fields or {})
    if tags and tags not in declared:
        declared[tags] = TAGS
    if getattr(render, "__name__", "").startswith("describe_"):
        render = _describe(render, key)
    entry = Searchable(resource, store_type, render, record, declared, tags, dict(aliases or {}))
    _REGISTRY[resource] = entry
    return entry


def searchable(resource: str) -> Searchable | None:
    return _REGISTRY.get(resource)


def registered() -> list[str]:
    return sorted(_REGISTRY)


def _describe(method: Callable, key: str | None) -> Renderer:
    """A provider's Describe method as a renderer: its class is found from the method, the
    request member that names the resource from the operation's input shape."""
    from kamado.gateway.models import service_model
    from kamado.services.base import snake_case

    owner = getattr(sys.modules[method.__module__], method.__qualname__.rsplit(".", 1)[0])
    model = service_model("sagemaker")
    operation = next(op for op in model.operation_names if snake_case(op) == method.__name__)
    required = model.operation_model(operation).input_shape.required_members
    member = next((m for m in required if m.endswith("Name")), required[0])
    by_arn = key == "arn"

    def render(platform, resource, ctx) -> dict:
        provider = platform.services.provider(owner)
        return method(provider, {member: resource.arn if by_arn else resource.name}, ctx)

    render.__name__ = f"render_{method.__name__}"
    return render
