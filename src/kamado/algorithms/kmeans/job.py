"""A K-Means training job: channels ``train`` (required) and ``test``, CSV without labels
(``text/csv;label_size=0``) or RecordIO-protobuf (a channel without a ContentType; labels,
if any, are ignored); writes ``model/model_algo-1`` and AWS's log lines: ``train msd``, and
for a test channel ``test msd`` / ``test ssd`` as ``eval_metrics`` asks."""

from __future__ import annotations

import json

from kamado.algorithms import channels
from kamado.algorithms.kmeans.clustering import fit
from kamado.algorithms.kmeans.hyperparameters import ALGORITHM, validate
from kamado.algorithms.log import JobLog
from kamado.images.environment import TrainingEnvironment

CHANNELS = ("train", "test")
SEED = 0  # K-Means has no seed hyperparameter; a fixed one makes reruns repeat


def train(env: TrainingEnvironment) -> None:
    log = JobLog(env.current_host)
    hp = validate(env.hyperparameters)
    log.info(f"Final configuration: {json.dumps(hp, sort_keys=True)}")
    channels.check(env, ALGORITHM, CHANNELS)
    data = channels.read(env, "train", ALGORITHM, label="ignored",
                         feature_dim=hp["feature_dim"], dense=True)
    test = None
    if "test" in env.input_data_config:
        test = channels.read(env, "test", ALGORITHM, label="ignored",
                             feature_dim=hp["feature_dim"], dense=True)
    model = fit(data.X, hp, seed=SEED, log=log)
    log.quality("train", "msd", "loss", model.score(data.X, "msd"))
    env.model_dir.mkdir(parents=True, exist_ok=True)
    path = model.save(env.model_dir)
    log.info(f"Saved {model.k} centres of dimension {model.feature_dim} to {path.name}")
    if test is None:
        log.info("Test data is not provided.")
        return
    for metric in hp["eval_metrics"]:
        value = model.score(test.X, metric)
        log.score("test", metric, value)
        log.quality("test", metric, "loss", value)
