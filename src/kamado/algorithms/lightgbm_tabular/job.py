"""A LightGBM training job (JumpStart's ``lightgbm-classification-model`` /
``lightgbm-regression-model``): CSV channels in, ``model/model.pkl`` and LightGBM's evaluation log
out (:mod:`kamado.algorithms.tabular.job`)."""

from __future__ import annotations

from kamado.algorithms.lightgbm_tabular.hyperparameters import ALGORITHM, validate
from kamado.algorithms.lightgbm_tabular.model import fit
from kamado.algorithms.tabular import job
from kamado.images.environment import TrainingEnvironment


def train(env: TrainingEnvironment) -> None:
    job.train(env, ALGORITHM, validate, fit)
