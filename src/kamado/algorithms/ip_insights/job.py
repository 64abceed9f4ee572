"""An IP Insights training job: channels ``train`` (required) and ``validation``, CSV only
(``entity_id,IPv4`` lines, no header); writes ``model/model_algo-1`` and AWS's
``#quality_metric`` lines (per-batch and per-epoch training accuracy and cross entropy, the
validation ``discriminator_auc`` per epoch)."""

from __future__ import annotations

import json

from kamado.algorithms import channels
from kamado.algorithms.data import CSV, parse_content_type
from kamado.algorithms.ip_insights.hyperparameters import ALGORITHM, validate
from kamado.algorithms.ip_insights.records import read_channel
from kamado.algorithms.ip_insights.trainer import SEED, fit
from kamado.algorithms.log import JobLog
from kamado.images.environment import TrainingEnvironment
from kamado.images.program import ClientError

CHANNELS = ("train", "validation")


def read(env: TrainingEnvironment, channel: str):
    content_type = env.content_type(channel)
    try:
        mime, _ = parse_content_type(content_type, CSV)
    except ClientError:
        mime = None
    if mime != CSV:
        raise ClientError(f"Channel {channel}: content type {content_type} is not supported by "
                          f"{ALGORITHM}; it trains on text/csv (entity_id,IPv4 per line) only.")
    return read_channel(env.channel_dir(channel), channel)


def train(env: TrainingEnvironment) -> None:
    log = JobLog(env.current_host)
    hp = validate(env.hyperparameters)
    log.info(f"Final configuration: {json.dumps(hp, sort_keys=True)}")
    channels.check(env, ALGORITHM, CHANNELS)
    entities, ips = read(env, "train")
    validation = read(env, "validation") if "validation" in env.input_data_config else None
    log.info(f"Training on {len(ips)} pairs of {len(set(entities))} entities"
             + (f"; {len(validation[1])} validation pairs" if validation else ""))
    model = fit(entities, ips, hp, validation=validation, seed=SEED, log=log)
    env.model_dir.mkdir(parents=True, exist_ok=True)
    model.save(env.model_dir)
    if validation is None:
        log.info("Validation data is not provided.")
