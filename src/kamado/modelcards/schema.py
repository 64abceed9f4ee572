"""Model card content against AWS's model card JSON schema.

``model_card.schema.json`` beside this module is the schema of ``CreateModelCard``'s
``Content``, written from AWS's documentation. A model package's card
(``CreateModelPackage``/``UpdateModelPackage`` ``ModelCard.ModelCardContent``) uses the same
schema simplified as AWS documents it: no ``model_package_details``, and a ``model_overview``
of ``model_creator`` and ``model_artifact`` only (:data:`PACKAGE`).

:func:`parse` reads a content string and returns the card as a dict, or raises
:class:`ContentError` naming every place the content breaks the schema.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources

FULL = "model_card"
PACKAGE = "model_package_model_card"
_PACKAGE_OVERVIEW = ("model_creator", "model_artifact")
MAX_PROBLEMS = 10


class ContentError(ValueError):
    """The content is not JSON, or breaks the schema; ``problems`` says where and how."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class MissingDependency(RuntimeError):
    """jsonschema is not installed (it comes with ``pip install 'kamado[modelcards]'``)."""


@lru_cache(maxsize=None)
def schema(kind: str = FULL) -> dict:
    """The JSON schema of a model card (``FULL``) or of a model package's card (``PACKAGE``)."""
    text = resources.files(__package__).joinpath("model_card.schema.json").read_text("utf-8")
    full = json.loads(text)
    if kind == FULL:
        return full
    if kind != PACKAGE:
        raise ValueError(f"unknown model card schema {kind!r}")
    package = copy.deepcopy(full)
    package["title"] = "SageMakerModelPackageModelCardSchema"
    package["properties"].pop("model_package_details")
    overview = package["properties"]["model_overview"]
    overview["properties"] = {k: v for k, v in overview["properties"].items()
                              if k in _PACKAGE_OVERVIEW}
    return package


@lru_cache(maxsize=None)
def _validator(kind: str):
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise MissingDependency("model card content is checked with jsonschema; install "
                                "kamado[modelcards]") from None
    cls = jsonschema.validators.validator_for(schema(kind))
    cls.check_schema(schema(kind))
    return cls(schema(kind))


def _where(error) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _explain(error) -> str:
    """One problem in words: the deepest failing branch of an anyOf, not 'is not valid'."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        # A metric names its kind in "type": the branch whose "type" matched is the one the
        # author meant; otherwise the branch whose errors went deepest.
        meant = [errs for errs in branches.values()
                 if not any(list(e.relative_path)[-1:] == ["type"] for e in errs)]
        if not meant:
            kinds = [e for errs in branches.values() for e in errs
                     if list(e.relative_path)[-1:] == ["type"] and e.validator == "enum"]
            if kinds:
                allowed = [v for e in kinds for v in e.validator_value]
                return f"{_where(kinds[0])}: {kinds[0].instance!r} is not one of {allowed}"
        candidates = [e for errs in (meant or branches.values()) for e in errs]
        best = max(candidates, key=lambda e: (len(e.absolute_path), -len(e.message)))
        return _explain(best)
    return f"{_where(error)}: {error.message}"


def problems(card: object, kind: str = FULL) -> list[str]:
    """Every way ``card`` (already parsed JSON) breaks the schema, in document order."""
    errors = sorted(_validator(kind).iter_errors(card),
                    key=lambda e: [str(p) for p in e.absolute_path])
    found: list[str] = []
    for error in errors:
        text = _explain(error)
        if text not in found:
            found.append(text)
    return found


def parse(content: str, kind: str = FULL) -> dict:
    """The card ``content`` describes, checked against the schema."""
    try:
        card = json.loads(content)
    except ValueError as exc:
        raise ContentError([f"the content is not valid JSON: {exc}"]) from None
    wrong = problems(card, kind)
    if wrong:
        shown = wrong[:MAX_PROBLEMS]
        if len(wrong) > MAX_PROBLEMS:
            shown.append(f"and {len(wrong) - MAX_PROBLEMS} more")
        raise ContentError(shown)
    return card
