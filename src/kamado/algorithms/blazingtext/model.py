"""BlazingText on fastText: AWS's hyperparameters as fastText's arguments, training, the
artifacts AWS writes, and the predictions the model server answers with.

fastText does both modes: BlazingText is AWS's GPU port of fastText, its hyperparameters
(``buckets``, ``min_char``/``max_char``, ``subwords``, ``word_ngrams``) are fastText's, and
its ``model.bin`` is documented as fastText-compatible. So Word2Vec is fastText's
unsupervised ``skipgram``/``cbow`` too (gensim's Word2Vec has no subword vectors), and a
Word2Vec job's ``model.bin`` is a fastText model as well. ``batch_skipgram`` (AWS's
multi-CPU mini-batched skip-gram) trains as ``skipgram``; ``batch_size`` has no fastText
counterpart.

fastText runs on one thread with its fixed seed, so a job repeats exactly and equals
``fasttext.train_supervised(**fasttext_args(hp))`` on the same file.

fastText 0.9.2's Python wrapper is bypassed in two places: ``FastText.predict`` fails under
NumPy 2 (``np.array(..., copy=False)``), and the pybind ``multilinePredict`` repeats the first
probability for every label when k > 1; one ``f.predict`` call per sentence has neither fault.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from kamado.algorithms.blazingtext.hyperparameters import is_supervised

SEED = 0         # fastText's own default; BlazingText has no seed hyperparameter
THREADS = 1      # one thread: fastText's result then depends on nothing but its input
MODEL_FILE = "model.bin"
VECTORS_TEXT = "vectors.txt"
VECTORS_BINARY = "vectors.bin"
EOS = "</s>"     # fastText's end-of-line token, a word of every vocabulary


def fasttext_args(hp: dict) -> dict:
    """fastText's keyword arguments for ``hp``: train_supervised's in supervised mode,
    train_unsupervised's otherwise."""
    common = dict(lr=hp["learning_rate"], dim=hp["vector_dim"], epoch=hp["epochs"],
                  minCount=hp["min_count"], bucket=hp["buckets"], thread=THREADS, verbose=0)
    if is_supervised(hp):
        return dict(common, wordNgrams=hp["word_ngrams"], loss="softmax", seed=SEED)
    subwords = hp["subwords"]
    return dict(common, model="cbow" if hp["mode"] == "cbow" else "skipgram",
                ws=hp["window_size"], neg=hp["negative_samples"], t=hp["sampling_threshold"],
                minn=hp["min_char"] if subwords else 0, maxn=hp["max_char"] if subwords else 0,
                loss="ns")


def _quiet_load(path: Path):
    # fasttext.load_model prints a deprecation warning on every load.
    from fasttext.FastText import _FastText

    return _FastText(model_path=str(path))


def load(path: Path | str):
    return _quiet_load(Path(path))


def vocabulary_size(model) -> int:
    """Words the model learned, not counting fastText's end-of-line token."""
    return sum(1 for w in model.words if w != EOS)


# --- supervised ----------------------------------------------------------------------------------
@dataclass
class SupervisedResult:
    model: object
    epochs: int                              # the epochs of the model kept
    validation_accuracy: float | None = None


_SPLIT_BYTES = 4 << 20  # below this a file is tested in one piece


def accuracy(model, path: Path, workers: int = 1) -> tuple[int, float]:
    """(examples, accuracy) of ``model`` on a labelled file: fastText's precision at 1, i.e.
    how often the top label is one of the line's labels. With ``workers`` > 1 a large file
    is cut at line ends and its pieces are tested in forked processes at once (fastText's
    ``test`` holds the GIL): the pass over the training set that AWS's job reports as
    ``#train_accuracy`` costs about as long as one epoch."""
    size = path.stat().st_size
    if workers <= 1 or size < _SPLIT_BYTES or not hasattr(os, "fork"):
        examples, precision, _ = model.test(str(path), 1)
        return examples, float(precision)
    pieces = _split_lines(path, workers)
    try:
        counts = _test_in_parallel(model, pieces)
    finally:
        for piece in pieces:
            piece.unlink(missing_ok=True)
    examples = sum(n for n, _ in counts)
    # at k=1 fastText predicts one label per example, so precision × examples is the count
    # of correct ones; their sum over the whole file gives the exact unsplit figure
    correct = sum(round(p * n) for n, p in counts)
    return examples, correct / examples if examples else 0.0


def _split_lines(path: Path, count: int) -> list[Path]:
    from kamado.algorithms.data import line_ranges

    data = path.read_bytes()
    pieces = []
    for k, (a, b) in enumerate(line_ranges(data, count)):
        piece = path.with_name(f"{path.name}.part{k}")
        piece.write_bytes(data[a:b])
        pieces.append(piece)
    return pieces


def _test_in_parallel(model, pieces: list[Path]) -> list[tuple[int, float]]:
    """(examples, precision at 1) of each piece: the first here, the others in forked
    children, which share the model's memory and send their two numbers back on a pipe."""
    children = []
    for piece in pieces[1:]:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: test, report, leave without running any cleanup
            status = 1
            try:
                os.close(read_end)
                n, p, _ = model.test(str(piece), 1)
                os.write(write_end, json.dumps([n, p]).encode())
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        children.append((pid, read_end))
    n, p, _ = model.test(str(pieces[0]), 1)
    counts = [(n, float(p))]
    failed = False
    for pid, read_end in children:
        with os.fdopen(read_end, "rb") as pipe:
            reply = pipe.read()
        _, status = os.waitpid(pid, 0)
        if status or not reply:
            failed = True
        else:
            counts.append(tuple(json.loads(reply)))
    if failed:  # a child died (out of memory?): test its pieces here instead
        counts = [model.test(str(piece), 1)[:2] for piece in pieces]
    return counts


