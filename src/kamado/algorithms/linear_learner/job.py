"""A Linear Learner training job: channels in, ``model/model_algo-1`` and AWS-shaped log
lines out.

Channels ``train`` (required), ``validation`` (model selection, threshold calibration, early
stopping) and ``test`` (final metrics only); CSV with the label first, or RecordIO-protobuf,
which is what a channel without a ContentType holds (the SDK's RecordSet sends none).
"""

from __future__ import annotations

import json

import numpy as np

from kamado.algorithms import channels
from kamado.algorithms.data import CSV, RECORDIO, load_channel, parse_content_type
from kamado.algorithms.linear_learner.checkpoint import Checkpointer, fingerprint
from kamado.algorithms.linear_learner.evaluation import evaluate
from kamado.algorithms.linear_learner.hyperparameters import validate
from kamado.algorithms.log import JobLog
from kamado.algorithms.linear_learner.model import LinearModel
from kamado.algorithms.linear_learner.trainer import Data, check_data, fit
from kamado.images.environment import TrainingEnvironment
from kamado.images.program import ClientError

CHANNELS = ("train", "validation", "test")
SEED = 0  # Linear Learner has no seed hyperparameter; a fixed one makes reruns repeat


def _read(env: TrainingEnvironment, channel: str, width: int | None) -> Data:
    content_type = env.content_type(channel)
    mime, _ = parse_content_type(content_type, RECORDIO)
    if mime not in (CSV, RECORDIO):
        raise ClientError(f"Channel {channel}: content type {content_type} is not supported by "
                          "Linear Learner; use text/csv or application/x-recordio-protobuf.")
    ds = load_channel(env.channel_dir(channel), content_type, default=RECORDIO)
    if ds.y is None:
        raise ClientError(f"Channel {channel} has no labels; Linear Learner needs the label in "
                          "the first CSV column or in each record's label.")
    X = ds.X if width is None else channels.widen(ds.X, width)
    return Data(X, np.asarray(ds.y, float), None if ds.w is None else np.asarray(ds.w, float))


def read_channels(env: TrainingEnvironment, hp: dict) -> dict[str, Data]:
    channels.check(env, "Linear Learner", CHANNELS)
    width = hp["feature_dim"] if hp["feature_dim"] != "auto" else None
    data = {"train": _read(env, "train", width)}
    width = data["train"].X.shape[1]
    for channel in ("validation", "test"):
        if channel in env.input_data_config:
            data[channel] = _read(env, channel, width)
    return data


def report(log: JobLog, channel: str, model: LinearModel, data: Data, hp: dict) -> None:
    """AWS's final block for a channel: ``#<channel>_score`` lines, then ``#quality_metric``."""
    # A metric with no value (AUC of a one-class channel) is left out, not logged as nan.
    results = [r for r in evaluate(model, data.X, data.y, hp, data.w) if np.isfinite(r[2])]
    for name, _, value in results:
        log.score(channel, name, value)
    for name, kind, value in results:
        log.quality(channel, name, kind, value)


def train(env: TrainingEnvironment) -> None:
    log = JobLog(env.current_host)
    hp = validate(env.hyperparameters)
    log.info(f"Final configuration: {json.dumps(hp, sort_keys=True)}")
    data = read_channels(env, hp)
    train_data, validation = data["train"], data.get("validation")
    if "test" in data:
        check_data(hp, data["test"], "test", train_data.X.shape[1])
    log.info(f"Training {hp['num_models']} models on {train_data.rows} records with "
             f"{train_data.X.shape[1]} features" + (f"; {validation.rows} validation records"
                                                     if validation is not None else ""))
    checkpointer = None
    if env.checkpoint_config is not None:
        checkpointer = Checkpointer(env.checkpoint_dir,
                                    fingerprint(hp, train_data.X.shape, SEED), env.current_host)
    result = fit(hp, train_data, validation, seed=SEED, log=log, checkpointer=checkpointer)
    model = result.model
    # Without validation data the model was chosen on the training data: report that.
    report(log, "validation" if validation is not None else "train", model,
           validation if validation is not None else train_data, hp)
    log.info(f"Best model found for hyperparameters: {json.dumps(result.settings)}")
    env.model_dir.mkdir(parents=True, exist_ok=True)
    path = model.save(env.model_dir)
    binary = hp["predictor_type"] == "binary_classifier"
    log.info(f"Saved the model to {path.name}"
             + (f" (threshold {model.threshold:.6g})" if binary else ""))
    if "test" in data:
        report(log, "test", model, data["test"], hp)
    else:
        log.info("Test data is not provided.")
