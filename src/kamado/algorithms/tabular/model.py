"""The side file kamado writes beside a tabular model in ``model.tar.gz``: which algorithm,
which task and which classes. Inference reads it, and it is how kamado recognises one of
these artifacts (AWS's JumpStart models keep this in their inference script instead)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kamado.images.registry import TABULAR_MODEL

INFO_FILE = TABULAR_MODEL


@dataclass
class ModelInfo:
    algorithm: str              # "lightgbm" or "catboost"
    task: str                   # "regression", "binary" or "multiclass"
    features: int
    classes: list = field(default_factory=list)   # original label values, for classification
    categorical: list = field(default_factory=list)

    def save(self, directory: Path) -> Path:
        path = Path(directory) / INFO_FILE
        path.write_text(json.dumps(asdict(self), indent=1))
        return path


def plain(value: float):
    """A class label as the user wrote it: 3 rather than 3.0."""
    value = float(value)
    return int(value) if value.is_integer() else value


def load_info(directory: Path) -> ModelInfo | None:
    try:
        data = json.loads((Path(directory) / INFO_FILE).read_text())
    except FileNotFoundError:
        return None
    return ModelInfo(**data)


def algorithm_of(directory: Path) -> str | None:
    """"lightgbm" / "catboost" when ``directory`` (an extracted model.tar.gz) holds a model of
    kamado's tabular built-ins, else None."""
    try:
        info = load_info(directory)
    except (ValueError, TypeError, OSError):
        return None
    return info.algorithm if info is not None else None
