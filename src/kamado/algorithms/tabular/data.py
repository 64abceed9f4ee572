"""The training data of a JumpStart tabular algorithm (builtin-algorithms.md §2.1, §3.19):
CSV only, no header, the label in the first column.

Channels: ``train`` or ``training`` (one of them), optional ``validation``; a training prefix
may instead hold ``train/`` and ``validation/`` folders. Without validation data 20 % of the
training rows, picked with a fixed seed, are held out for early stopping and the metrics.
``categorical_index.json`` (``{"cat_index_list": [1, 5]}``, CSV column numbers, 0 being the
label) beside the data names the categorical columns. The ``model`` channel AWS's JumpStart
route adds (a pre-trained dummy model) is accepted and not read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kamado.algorithms.data import CSV, _load_csv, channel_files, parse_content_type
from kamado.images.environment import TrainingEnvironment
from kamado.images.program import ClientError

CATEGORICAL_FILE = "categorical_index.json"
VALIDATION_FRACTION = 0.2
SPLIT_SEED = 0
ALLOWED = ("train", "training", "validation", "model")


@dataclass
class Split:
    X: np.ndarray  # float32 features, NaN for missing values
    y: np.ndarray  # float32 labels


@dataclass
class TrainingData:
    train: Split
    validation: Split
    categorical: list[int]  # feature indexes (CSV column - 1)
    held_out: bool          # validation was split off the training data


def _check_channels(env: TrainingEnvironment, algorithm: str) -> str:
    unknown = [c for c in env.channels if c not in ALLOWED]
    if unknown:
        raise ClientError(f"Channel {unknown[0]} is not used by {algorithm}; its channels are "
                          "train or training (required) and validation.")
    given = [c for c in ("train", "training") if c in env.input_data_config]
    if not given:
        raise ClientError(f"{algorithm} requires a training channel (named train or training).")
    if len(given) > 1:
        raise ClientError(f"{algorithm} takes one training channel; this job has both train "
                          "and training.")
    for channel in given + (["validation"] if "validation" in env.input_data_config else []):
        content_type = env.content_type(channel)
        if content_type and parse_content_type(content_type, CSV)[0] != CSV:
            raise ClientError(f"Channel {channel}: content type {content_type} is not "
                              f"supported by {algorithm}; use text/csv.")
    return given[0]


def _data_files(root: Path) -> list[Path]:
    files = [p for p in channel_files(root) if p.name != CATEGORICAL_FILE]
    if not files:
        raise ClientError(f"Channel {root.name} has no data: no CSV files under its S3 prefix.")
    return files


def read_csv(root: Path, files: list[Path] | None = None, name: str | None = None) -> Split:
    """Every CSV file below ``root`` as one Split; ClientErrors name the file and line."""
    ds = _load_csv(root, files if files is not None else _data_files(root), 1, False)
    if ds.rows == 0:
        raise ClientError(f"Channel {name or root.name} has no records.")
    bad = ~np.isfinite(ds.y)
    if bad.any():
        row = int(np.argmax(bad)) + 1
        raise ClientError(f"Channel {name or root.name}: record {row} has no label (a missing "
                          "or non-finite value in the first column); every row needs one.")
    return Split(ds.X, ds.y)


def categorical_index(roots: list[Path], width: int) -> list[int]:
    """Feature indexes of the categorical columns, from the first ``categorical_index.json``
    found under the training data."""
    for root in roots:
        found = sorted(root.rglob(CATEGORICAL_FILE)) if root.is_dir() else []
        if found:
            return _parse_categorical(found[0], width)
    return []


def _parse_categorical(path: Path, width: int) -> list[int]:
    try:
        listed = json.loads(path.read_text()).get("cat_index_list")
    except (ValueError, AttributeError, UnicodeDecodeError):
        listed = None
    if not isinstance(listed, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                               for i in listed):
        raise ClientError(f"{CATEGORICAL_FILE} must be a JSON object "
                          '{"cat_index_list": [column, …]} of whole numbers.')
    if len(set(listed)) != len(listed):
        raise ClientError(f"{CATEGORICAL_FILE}: cat_index_list has repeated columns.")
    for i in listed:
        if not 0 < i <= width:
            raise ClientError(f"{CATEGORICAL_FILE}: column {i} is not a feature column; CSV "
                              f"columns 1 to {width} are features (0 is the label).")
    return sorted(i - 1 for i in listed)


def hold_out(split: Split) -> tuple[Split, Split]:
    """(train, validation): VALIDATION_FRACTION of the rows, chosen with a fixed seed."""
    n = split.X.shape[0]
    if n < 2:
        raise ClientError("The training channel needs at least two records when no "
                          "validation channel is given (20 % are held out for validation).")
    order = np.random.RandomState(SPLIT_SEED).permutation(n)
    cut = max(1, int(round(n * VALIDATION_FRACTION)))
    val, tr = np.sort(order[:cut]), np.sort(order[cut:])
    return Split(split.X[tr], split.y[tr]), Split(split.X[val], split.y[val])


def read_training(env: TrainingEnvironment, algorithm: str) -> TrainingData:
    channel = _check_channels(env, algorithm)
    root = env.channel_dir(channel)
    roots = [root]
    inner_train, inner_val = root / "train", root / "validation"
    validation = None
    if "validation" in env.input_data_config:
        train = read_csv(root, name=channel)
        validation = read_csv(env.channel_dir("validation"), name="validation")
        roots.append(env.channel_dir("validation"))
    elif inner_train.is_dir() and inner_val.is_dir():
        # one training prefix holding train/ and validation/ folders
        train = read_csv(inner_train, _data_files(inner_train), f"{channel}/train")
        validation = read_csv(inner_val, _data_files(inner_val), f"{channel}/validation")
    else:
        train = read_csv(root, name=channel)
    width = train.X.shape[1]
    if validation is not None and validation.X.shape[1] != width:
        raise ClientError(f"The validation data has {validation.X.shape[1]} features where the "
                          f"training data has {width}; both need the same columns.")
    categorical = categorical_index(roots, width)
    held_out = validation is None
    if held_out:
        train, validation = hold_out(train)
    return TrainingData(train, validation, categorical, held_out)


def check_categorical(split: Split, categorical: list[int], name: str) -> None:
    """Categorical columns hold category codes: non-negative whole numbers (or missing)."""
    for j in categorical:
        column = split.X[:, j]
        values = column[np.isfinite(column)]
        if values.size and (np.any(values < 0) or np.any(values != np.round(values))):
            raise ClientError(f"Channel {name}: categorical column {j + 1} (categorical_index."
                              "json) must hold non-negative whole numbers (category codes).")
