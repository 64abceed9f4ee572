"""The training callbacks and model files of the built-in XGBoost. Kept apart from
:mod:`.train` because importing XGBoost takes a third of a second: train imports this module
only once the data is loaded, while XGBoost loads on another thread."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import xgboost as xgb

log = logging.getLogger("kamado.xgboost")
MODEL_FILE = "xgboost-model"
CHECKPOINT_PREFIX = "xgboost-checkpoint."
KEEP_CHECKPOINTS = 5


def save(booster: xgb.Booster, path: Path) -> None:
    """Write ``booster`` to ``path`` (AWS's names have no extension) as UBJSON."""
    # XGBoost picks the format from the file name and warns without an extension: write
    # under a temporary .ubj name and rename, which also keeps a reader (the checkpoint sync,
    # a stop) from ever seeing half a file. Loading reads the format from the content.
    tmp = path.with_name(f".{path.name}.tmp.ubj")
    booster.save_model(str(tmp))
    os.replace(tmp, path)


def latest_checkpoint(directory: Path) -> tuple[int, xgb.Booster, str] | None:
    """The newest checkpoint that loads: (its round, the model, its file name)."""
    found = []
    for p in directory.glob(CHECKPOINT_PREFIX + "*"):
        m = re.fullmatch(re.escape(CHECKPOINT_PREFIX) + r"(\d+)", p.name)
        if m:
            found.append((int(m.group(1)), p))
    for number, path in sorted(found, reverse=True):
        try:
            # from bytes: XGBoost warns about a file name without a format extension
            return number, xgb.Booster(model_file=bytearray(path.read_bytes())), path.name
        except xgb.core.XGBoostError:  # a half-synced file: try the one before
            log.warning("checkpoint %s cannot be loaded; trying an older one", path.name)
    return None


class Checkpoints(xgb.callback.TrainingCallback):
    """Saves the model after every round as ``xgboost-checkpoint.<round>`` (rounds counted
    from the first, across restarts); keeps the newest few (the platform syncs them)."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory

    def after_iteration(self, model, epoch, evals_log) -> bool:
        done = model.num_boosted_rounds() - 1
        save(model, self.directory / f"{CHECKPOINT_PREFIX}{done}")
        old = self.directory / f"{CHECKPOINT_PREFIX}{done - KEEP_CHECKPOINTS}"
        if old.exists():
            old.unlink()
        return False


class EvaluationLines(xgb.callback.EvaluationMonitor):
    """XGBoost's ``[i]\\ttrain-…`` lines, numbered from the first round across a resumption
    (XGBoost 3 numbers a continued training from 0), as AWS's container prints them."""

    def before_training(self, model):
        self.offset = model.num_boosted_rounds()
        return super().before_training(model)

    def after_iteration(self, model, epoch, evals_log) -> bool:
        return super().after_iteration(model, epoch + self.offset, evals_log)


class SaveEveryRound(xgb.callback.TrainingCallback):
    """save_model_on_termination: the model file is always the latest round's, so a stop
    (SIGTERM) leaves a model behind, as AWS's SaveIntermediateModel callback does."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def after_iteration(self, model, epoch, evals_log) -> bool:
        save(model, self.path)
        return False
