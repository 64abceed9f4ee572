"""LDA: kamado's job against scikit-learn's LatentDirichletAllocation called directly on the
same CSV of word counts (pandas reads it, as a user would), with the settings kamado maps
AWS's hyperparameters to; and one document's topic mixture from each."""

from __future__ import annotations

import io

import numpy as np

from algorithm_cases import Case, Data, csv

# what the direct side imports before its clock starts, as a fork server does for a job
LIBRARIES = ("pandas", "sklearn.decomposition")

TOPICS, WORDS, ITERATIONS = 10, 200, 30


def make(rows: int, seed: int) -> Data:
    rng = np.random.default_rng(seed)
    topics = rng.dirichlet(np.full(WORDS, 0.05), TOPICS)
    mixtures = rng.dirichlet(np.full(TOPICS, 0.3), rows)
    lengths = rng.integers(50, 150, rows)
    X = np.array([rng.multinomial(n, m @ topics) for n, m in zip(lengths, mixtures)])
    request = ",".join(str(v) for v in X[0]) + "\n"
    return Data({"train": csv(X, fmt="%d")}, "text/csv;label_size=0", request.encode(),
                "text/csv")


def fit(paths):
    import pandas as pd
    from sklearn.decomposition import LatentDirichletAllocation

    X = pd.read_csv(paths["train"], header=None).to_numpy(dtype=np.float64)
    return LatentDirichletAllocation(
        n_components=TOPICS, doc_topic_prior=1.0 / TOPICS, learning_method="batch",
        max_iter=ITERATIONS, evaluate_every=10, perp_tol=1e-8, random_state=0).fit(X)


def predict(model, request: bytes):
    X = np.loadtxt(io.BytesIO(request), delimiter=",", ndmin=2)
    return {"predictions": [{"topic_mixture": row.tolist()} for row in model.transform(X)]}


CASES = [Case(
    name="LDA", image="lda", rows=5_000, make=make,
    hyperparameters={"num_topics": str(TOPICS), "feature_dim": str(WORDS),
                     "mini_batch_size": "500", "max_iterations": str(ITERATIONS)},
    fit=fit, predict=predict,
    notes=f"{TOPICS} topics, {WORDS} words, batch variational EM, {ITERATIONS} passes at most")]
