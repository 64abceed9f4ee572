"""A JumpStart tabular training job (LightGBM, CatBoost): CSV channels in, the model and the
library's evaluation log out. Each algorithm's ``job.train`` is this with its own ``fit``."""

from __future__ import annotations

import json
from typing import Callable

from kamado.algorithms.tabular.data import check_categorical, read_training
from kamado.algorithms.tabular.task import jumpstart_source
from kamado.images.environment import TrainingEnvironment


def train(env: TrainingEnvironment, algorithm: str, validate: Callable, fit: Callable) -> None:
    hp = validate(env.hyperparameters)
    print(f"Hyperparameters: {json.dumps(hp, sort_keys=True)}", flush=True)
    data = read_training(env, algorithm)
    for name, split in (("train", data.train), ("validation", data.validation)):
        check_categorical(split, data.categorical, name)
    source = jumpstart_source(env.hyperparameters)
    print(f"Training on {data.train.X.shape[0]} records with {data.train.X.shape[1]} features; "
          f"{data.validation.X.shape[0]} validation records"
          + (" (held out of the training data)" if data.held_out else "")
          + (f"; categorical features {data.categorical}" if data.categorical else ""),
          flush=True)
    model = fit(env.hyperparameters, data.train.X, data.train.y,
                validation=(data.validation.X, data.validation.y), categorical=data.categorical,
                jumpstart_task=source[1] if source else None)
    path = model.save(env.model_dir)
    print(f"Trained a {model.info.task} model; saved {path.name}", flush=True)
