"""The LDA model: scikit-learn's ``LatentDirichletAllocation`` (variational Bayes, batch
EM) with AWS's hyperparameters mapped onto it, and its artifact.

AWS's LDA is a spectral (tensor) decomposition; kamado fits the same model — topics as word
distributions, documents as Dirichlet-distributed topic mixtures — by scikit-learn's
variational EM instead. The mapping (kamado's own):

- ``num_topics`` → ``n_components``; ``alpha0`` (the sum of the Dirichlet's parameters) →
  ``doc_topic_prior = alpha0 / num_topics``; the topic-word prior is scikit-learn's default,
  ``1 / num_topics``;
- ``max_iterations`` → ``max_iter`` (EM passes over the corpus); ``tol`` → ``perp_tol`` (the
  change in training perplexity, checked every 10 passes, below which fitting stops);
- ``max_restarts`` and ``mini_batch_size`` are accepted and checked, and do not change the
  fit (batch EM has neither restarts nor mini-batches).

``model_algo-1`` is one ``.npz`` (no pickle, :mod:`kamado.algorithms.archive`, format
``kamado-lda``): the fitted arrays, and the estimator's parameters and fitted scalars in the
archive's ``meta``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kamado.algorithms import archive

FILE = archive.FILE
FORMAT, VERSION = "kamado-lda", 1
SEED = 0            # LDA has no seed hyperparameter; a fixed one makes reruns repeat
EVALUATE_EVERY = 10
_FITTED = ("components_", "exp_dirichlet_component_")


def estimator(hp: dict, seed: int = SEED):
    """The scikit-learn estimator ``hp`` (validated hyperparameters) describes, unfitted."""
    from sklearn.decomposition import LatentDirichletAllocation

    return LatentDirichletAllocation(
        n_components=hp["num_topics"], doc_topic_prior=hp["alpha0"] / hp["num_topics"],
        learning_method="batch", max_iter=hp["max_iterations"],
        evaluate_every=EVALUATE_EVERY, perp_tol=hp["tol"], random_state=seed)


def counts(X):
    """Word counts as scikit-learn's LDA reads them in float64 (float32 input would make it
    compute in float32, and differ from a direct call on the counts)."""
    if hasattr(X, "toarray"):
        return X.astype(np.float64).tocsr()
    return np.asarray(X, dtype=np.float64)


class LDAModel:
    def __init__(self, lda, settings: dict):
        self.lda, self.settings = lda, settings

    @property
    def feature_dim(self) -> int:
        return self.settings["feature_dim"]

    @property
    def topics(self) -> np.ndarray:
        """Each topic's word distribution (num_topics × feature_dim, rows sum to 1)."""
        return self.lda.components_ / self.lda.components_.sum(axis=1, keepdims=True)

    def topic_mixtures(self, X) -> np.ndarray:
        return self.lda.transform(counts(X))

    def predict(self, X) -> list[dict]:
        return [{"topic_mixture": row.tolist()} for row in self.topic_mixtures(X)]

    def pwll(self, X) -> float:
        """Per-word log-likelihood: scikit-learn's variational bound over the number of
        words (minus the log of its perplexity)."""
        return float(-np.log(self.lda.perplexity(counts(X))))

    def save(self, directory) -> Path:
        params = {k: v for k, v in self.lda.get_params().items() if k != "n_jobs"}
        arrays = {name: getattr(self.lda, name) for name in _FITTED}
        meta = {"params": params, "settings": self.settings,
                "scalars": {"doc_topic_prior_": self.lda.doc_topic_prior_,
                            "topic_word_prior_": self.lda.topic_word_prior_,
                            "n_batch_iter_": self.lda.n_batch_iter_, "n_iter_": self.lda.n_iter_,
                            "bound_": self.lda.bound_, "n_features_in_": self.lda.n_features_in_}}
        return archive.write(directory, {"format": FORMAT, "version": VERSION, **meta}, arrays)


def fit(X, hp: dict, seed: int = SEED) -> LDAModel:
    lda = estimator(hp, seed).fit(counts(X))
    return LDAModel(lda, {key: hp[key] for key in ("num_topics", "feature_dim", "alpha0",
                                                    "mini_batch_size")})


def load_model(path) -> LDAModel:
    from sklearn.decomposition import LatentDirichletAllocation

    meta, arrays = archive.read(path, FORMAT, VERSION, "LDA", required=_FITTED,
                                legacy=True)
    if meta["version"] == 0:  # until 2026-12 the estimator's state was a uint8 JSON array
        if "meta" not in arrays:
            raise ValueError(f"{FILE} is not a kamado LDA model: it has no meta.")
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    lda = LatentDirichletAllocation(**meta["params"])
    for name in _FITTED:
        setattr(lda, name, arrays[name])
    for name, value in meta["scalars"].items():
        setattr(lda, name, value)
    return LDAModel(lda, meta["settings"])
