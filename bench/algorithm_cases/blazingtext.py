"""BlazingText: text classification and skip-gram word vectors on a generated
20-newsgroups-like corpus, against fastText called directly on the same file with the same
arguments (``kamado.algorithms.blazingtext.fasttext_args``: one thread, fixed seed).

The corpus: 5 topics of 2,000 words each plus 500 shared words, Zipf-distributed, sentences of
6-20 words. ``buckets`` is lowered from AWS's 2,000,000 (a 800 MB model at 100 dimensions,
whose writing and packing would dominate both sides) to 100,000.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from algorithm_cases import Case, Data

# what the direct side imports before its clock starts, as a fork server does for a job
LIBRARIES = ("fasttext", "kamado.algorithms.blazingtext")

TOPICS, TOPIC_WORDS, SHARED_WORDS = 5, 2000, 500


def _vocabulary():
    topics = [[f"t{t}w{i}" for i in range(TOPIC_WORDS)] for t in range(TOPICS)]
    shared = [f"s{i}" for i in range(SHARED_WORDS)]
    return topics, shared


def _zipf(n: int) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1)
    return p / p.sum()


def _sentences(rows: int, seed: int) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    topics, shared = _vocabulary()
    labels = rng.integers(TOPICS, size=rows)
    lengths = rng.integers(6, 21, size=rows)
    total = int(lengths.sum())
    kind = rng.random(total)
    other = rng.integers(TOPICS, size=total)
    topic_pick = rng.choice(TOPIC_WORDS, size=total, p=_zipf(TOPIC_WORDS))
    shared_pick = rng.choice(SHARED_WORDS, size=total, p=_zipf(SHARED_WORDS))
    out, at = [], 0
    for label, length in zip(labels, lengths):
        words = []
        for j in range(at, at + length):
            if kind[j] < 0.45:
                words.append(topics[label][topic_pick[j]])
            elif kind[j] < 0.55:
                words.append(topics[other[j]][topic_pick[j]])
            else:
                words.append(shared[shared_pick[j]])
        out.append(" ".join(words))
        at += length
    return labels, out


def _make_supervised(rows: int, seed: int) -> Data:
    labels, sentences = _sentences(rows + rows // 5, seed)
    lines = [f"__label__{lab} {s}\n" for lab, s in zip(labels, sentences)]
    return Data(files={"train": "".join(lines[:rows]).encode(),
                       "validation": "".join(lines[rows:]).encode()},
                content_type="text/plain",
                request=json.dumps({"instances": [sentences[-1]]}).encode(),
                request_type="application/json")


def _make_word2vec(rows: int, seed: int) -> Data:
    _, sentences = _sentences(rows, seed)
    return Data(files={"train": "".join(s + "\n" for s in sentences).encode()},
                content_type="text/plain",
                request=json.dumps({"instances": ["t0w1"]}).encode(),
                request_type="application/json")


SUPERVISED = {"mode": "supervised", "buckets": "100000", "epochs": "5"}
SKIPGRAM = {"mode": "skipgram", "buckets": "100000", "epochs": "5"}


def _args(hp: dict) -> dict:
    from kamado.algorithms.blazingtext import fasttext_args, validate

    return fasttext_args(validate(hp))


def _fit_supervised(paths: dict[str, Path]):
    """What the job does: train, report validation accuracy, write model.bin."""
    import fasttext

    model = fasttext.train_supervised(input=str(paths["train"]), **_args(SUPERVISED))
    model.test(str(paths["validation"]))
    with tempfile.TemporaryDirectory() as tmp:
        model.save_model(str(Path(tmp) / "model.bin"))
    return model


def _fit_skipgram(paths: dict[str, Path]):
    """What a user would run: train, write the .bin and the word2vec text vectors."""
    import fasttext

    model = fasttext.train_unsupervised(input=str(paths["train"]), **_args(SKIPGRAM))
    with tempfile.TemporaryDirectory() as tmp:
        model.save_model(str(Path(tmp) / "model.bin"))
        with (Path(tmp) / "vectors.txt").open("w") as f:
            words = model.words
            f.write(f"{len(words)} {model.get_dimension()}\n")
            for w in words:
                f.write(w + " " + " ".join(f"{v:.9g}" for v in model.get_word_vector(w)) + "\n")
    return model


def _predict_supervised(model, request: bytes):
    # FastText.predict fails under NumPy 2; the pybind call is what kamado serves with too.
    sentence = json.loads(request)["instances"][0]
    pairs = model.f.predict(sentence + "\n", 1, 0.0, "strict")
    return [{"label": [label for _, label in pairs], "prob": [p for p, _ in pairs]}]


def _predict_word(model, request: bytes):
    word = json.loads(request)["instances"][0]
    return [{"vector": model.get_word_vector(word).tolist(), "word": word}]


CASES = [
    Case(name="BlazingText supervised", image="blazingtext", rows=200_000,
         make=_make_supervised, hyperparameters=SUPERVISED, fit=_fit_supervised,
         predict=_predict_supervised,
         notes="fastText train_supervised + test(validation) + save_model, one thread; kamado "
               "also reports train accuracy (one more pass over the training file)."),
    Case(name="BlazingText skipgram", image="blazingtext", rows=30_000,
         make=_make_word2vec, hyperparameters=SKIPGRAM, fit=_fit_skipgram,
         predict=_predict_word,
         notes="fastText train_unsupervised(skipgram) + model.bin + vectors.txt, one thread; "
               "kamado also writes vectors.bin and runs the WS-353 evaluation."),
]
