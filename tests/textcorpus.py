"""A generated 20-newsgroups-like corpus for BlazingText's tests (none ships with a package):
documents of five topics, each mostly its topic's words with some of another topic's and
shared words; and the settings both the unit and the end-to-end tests train with."""

from __future__ import annotations

import numpy as np

TOPICS = {
    "finance": "money cash bank stock market dollar profit loss credit investor tax price "
               "currency trade economy".split(),
    "computing": "computer keyboard software internet hardware program network data memory "
                 "processor laptop code server disk".split(),
    "sports": "football soccer basketball tennis baseball game team player coach stadium "
              "score match league ball".split(),
    "food": "bread butter food fruit meat cheese vegetable dinner lunch kitchen cook sugar "
            "apple coffee".split(),
    "travel": "car plane train airport hotel journey ticket road flight travel tourist "
              "passport luggage bus".split(),
}
SHARED = ("the a of and to in is was for on that with as it at by from this be are or an have "
          "not but").split()


def documents(n: int, seed: int) -> list[tuple[str, str]]:
    """(topic, sentence): a topic's words, some of another topic's, and shared words."""
    rng = np.random.default_rng(seed)
    names = list(TOPICS)
    out = []
    for _ in range(n):
        topic = names[rng.integers(len(names))]
        words = []
        for _ in range(rng.integers(6, 16)):
            r = rng.random()
            pool = (TOPICS[topic] if r < 0.45 else
                    TOPICS[names[rng.integers(len(names))]] if r < 0.55 else SHARED)
            words.append(str(rng.choice(pool)))
        out.append((topic, " ".join(words)))
    return out


def labelled(docs) -> str:
    """fastText's supervised lines: ``__label__<topic> <sentence>``."""
    return "".join(f"__label__{t} {s}\n" for t, s in docs)


SUPERVISED = {"mode": "supervised", "buckets": "20000", "vector_dim": "16", "epochs": "8",
              "learning_rate": "0.1"}
WORD2VEC = {"mode": "skipgram", "vector_dim": "24", "epochs": "15"}
