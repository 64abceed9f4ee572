"""A PCA training job: channels ``train`` (required) and ``test``, CSV without labels
(``text/csv;label_size=0``) or RecordIO-protobuf (a channel without a ContentType; labels,
if any, are ignored); writes ``model/model_algo-1``.

AWS documents no metrics for PCA, so the job logs only progress and throughput (and, for a
test channel, the mean squared reconstruction error as a plain log line, no metric)."""

from __future__ import annotations

import json

import numpy as np

from kamado.algorithms import channels
from kamado.algorithms.log import JobLog
from kamado.algorithms.pca.decomposition import fit
from kamado.algorithms.pca.hyperparameters import ALGORITHM, validate
from kamado.images.environment import TrainingEnvironment

CHANNELS = ("train", "test")
SEED = 0  # PCA has no seed hyperparameter; a fixed one makes randomized reruns repeat


def reconstruction_error(model, X) -> float:
    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X, np.float64)
    mean = model.mean if model.mean is not None else 0.0
    rebuilt = model.project(X) @ model.v.astype(np.float64).T + mean
    return float(np.mean(np.sum((X - rebuilt) ** 2, axis=1)))


def train(env: TrainingEnvironment) -> None:
    log = JobLog(env.current_host)
    hp = validate(env.hyperparameters)
    log.info(f"Final configuration: {json.dumps(hp, sort_keys=True)}")
    channels.check(env, ALGORITHM, CHANNELS)
    data = channels.read(env, "train", ALGORITHM, label="ignored",
                         feature_dim=hp["feature_dim"])
    test = None
    if "test" in env.input_data_config:
        test = channels.read(env, "test", ALGORITHM, label="ignored",
                             feature_dim=hp["feature_dim"])
    log.info(f"{hp['algorithm_mode'].capitalize()} PCA of {data.rows} records with "
             f"{hp['feature_dim']} features: {hp['num_components']} components")
    model = fit(data.X, hp, seed=SEED, log=log)
    env.model_dir.mkdir(parents=True, exist_ok=True)
    path = model.save(env.model_dir)
    log.info(f"Saved {model.num_components} components to {path.name}")
    if test is None:
        log.info("Test data is not provided.")
        return
    log.info(f"Test mean squared reconstruction error: {reconstruction_error(model, test.X)!r}")
