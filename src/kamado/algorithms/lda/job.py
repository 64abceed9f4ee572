"""An LDA training job: channels ``train`` (required) and ``test``; word counts as CSV
without a label (``text/csv;label_size=0``) or RecordIO-protobuf, dense or sparse (a channel
without a ContentType). Writes ``model/model_algo-1`` and, with a test channel, AWS's
``#quality_metric: host=algo-1, test pwll <score>=…`` line."""

from __future__ import annotations

import json
import time


from kamado.algorithms import channels
from kamado.algorithms.lda.hyperparameters import ALGORITHM, validate
from kamado.algorithms.lda.model import fit
from kamado.algorithms.log import JobLog
from kamado.images.environment import TrainingEnvironment
from kamado.images.program import ClientError

CHANNELS = ("train", "test")


def read(env: TrainingEnvironment, channel: str, hp: dict):
    X = channels.read(env, channel, ALGORITHM, label="ignored", feature_dim=hp["feature_dim"]).X
    values = X.data if hasattr(X, "toarray") else X
    if (values < 0).any():
        raise ClientError(f"Channel {channel} has negative values; {ALGORITHM} needs word "
                          "counts (numbers >= 0).")
    return X


def train(env: TrainingEnvironment) -> None:
    log = JobLog(env.current_host)
    hp = validate(env.hyperparameters)
    log.info(f"Final configuration: {json.dumps(hp, sort_keys=True)}")
    channels.check(env, ALGORITHM, CHANNELS)
    X = read(env, "train", hp)
    test = read(env, "test", hp) if "test" in env.input_data_config else None
    started = time.perf_counter()
    model = fit(X, hp)
    elapsed = time.perf_counter() - started
    log.info(f"Fitted {hp['num_topics']} topics on {X.shape[0]} documents in "
             f"{model.lda.n_iter_} EM passes; train perplexity {model.lda.bound_:.6g}")
    log.throughput(X.shape[0] / max(elapsed, 1e-9))
    env.model_dir.mkdir(parents=True, exist_ok=True)
    model.save(env.model_dir)
    if test is None:
        log.info("Test data is not provided.")
        return
    value = model.pwll(test)
    log.score("test", "pwll", value)
    log.quality("test", "pwll", "score", value)
