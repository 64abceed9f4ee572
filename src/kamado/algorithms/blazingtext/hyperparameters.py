"""BlazingText's hyperparameters as AWS documents them (builtin-algorithms.md §3.11): one table
for text classification (``mode=supervised``) and one for Word2Vec (``cbow``, ``skipgram``,
``batch_skipgram``). ``mode`` is read first because it decides which table applies; a name of
the other table is refused (kamado's choice: AWS documents the two lists separately and says
nothing of mixing them)."""

from __future__ import annotations

from kamado.algorithms.hyperparameters import POSITIVE, Number, boolean, choice, parse, text
from kamado.images.program import ClientError

ALGORITHM = "BlazingText"
WORD2VEC_MODES = ("batch_skipgram", "skipgram", "cbow")
MODES = WORD2VEC_MODES + ("supervised",)

_POSITIVE_INT = dict(integer=True, lo=1)
_COUNT = dict(integer=True, lo=0)

SUPERVISED_SPECS = {
    "mode": choice(*MODES),
    "buckets": Number(**_POSITIVE_INT),
    "early_stopping": boolean,
    "epochs": Number(**_POSITIVE_INT),
    "learning_rate": Number(**POSITIVE),
    "min_count": Number(**_COUNT),
    "min_epochs": Number(**_POSITIVE_INT),
    "patience": Number(**_POSITIVE_INT),
    "vector_dim": Number(**_POSITIVE_INT),
    "word_ngrams": Number(**_POSITIVE_INT),
}
SUPERVISED_DEFAULTS = {
    "buckets": 2000000, "early_stopping": False, "epochs": 5, "learning_rate": 0.05,
    "min_count": 5, "min_epochs": 5, "patience": 4, "vector_dim": 100, "word_ngrams": 2,
}

WORD2VEC_SPECS = {
    "mode": choice(*MODES),
    "batch_size": Number(**_POSITIVE_INT),
    "buckets": Number(**_POSITIVE_INT),
    "epochs": Number(**_POSITIVE_INT),
    "evaluation": boolean,
    "learning_rate": Number(**POSITIVE),
    "min_char": Number(**_POSITIVE_INT),
    "max_char": Number(**_POSITIVE_INT),
    "min_count": Number(**_COUNT),
    "negative_samples": Number(**_POSITIVE_INT),
    "sampling_threshold": Number(lo=0, hi=1, lo_open=True, hi_open=True),
    "subwords": boolean,
    "vector_dim": Number(**_POSITIVE_INT),
    "window_size": Number(**_POSITIVE_INT),
}
WORD2VEC_DEFAULTS = {
    "batch_size": 11, "buckets": 2000000, "epochs": 5, "evaluation": True,
    "learning_rate": 0.05, "min_char": 3, "max_char": 6, "min_count": 5,
    "negative_samples": 5, "sampling_threshold": 0.0001, "subwords": False, "vector_dim": 100,
    "window_size": 5,
}


def mode_of(raw: dict) -> str:
    if "mode" not in raw:
        raise ClientError(f"Hyperparameter mode is required by {ALGORITHM}; allowed values: "
                          f"{', '.join(MODES)}.")
    return choice(*MODES)("mode", text(raw["mode"]))


def validate(raw: dict) -> dict:
    """Typed values with AWS's defaults for the job's mode; every problem a ClientError."""
    mode = mode_of(raw)
    if mode == "supervised":
        hp = parse(raw, SUPERVISED_SPECS, SUPERVISED_DEFAULTS, f"{ALGORITHM} in supervised mode")
        if hp["min_epochs"] > hp["epochs"] and hp["early_stopping"]:
            raise ClientError(f"Hyperparameter min_epochs ({hp['min_epochs']}) is larger than "
                              f"epochs ({hp['epochs']}); allowed values: an integer in "
                              f"[1, {hp['epochs']}] when early_stopping is true.")
    else:
        hp = parse(raw, WORD2VEC_SPECS, WORD2VEC_DEFAULTS, f"{ALGORITHM} in {mode} mode")
        if hp["subwords"] and hp["min_char"] > hp["max_char"]:
            raise ClientError(f"Hyperparameter min_char ({hp['min_char']}) is larger than "
                              f"max_char ({hp['max_char']}); allowed values: min_char <= "
                              "max_char.")
    return hp


def is_supervised(hp: dict) -> bool:
    return hp["mode"] == "supervised"
