"""A CatBoost training job (JumpStart's ``catboost-classification-model`` /
``catboost-regression-model``): CSV channels in, ``model/model.cbm`` and CatBoost's evaluation log
out (:mod:`kamado.algorithms.tabular.job`)."""

from __future__ import annotations

from kamado.algorithms.catboost_tabular.hyperparameters import ALGORITHM, validate
from kamado.algorithms.catboost_tabular.model import fit
from kamado.algorithms.tabular import job
from kamado.images.environment import TrainingEnvironment


def train(env: TrainingEnvironment) -> None:
    job.train(env, ALGORITHM, validate, fit)
