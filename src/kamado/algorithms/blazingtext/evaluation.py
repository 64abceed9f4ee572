"""Word2Vec's ``evaluation``: Spearman's rho between the vectors' cosine similarities and the
human scores of WordSimilarity-353, as AWS reports it (``train:mean_rho``).

kamado downloads nothing; WS-353 (all 353 pairs) is the copy gensim ships with its tests,
``gensim/test/test_data/wordsim353.tsv``. Pairs are compared the way gensim's
``KeyedVectors.evaluate_word_pairs`` does (case-insensitive; a pair with an unknown word is
left out), except that a model trained with subwords builds vectors for unknown words, as
AWS's BlazingText does. AWS averages rho over its WS-353 files (all, relatedness,
similarity); kamado has the whole set only, so ``mean_rho`` is rho on all 353 pairs.
When the file is missing, or fewer than two pairs are in the vocabulary, there is no figure
and the job says so instead of reporting one.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NAME = "EN-WS-353-ALL.txt"  # the name AWS's eval.json gives the set (UNCONFIRMED)


def wordsim353_path() -> Path | None:
    spec = importlib.util.find_spec("gensim")
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / "test" / "test_data" / "wordsim353.tsv"
        if path.is_file():
            return path
    return None


def read_pairs(path: Path) -> list[tuple[str, str, float]]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        try:
            a, b, score = line.split("\t")
            pairs.append((a, b, float(score)))
        except ValueError:
            continue
    return pairs


@dataclass
class Evaluation:
    rho: float | None
    found: int
    total: int
    reason: str = ""

    def as_json(self) -> dict:
        return {NAME: {"not_found": self.total - self.found, "spearmans_rho": self.rho,
                       "total_pairs": self.total}, "mean_rho": self.rho}


def evaluate(words: list[str], matrix: np.ndarray, oov_vector=None,
             path: Path | None = None) -> Evaluation:
    """``words``/``matrix``: the vocabulary, most frequent first; ``oov_vector(word)``: a
    vector for an unknown word (subwords), or None to leave such pairs out."""
    path = path or wordsim353_path()
    if path is None:
        return Evaluation(None, 0, 0, "the WS-353 word pairs are not installed (gensim's "
                                      "test data)")
    pairs = read_pairs(path)
    # case-insensitive, the most frequent spelling winning, as gensim's evaluate_word_pairs
    index = {w.upper(): i for i, w in reversed(list(enumerate(words)))}

    def vector(word: str):
        i = index.get(word.upper())
        if i is not None:
            return matrix[i]
        if oov_vector is not None:
            v = np.asarray(oov_vector(word), np.float32)
            return v if np.any(v) else None
        return None

    def unit(v):
        # gensim's matutils.unitvec: scaled in float64, kept in the vector's float32
        norm = float(np.linalg.norm(np.asarray(v, np.float64)))
        return None if norm == 0 else (np.asarray(v, np.float64) / norm).astype(np.float32)

    gold, model = [], []
    for a, b, score in pairs:
        va, vb = vector(a), vector(b)
        ua = None if va is None else unit(va)
        ub = None if vb is None else unit(vb)
        if ua is None or ub is None:
            continue
        gold.append(score)
        model.append(float(np.dot(ua, ub)))
    if len(gold) < 2:
        return Evaluation(None, len(gold), len(pairs),
                          f"{len(gold)} of the {len(pairs)} WS-353 word pairs are in the "
                          "vocabulary")
    from scipy.stats import spearmanr

    rho = float(spearmanr(gold, model)[0])
    if not np.isfinite(rho):
        return Evaluation(None, len(gold), len(pairs), "rho is undefined on the pairs found")
    return Evaluation(rho, len(gold), len(pairs))
