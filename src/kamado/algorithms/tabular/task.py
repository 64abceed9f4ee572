"""Classification or regression, binary or multiclass.

AWS sells each JumpStart tabular algorithm as two models (``lightgbm-classification-model``,
``lightgbm-regression-model``) whose training scripts differ; no hyperparameter says which.
kamado has one image per algorithm, so it decides, first match wins:

1. the JumpStart source directory of the job (``…/<algo>/transfer_learning/<task>/…`` in
   ``sagemaker_submit_directory``), as AWS's own route says;
2. the evaluation metric, when the user named one that belongs to one kind of task
   (LightGBM ``metric=rmse`` → regression, ``multi_logloss`` → multiclass; CatBoost
   ``eval_metric=RMSE`` → regression, ``MultiClass`` → multiclass);
3. the labels: integers with at most :data:`MAX_CLASSES` distinct values are classes,
   anything else is a regression target (kamado's own rule).
"""

from __future__ import annotations

import numpy as np

from kamado.images.program import ClientError
from kamado.images.registry import jumpstart_script

REGRESSION, BINARY, MULTICLASS = "regression", "binary", "multiclass"
MAX_CLASSES = 20


def jumpstart_source(hyperparameters: dict) -> tuple[str, str] | None:
    """(algorithm, "classification"|"regression") of a JumpStart training script tarball named
    by ``sagemaker_submit_directory``, or None."""
    return jumpstart_script((hyperparameters or {}).get("sagemaker_submit_directory"))


def is_classes(y: np.ndarray) -> bool:
    values = np.unique(y)
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values))
                and len(values) <= MAX_CLASSES)


def decide(y: np.ndarray, *, jumpstart: str | None, metric_kind: str | None,
           algorithm: str) -> str:
    """REGRESSION, BINARY or MULTICLASS for labels ``y``; ``jumpstart``: "classification" or
    "regression" from the source directory; ``metric_kind``: REGRESSION, BINARY, MULTICLASS,
    "classification" or None, from the metric hyperparameter."""
    wanted = jumpstart or metric_kind
    if wanted is None:
        wanted = "classification" if is_classes(y) else REGRESSION
    if wanted == REGRESSION:
        return REGRESSION
    classes = np.unique(y)
    if len(classes) < 2:
        raise ClientError(f"{algorithm} classification needs at least two classes in the "
                          f"training labels; they hold only {classes.tolist()}.")
    if wanted in (BINARY, MULTICLASS):
        if wanted == BINARY and len(classes) > 2:
            raise ClientError(f"The job's metric hyperparameter names a metric of binary "
                              f"classification, but the training labels have {len(classes)} "
                              "classes.")
        return wanted
    return BINARY if len(classes) == 2 else MULTICLASS


def encode_labels(y: np.ndarray, classes: np.ndarray, channel: str) -> np.ndarray:
    """Class indexes 0..K-1 for labels ``y`` (the classes are the training labels' sorted
    values); a validation label the training data never had is the user's to fix."""
    index = np.searchsorted(classes, y)
    index = np.clip(index, 0, len(classes) - 1)
    unknown = classes[index] != y
    if unknown.any():
        raise ClientError(f"Channel {channel} has label {y[unknown][0]:g}, which the training "
                          f"data does not have (its classes are {_shown(classes)}).")
    return index.astype(np.int32)


def _shown(classes: np.ndarray) -> str:
    text = ", ".join(f"{c:g}" for c in classes[:10])
    return text + (", …" if len(classes) > 10 else "")