def fit_supervised(hp: dict, train_path: Path, validation_path: Path | None = None,
                   log: Callable[[str], None] = lambda message: None) -> SupervisedResult:
    """A text classifier. With ``early_stopping`` and validation data, models of
    ``min_epochs``, ``min_epochs + 1``, … epochs are trained until validation accuracy has not
    improved for ``patience`` of them, and the best is kept: fastText's learning rate decays
    over the whole run, so a run of n epochs is what ``epochs=n`` gives (kamado's way of
    stopping early; AWS's BlazingText checks each epoch of one run)."""
    import fasttext

    args = fasttext_args(hp)
    if not hp["early_stopping"] or validation_path is None:
        return SupervisedResult(fasttext.train_supervised(input=str(train_path), **args),
                                hp["epochs"])
    best, waited = None, 0
    for epochs in range(hp["min_epochs"], hp["epochs"] + 1):
        model = fasttext.train_supervised(input=str(train_path), **dict(args, epoch=epochs))
        _, value = accuracy(model, validation_path)
        log(f"-------------- End of epoch: {epochs}")
        log(f"Validation accuracy: {value:.6f}")
        if best is None or value > best.validation_accuracy:
            best, waited = SupervisedResult(model, epochs, value), 0
            log("Validation accuracy improved! Storing best weights...")
        else:
            waited += 1
            log(f"Validation accuracy has not improved for {waited} epoch(s).")
            if waited >= hp["patience"]:
                log(f"Stopping early: patience {hp['patience']} reached; keeping the model of "
                    f"{best.epochs} epochs.")
                break
    return best


def predict(model, sentences: list[str], k: int = 1) -> list[dict]:
    """AWS's answer per sentence: ``{"label": [...], "prob": [...]}``, the top ``k``."""
    out = []
    for sentence in sentences:
        pairs = model.f.predict(" ".join(sentence.split()) + "\n", k, 0.0, "replace")
        out.append({"label": [label for _, label in pairs],
                    "prob": [float(p) for p, _ in pairs]})
    return out


# --- word2vec ------------------------------------------------------------------------------------
def fit_word2vec(hp: dict, train_path: Path):
    import fasttext

    return fasttext.train_unsupervised(input=str(train_path), **fasttext_args(hp))


def has_subwords(model) -> bool:
    return model.f.getArgs().maxn > 0


def word_vectors(model) -> tuple[list[str], np.ndarray]:
    """The vocabulary (most frequent first, as fastText keeps it) and each word's vector as
    ``get_word_vector`` gives it."""
    words = list(model.words)
    if has_subwords(model):  # a word's vector averages its row and its n-grams' rows
        matrix = np.stack([model.get_word_vector(w) for w in words]) if words else \
            np.zeros((0, model.get_dimension()), np.float32)
    else:  # the word's own input row; the whole matrix at once
        matrix = np.asarray(model.get_input_matrix()[:len(words)])
    return words, np.ascontiguousarray(matrix, dtype=np.float32)


def write_vectors(directory: Path, words: list[str], matrix: np.ndarray) -> None:
    """``vectors.txt`` (word2vec's text format: ``<count> <dim>``, then a word and its floats
    per line, float32 exactly) and ``vectors.bin`` (word2vec's binary format: the same header,
    then each word, a space and its little-endian float32s), both readable by gensim's
    ``KeyedVectors.load_word2vec_format``."""
    import io

    count, dim = matrix.shape
    rows = io.StringIO()
    if count:
        np.savetxt(rows, matrix, fmt="%.9g", delimiter=" ")
    with (directory / VECTORS_TEXT).open("w", encoding="utf-8") as f:
        f.write(f"{count} {dim}\n")
        for word, row in zip(words, rows.getvalue().splitlines()):
            f.write(f"{word} {row}\n")
    little = matrix.astype("<f4")
    with (directory / VECTORS_BINARY).open("wb") as f:
        f.write(f"{count} {dim}\n".encode())
        for word, row in zip(words, little):
            f.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")


def read_vectors_text(path: Path) -> tuple[list[str], np.ndarray]:
    """A word2vec text file (ours, or a user's)."""
    with path.open(encoding="utf-8") as f:
        count, dim = (int(v) for v in f.readline().split())
        words, rows = [], []
        for line in f:
            parts = line.rstrip("\n").split(" ")
            if len(parts) < dim + 1:
                continue
            words.append(" ".join(parts[:-dim]))
            rows.append(np.asarray(parts[-dim:], dtype=np.float32))
    return words, np.stack(rows) if rows else np.zeros((0, dim), np.float32)


class WordVectors:
    """What the model server looks words up in: the fastText model (``model.bin``: subword
    vectors for unknown words when it was trained with subwords) or a word2vec text file."""

    def __init__(self, model=None, words: list[str] | None = None,
                 matrix: np.ndarray | None = None):
        self.model = model
        if model is None:
            self.index = {w: i for i, w in reversed(list(enumerate(words)))}
            self.matrix = matrix
            self.dim = matrix.shape[1]
        else:
            self.dim = model.get_dimension()

    def vector(self, word: str) -> np.ndarray:
        """The word's vector; zeros for a word the model does not know (and cannot build from
        subwords)."""
        if self.model is not None:
            return self.model.get_word_vector(word)
        i = self.index.get(word)
        return self.matrix[i] if i is not None else np.zeros(self.dim, np.float32)


def embed(vectors: WordVectors, words: list[str]) -> list[dict]:
    """AWS's answer per word: ``{"vector": [...], "word": word}``."""
    return [{"vector": vectors.vector(w).tolist(), "word": w} for w in words]
