"""A k-NN training job: channels ``train`` (required) and ``test``, CSV with the label first
(``label_size``) or RecordIO-protobuf (a channel without a ContentType); writes
``model/model_algo-1`` and, with a test channel, AWS's ``#test_score`` and
``#quality_metric`` lines (``accuracy`` for a classifier, ``mse`` for a regressor)."""

from __future__ import annotations

import json
import time

import numpy as np

from kamado.algorithms import channels
from kamado.algorithms.knn.hyperparameters import ALGORITHM, validate
from kamado.algorithms.knn.model import fit
from kamado.algorithms.log import JobLog
from kamado.images.environment import TrainingEnvironment
from kamado.images.program import ClientError

CHANNELS = ("train", "test")


def read(env: TrainingEnvironment, channel: str, hp: dict):
    data = channels.read(env, channel, ALGORITHM, feature_dim=hp["feature_dim"])
    if not np.isfinite(data.y).all():
        raise ClientError(f"Channel {channel} has records with a missing or infinite label; "
                          f"{ALGORITHM} needs a number as every record's label.")
    return data


def score(model, X, y) -> tuple[str, str, float]:
    """(metric, kind, value) of the model on labelled rows."""
    predicted = model.predict_labels(X)
    if model.settings["predictor_type"] == "classifier":
        return "accuracy", "score", float(np.mean(predicted == np.asarray(y, np.float32)))
    return "mse", "loss", float(np.mean((predicted.astype(np.float64) - y) ** 2))


def train(env: TrainingEnvironment) -> None:
    log = JobLog(env.current_host)
    hp = validate(env.hyperparameters)
    log.info(f"Final configuration: {json.dumps(hp, sort_keys=True)}")
    channels.check(env, ALGORITHM, CHANNELS)
    data = read(env, "train", hp)
    test = read(env, "test", hp) if "test" in env.input_data_config else None
    started = time.perf_counter()
    model = fit(data.X, data.y, hp)
    elapsed = time.perf_counter() - started
    log.info(f"Indexed {model.index.ntotal} of {data.rows} records in a {hp['index_type']} "
             f"index ({hp['index_metric']}) of dimension {model.index.d}")
    log.throughput(data.rows / max(elapsed, 1e-9))
    env.model_dir.mkdir(parents=True, exist_ok=True)
    model.save(env.model_dir)
    if test is None:
        log.info("Test data is not provided.")
        return
    name, kind, value = score(model, test.X, test.y)
    log.score("test", name, value)
    log.quality("test", name, kind, value)
