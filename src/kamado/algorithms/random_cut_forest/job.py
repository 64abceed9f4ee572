"""A Random Cut Forest training job: channels in, ``model/model_algo-1`` and AWS-shaped log
lines out.

Channels ``train`` (required; unlabelled: CSV declared ``text/csv;label_size=0``, or
RecordIO-protobuf, what a channel without a ContentType holds) and ``test`` (optional; labelled,
``text/csv;label_size=1`` with 1 for an anomaly, or RecordIO-protobuf with a label): the test
channel's accuracy, precision, recall and F1 are logged as ``#test_score`` and
``#quality_metric`` lines (:mod:`.evaluation`).
"""

from __future__ import annotations

import json
import time

import numpy as np

from kamado.algorithms import channels
from kamado.algorithms.log import JobLog
from kamado.algorithms.random_cut_forest import fit_resolved
from kamado.algorithms.random_cut_forest.evaluation import evaluate, threshold
from kamado.algorithms.random_cut_forest.hyperparameters import ALGORITHM, validate
from kamado.images.environment import TrainingEnvironment
from kamado.images.program import ClientError

CHANNELS = ("train", "test")


def train(env: TrainingEnvironment) -> None:
    log = JobLog(env.current_host)
    hp = validate(env.hyperparameters)
    log.info(f"Final configuration: {json.dumps(hp, sort_keys=True)}")
    channels.check(env, ALGORITHM, CHANNELS)
    data = channels.read(env, "train", ALGORITHM, label="ignored",
                         feature_dim=hp["feature_dim"], dense=True)
    test = None
    if "test" in env.input_data_config:
        test = channels.read(env, "test", ALGORITHM, label="required",
                             feature_dim=hp["feature_dim"], dense=True)
        odd = np.setdiff1d(np.unique(test.y), (0.0, 1.0))
        if len(odd):
            raise ClientError(f"Channel test has label {odd[0]:g}; Random Cut Forest's test "
                              "labels are 1 (anomaly) or 0 (normal).")
    log.info(f"Building {hp['num_trees']} trees of {hp['num_samples_per_tree']} samples from "
             f"{data.rows} records with {hp['feature_dim']} features")
    started = time.perf_counter()
    model = fit_resolved(hp, data.X)
    elapsed = max(time.perf_counter() - started, 1e-9)
    log.progress(100)
    log.throughput(data.rows / elapsed)
    env.model_dir.mkdir(parents=True, exist_ok=True)
    path = model.save(env.model_dir)
    log.info(f"Saved the model to {path.name}")
    if test is None:
        log.info("Test data is not provided.")
        return
    scores = model.scores(test.X)
    log.info(f"Test: {test.rows} records, {int(np.sum(test.y == 1))} labelled anomalous; "
             f"threshold (mean + 3 std of their scores) {threshold(scores):.6g}")
    results = evaluate(scores, test.y, hp["eval_metrics"])
    for name, value in results:
        log.score("test", name, value)
    for name, value in results:
        log.quality("test", name, "score", value)
