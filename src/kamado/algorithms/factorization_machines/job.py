"""A Factorization Machines training job: channels ``train`` (required) and ``test``,
RecordIO-protobuf with Float32 tensors only (a channel without a ContentType is RecordIO, as
the SDK's RecordSet sends it; CSV is refused, as AWS refuses it). Writes
``model/model_algo-1``, per-epoch training lines and, with a test channel, AWS's
``#test_score`` and ``#quality_metric`` lines."""

from __future__ import annotations

import json

import numpy as np

from kamado.algorithms import channels, recordio
from kamado.algorithms.data import (RECORDIO, Dataset, channel_files, open_plain,
                                    parse_content_type)
from kamado.algorithms.factorization_machines.hyperparameters import ALGORITHM, validate
from kamado.algorithms.factorization_machines.metrics import evaluate
from kamado.algorithms.factorization_machines.trainer import SEED, fit
from kamado.algorithms.log import JobLog
from kamado.images.environment import TrainingEnvironment
from kamado.images.program import ClientError

CHANNELS = ("train", "test")
_DTYPES = {np.dtype("<f8"): "Float64", np.dtype(np.int32): "Int32"}


def check_content_type(env: TrainingEnvironment, channel: str) -> None:
    mime, _ = parse_content_type(env.content_type(channel), RECORDIO)
    if mime != RECORDIO:
        raise ClientError(f"Channel {channel}: content type {env.content_type(channel)} is not "
                          f"supported by {ALGORITHM}; it trains on "
                          "application/x-recordio-protobuf (Float32 tensors) only.")


def _first_frame(path) -> bytes | None:
    """The file's first record, read alone (the whole file is read once, later)."""
    with open_plain(path) as stream:
        return next(recordio.read_frames(stream), None)


def check_float32(env: TrainingEnvironment, channel: str) -> None:
    """AWS's Factorization Machines reads Float32 tensors only; the first record of each file
    says which tensors it holds (the SDK writes a whole array with one dtype)."""
    root = env.channel_dir(channel)
    for path in channel_files(root):
        try:
            first = _first_frame(path)
            record = None if first is None else recordio.decode_record(first)
        except (recordio.RecordIOError, OSError, EOFError) as exc:
            raise ClientError(f"RecordIO-protobuf file {path.relative_to(root)} of channel "
                              f"{channel} is not valid: {exc}") from None
        tensor = None if record is None else record["features"].get("values")
        dtype = None if not tensor or "values" not in tensor else tensor["values"].dtype
        if dtype in _DTYPES:
            raise ClientError(f"RecordIO-protobuf file {path.relative_to(root)} of channel "
                              f"{channel} holds {_DTYPES[dtype]} tensors; {ALGORITHM} reads "
                              "Float32 tensors only (write the array as float32).")


def read(env: TrainingEnvironment, channel: str, hp: dict) -> Dataset:
    check_content_type(env, channel)
    check_float32(env, channel)
    data = channels.read(env, channel, ALGORITHM, feature_dim=hp["feature_dim"],
                         formats=(RECORDIO,))
    if hp["predictor_type"] == "binary_classifier":
        bad = ~np.isin(data.y, (0.0, 1.0))
        if bad.any():
            raise ClientError(f"Channel {channel}: record {int(np.argmax(bad)) + 1} has label "
                              f"{data.y[bad][0]:g}; a binary_classifier needs labels 0 or 1.")
    elif not np.isfinite(data.y).all():
        raise ClientError(f"Channel {channel} has missing or infinite labels.")
    return data


def train(env: TrainingEnvironment) -> None:
    log = JobLog(env.current_host)
    hp = validate(env.hyperparameters)
    log.info(f"Final configuration: {json.dumps(hp, sort_keys=True)}")
    channels.check(env, ALGORITHM, CHANNELS)
    data = read(env, "train", hp)
    test = read(env, "test", hp) if "test" in env.input_data_config else None
    log.info(f"Training on {data.rows} records with {hp['feature_dim']} features, "
             f"{hp['num_factors']} factors")
    model = fit(data.X, data.y, hp, seed=SEED, log=log)
    env.model_dir.mkdir(parents=True, exist_ok=True)
    model.save(env.model_dir)
    if test is None:
        log.info("Test data is not provided.")
        return
    results = evaluate(model.scores(test.X), test.y, model.binary)
    for name, _, value in results:
        log.score("test", name, value)
    for name, kind, value in results:
        log.quality("test", name, kind, value)
