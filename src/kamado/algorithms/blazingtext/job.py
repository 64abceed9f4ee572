"""A BlazingText training job: text channels in, AWS's artifacts and log lines out.

- ``mode=supervised``: channels ``train`` (required) and ``validation``; ``model/model.bin``
  (a fastText model); logs ``#train_accuracy: 0.9888`` / ``#validation_accuracy: 0.9228``, each
  followed by ``Number of <channel> examples: N``, as AWS's job does.
- ``mode=cbow|skipgram|batch_skipgram``: channel ``train``; ``model/vectors.txt``,
  ``model/vectors.bin``, ``model/model.bin`` and, when ``evaluation`` gives a figure,
  ``model/eval.json`` and ``#mean_rho: <rho>``.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from kamado.algorithms import channels
from kamado.algorithms.blazingtext import evaluation
from kamado.algorithms.blazingtext.corpus import prepare
from kamado.algorithms.blazingtext.hyperparameters import ALGORITHM, is_supervised, validate
from kamado.algorithms.blazingtext.model import (
    MODEL_FILE, accuracy, fit_supervised, fit_word2vec, has_subwords, vocabulary_size,
    word_vectors, write_vectors)
from kamado.algorithms.log import JobLog
from kamado.images.environment import TrainingEnvironment
from kamado.images.program import ClientError
from kamado.images.toolkit.variables import num_cpus


def _line(text: str = "") -> None:
    # AWS prints these bare (no timestamp), and the metric regexes expect them so.
    print(text, flush=True)


def _empty_vocabulary(hp: dict) -> ClientError:
    return ClientError(f"Channel train: no word occurs at least min_count ({hp['min_count']}) "
                       "times, so the vocabulary is empty; lower min_count or add data.")


def _supervised(env: TrainingEnvironment, hp: dict, log: JobLog, work: Path) -> None:
    channels.check(env, f"{ALGORITHM} in supervised mode", ("train", "validation"))
    train = prepare(env.channel_dir("train"), "train", work, supervised=True)
    validation = None
    if "validation" in env.input_data_config:
        validation = prepare(env.channel_dir("validation"), "validation", work, supervised=True)
    elif hp["early_stopping"]:
        raise ClientError("Hyperparameter early_stopping is true but there is no validation "
                          "channel; early stopping needs one (or set early_stopping to false).")
    log.info(f"Training a text classifier on {train.examples} examples"
             + (f"; {validation.examples} validation examples" if validation else ""))
    started = time.perf_counter()
    result = fit_supervised(hp, train.path, validation.path if validation else None,
                            log=_line)
    seconds = time.perf_counter() - started
    model = result.model
    if vocabulary_size(model) == 0:
        raise _empty_vocabulary(hp)
    _line("Training finished.")
    _line(f"Total training time in seconds: {seconds:.2f}")
    env.model_dir.mkdir(parents=True, exist_ok=True)
    model.save_model(str(env.model_dir / MODEL_FILE))
    examples, value = accuracy(model, train.path, workers=num_cpus())
    _line()
    _line(f"#train_accuracy: {value:.4f}")
    _line(f"Number of train examples: {examples}")
    if validation is not None:
        examples, value = accuracy(model, validation.path, workers=num_cpus())
        _line()
        _line(f"#validation_accuracy: {value:.4f}")
        _line(f"Number of validation examples: {examples}")


def _word2vec(env: TrainingEnvironment, hp: dict, log: JobLog, work: Path) -> None:
    channels.check(env, f"{ALGORITHM} in {hp['mode']} mode", ("train",))
    train = prepare(env.channel_dir("train"), "train", work, supervised=False)
    if hp["mode"] == "batch_skipgram":
        log.info("batch_skipgram trains as skipgram on one CPU thread; batch_size is not used.")
    log.info(f"Training {hp['mode']} word vectors on {train.examples} sentences")
    started = time.perf_counter()
    model = fit_word2vec(hp, train.path)
    seconds = time.perf_counter() - started
    if vocabulary_size(model) == 0:
        raise _empty_vocabulary(hp)
    _line("Training finished.")
    _line(f"Total training time in seconds: {seconds:.2f}")
    words, matrix = word_vectors(model)
    env.model_dir.mkdir(parents=True, exist_ok=True)
    write_vectors(env.model_dir, words, matrix)
    model.save_model(str(env.model_dir / MODEL_FILE))
    log.info(f"Saved {len(words)} word vectors of dimension {matrix.shape[1]}")
    if not hp["evaluation"]:
        return
    result = evaluation.evaluate(words, matrix,
                                 model.get_word_vector if has_subwords(model) else None)
    if result.rho is None:
        log.info(f"Evaluation skipped: {result.reason}; no mean_rho is reported.")
        return
    (env.model_dir / "eval.json").write_text(json.dumps(result.as_json(), indent=4))
    log.info(f"Evaluated on {result.found} of {result.total} WS-353 word pairs")
    _line(f"#mean_rho: {result.rho:.4f}")


def train(env: TrainingEnvironment) -> None:
    log = JobLog(env.current_host)
    hp = validate(env.hyperparameters)
    log.info(f"Final configuration: {json.dumps(hp, sort_keys=True)}")
    # joined channels are scratch, not artifacts: kept out of model/ and output/
    with tempfile.TemporaryDirectory(prefix="blazingtext-", dir=env.base) as work:
        if is_supervised(hp):
            _supervised(env, hp, log, Path(work))
        else:
            _word2vec(env, hp, log, Path(work))
