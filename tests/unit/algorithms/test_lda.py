"""The LDA library on arrays: the fit against scikit-learn called directly, topic recovery on a
generated corpus, pwll, the model file, hyperparameter validation, the serving handlers and
the metric definition."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import LatentDirichletAllocation

from kamado.algorithms.lda import estimator, fit, load_model, validate
from kamado.algorithms.lda import inference
from kamado.algorithms.lda.definitions import metric_definitions
from kamado.algorithms.log import JobLog
from kamado.images.program import ClientError
from kamado.serving.errors import BadRequestError

BASE = {"num_topics": "4", "feature_dim": "40", "mini_batch_size": "64"}


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(3)
    topics = np.zeros((4, 40))
    for k in range(4):
        topics[k, k * 10:(k + 1) * 10] = rng.dirichlet(np.ones(10))
    mixtures = rng.dirichlet(np.full(4, 0.3), 180)
    X = np.array([rng.multinomial(50, m @ topics) for m in mixtures], np.float32)
    return topics, X[:150], X[150:]


@pytest.fixture(scope="module")
def fitted(corpus):
    _, Xtr, _ = corpus
    return fit(Xtr, validate({**BASE, "max_iterations": "80"}))


def test_fit_is_scikit_learns_with_the_mapped_settings(corpus, fitted):
    _, Xtr, Xte = corpus
    direct = LatentDirichletAllocation(n_components=4, doc_topic_prior=0.25,
                                       learning_method="batch", max_iter=80, evaluate_every=10,
                                       perp_tol=1e-8, random_state=0).fit(Xtr.astype(float))
    np.testing.assert_array_equal(fitted.lda.components_, direct.components_)
    np.testing.assert_array_equal(fitted.topic_mixtures(Xte), direct.transform(Xte.astype(float)))
    assert fitted.pwll(Xte) == pytest.approx(-np.log(direct.perplexity(Xte.astype(float))))


def test_topics_are_recovered(corpus, fitted):
    topics = corpus[0]
    found = fitted.topics
    assert np.allclose(found.sum(axis=1), 1)
    similarity = topics @ found.T / np.outer(np.linalg.norm(topics, axis=1),
                                             np.linalg.norm(found, axis=1))
    rows, cols = linear_sum_assignment(-similarity)
    assert similarity[rows, cols].min() > 0.9


def test_alpha0_is_the_sum_of_the_document_prior():
    lda = estimator(validate({**BASE, "alpha0": "2"}))
    assert lda.doc_topic_prior == 0.5 and lda.max_iter == 1000 and lda.perp_tol == 1e-8


def test_sparse_counts_give_the_same_answers(corpus, fitted):
    _, _, Xte = corpus
    np.testing.assert_allclose(fitted.topic_mixtures(sp.csr_matrix(Xte)),
                               fitted.topic_mixtures(Xte), rtol=1e-12)


def test_model_file_round_trip(corpus, fitted, tmp_path):
    fitted.save(tmp_path)
    loaded = load_model(tmp_path)
    Xte = corpus[2]
    np.testing.assert_array_equal(loaded.topic_mixtures(Xte), fitted.topic_mixtures(Xte))
    assert loaded.pwll(Xte) == fitted.pwll(Xte)
    (tmp_path / "model_algo-1").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a kamado LDA model"):
        load_model(tmp_path)


@pytest.mark.parametrize("changes, message", [
    ({"num_topics": "0"}, "num_topics: value 0 is not in [1, inf]"),
    ({"alpha0": "-1"}, "alpha0: value -1 is not in (0, inf]"),
    ({"tol": "0"}, "tol: value 0 is not in (0, inf]"),
    ({"max_iterations": "1.5"}, "max_iterations: value '1.5' is not valid"),
    ({"max_restarts": "x"}, "max_restarts: value 'x' is not valid"),
    ({"k": "3"}, "k is not a hyperparameter of LDA"),
])
def test_invalid_hyperparameters(changes, message):
    with pytest.raises(ClientError) as err:
        validate({**BASE, **changes})
    assert message in str(err.value)


def test_required_hyperparameters_and_defaults():
    for name in ("num_topics", "feature_dim", "mini_batch_size"):
        with pytest.raises(ClientError, match=f"{name} is required"):
            validate({k: v for k, v in BASE.items() if k != name})
    got = validate(BASE)
    assert (got["alpha0"], got["max_restarts"], got["max_iterations"], got["tol"]) == \
        (1.0, 10, 1000, 1e-8)


def test_handlers(corpus, fitted, tmp_path):
    Xte = corpus[2][:3]
    fitted.save(tmp_path)
    model = inference.model_fn(tmp_path)
    body = '{"instances": [{"data": {"features": {"keys": [0, 5], "shape": [40], ' \
           '"values": [2, 1]}}}]}'
    records = inference.predict_fn(inference.input_fn(body, "application/json"), model)
    dense = np.zeros((1, 40))
    dense[0, [0, 5]] = [2, 1]
    np.testing.assert_allclose(records[0]["topic_mixture"], fitted.topic_mixtures(dense)[0],
                               rtol=1e-6)
    out, mime = inference.output_fn(inference.predict_fn(Xte, model), "application/jsonlines")
    assert mime == "application/jsonlines" and len(out.splitlines()) == 3
    with pytest.raises(BadRequestError, match="expects 40 features"):
        inference.predict_fn(Xte[:, :20], model)
    with pytest.raises(BadRequestError, match="negative"):
        inference.predict_fn(-Xte, model)


def test_pwll_line_matches_the_metric_definition(capsys):
    JobLog().quality("test", "pwll", "score", -3.25)
    out = capsys.readouterr().out
    assert "#quality_metric: host=algo-1, test pwll <score>=-3.25" in out
    (definition,) = metric_definitions()
    assert definition["Name"] == "test:pwll"
    assert re.search(definition["Regex"], out).group(1) == "-3.25"
