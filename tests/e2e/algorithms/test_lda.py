"""The built-in LDA through boto3 on a corpus drawn from known topics: the served topic
mixtures and the test pwll against scikit-learn's LatentDirichletAllocation called directly
with the same settings, the recovered topics against the generating ones, every request and
response format, a batch transform, and AWS's kind of errors."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import scipy.sparse as sp
from botocore.exceptions import ClientError
from scipy.optimize import linear_sum_assignment

from kamado.algorithms import recordio
from kamado.algorithms.lda import FILE, estimator, load_model, validate
from tests.e2e.algorithms.conftest import (csv_body, deploy, final_metrics, invoke,
                                           model_members, transform, train, upload)

IMAGE = "766337827248.dkr.ecr.us-east-1.amazonaws.com/lda:1"
TOPICS, WORDS, DOCS, TEST = 3, 30, 200, 40
HP = {"num_topics": str(TOPICS), "feature_dim": str(WORDS), "mini_batch_size": "50",
      "alpha0": "0.9", "max_iterations": "60"}


def corpus(seed: int = 0):
    """Documents of 60 words drawn from TOPICS topics, each over its own block of words."""
    rng = np.random.default_rng(seed)
    topics = np.zeros((TOPICS, WORDS))
    block = WORDS // TOPICS
    for k in range(TOPICS):
        topics[k, k * block:(k + 1) * block] = rng.dirichlet(np.ones(block))
    mixtures = rng.dirichlet(np.full(TOPICS, 0.3), DOCS)
    counts = np.array([rng.multinomial(60, m @ topics) for m in mixtures], np.float64)
    return topics, counts[:-TEST], counts[-TEST:]


def recordio_body(X) -> bytes:
    buf = io.BytesIO()
    recordio.write_records(buf, X)
    return buf.getvalue()


@pytest.fixture(scope="module")
def lda(sm, s3):
    topics, Xtr, Xte = corpus()
    direct = estimator(validate(HP)).fit(Xtr)
    channels = upload(s3, "lda-corpus", {"train": csv_body(Xtr), "test": csv_body(Xte)},
                      "text/csv;label_size=0")
    job = train(sm, "lda-corpus", IMAGE, channels, HP)
    return dict(topics=topics, Xtr=Xtr, Xte=Xte, direct=direct, job=job,
                endpoint=deploy(sm, "lda-corpus", "lda", job))


def mixtures(answer) -> np.ndarray:
    return np.array([p["topic_mixture"] for p in answer["predictions"]])


def test_test_pwll_equals_scikit_learn(lda):
    expected = -np.log(lda["direct"].perplexity(lda["Xte"]))
    assert final_metrics(lda["job"])["test:pwll"] == pytest.approx(expected, rel=1e-9)


def test_recovered_topics_match_the_generating_ones(lda, s3, tmp_path):
    (tmp_path / FILE).write_bytes(model_members(s3, lda["job"])[FILE])
    model = load_model(tmp_path)
    found = model.topics
    np.testing.assert_allclose(model.lda.components_, lda["direct"].components_, rtol=1e-9)
    norms = np.linalg.norm(lda["topics"], axis=1)[:, None] * np.linalg.norm(found, axis=1)
    similarity = lda["topics"] @ found.T / norms
    rows, cols = linear_sum_assignment(-similarity)
    assert similarity[rows, cols].min() > 0.9


def test_served_mixtures_in_every_format_equal_scikit_learn(lda, rt):
    X, endpoint = lda["Xte"], lda["endpoint"]
    expected = lda["direct"].transform(X)
    got = mixtures(invoke(rt, endpoint, csv_body(X), "text/csv", "application/json"))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    sparse = sp.csr_matrix(X)
    body = json.dumps({"instances": [{"data": {"features": {
        "keys": sparse[i].indices.tolist(), "shape": [WORDS],
        "values": sparse[i].data.tolist()}}} for i in range(len(X))]}).encode()
    lines = invoke(rt, endpoint, body, "application/json", "application/jsonlines")
    got = np.array([json.loads(line)["topic_mixture"] for line in lines.splitlines()])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    body = "\n".join(json.dumps({"features": row.tolist()}) for row in X).encode()
    got = mixtures(invoke(rt, endpoint, body, "application/jsonlines"))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    records = recordio.read_records(io.BytesIO(invoke(
        rt, endpoint, recordio_body(sparse), "application/x-recordio-protobuf",
        "application/x-recordio-protobuf")))
    got = np.array([r["label"]["topic_mixture"]["values"] for r in records])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)  # float32 tensors


def test_batch_transform_over_the_test_set(sm, s3, lda):
    out = transform(sm, s3, "lda-transform", lda["endpoint"], csv_body(lda["Xte"]), "text/csv",
                    accept="application/jsonlines")
    got = np.array([json.loads(line)["topic_mixture"] for line in out.decode().splitlines()])
    np.testing.assert_allclose(got, lda["direct"].transform(lda["Xte"]), rtol=1e-6, atol=1e-9)


def test_sparse_recordio_training_fits_the_same_model(sm, s3, rt, lda):
    channels = upload(s3, "lda-sparse", {"train": recordio_body(sp.csr_matrix(lda["Xtr"]))},
                      None)
    job = train(sm, "lda-sparse", "lda", channels, HP)
    assert "test:pwll" not in final_metrics(job)
    endpoint = deploy(sm, "lda-sparse", "lda", job)
    got = mixtures(invoke(rt, endpoint, csv_body(lda["Xte"][:5]), "text/csv"))
    np.testing.assert_allclose(got, lda["direct"].transform(lda["Xte"][:5]), rtol=1e-6,
                               atol=1e-9)


def test_wrong_requests_are_model_errors(lda, rt):
    for body, content_type, words in ((b"1,2,3\n", "text/csv", "expects 30 features"),
                                      (b"1,x\n", "text/csv", "CSV"),
                                      (csv_body(-lda["Xte"][:1]), "text/csv", "negative")):
        with pytest.raises(ClientError) as err:
            rt.invoke_endpoint(EndpointName=lda["endpoint"], Body=body, ContentType=content_type)
        assert err.value.response["Error"]["Code"] == "ModelError"
        assert err.value.response["OriginalStatusCode"] == 400
        assert words in err.value.response["Error"]["Message"]


@pytest.mark.parametrize("case, hp, body, content_type, words", [
    ("alpha0", {"alpha0": "0"}, None, "text/csv;label_size=0", "alpha0"),
    ("topics", {"num_topics": "three"}, None, "text/csv;label_size=0", "num_topics"),
    ("unknown", {"seed": "1"}, None, "text/csv;label_size=0", "seed is not a hyperparameter"),
    ("missing", {"mini_batch_size": None}, None, "text/csv;label_size=0",
     "mini_batch_size is required"),
    ("wrong-dim", {"feature_dim": "31"}, None, "text/csv;label_size=0", "feature_dim is 31"),
    ("label-column", {}, None, "text/csv", "label_size=0"),
    ("not-numbers", {}, b"1,2\nx,y\n", "text/csv;label_size=0", "line 2"),
])
def test_bad_jobs_fail_with_client_errors(sm, s3, case, hp, body, content_type, words):
    hp = {k: v for k, v in {**HP, **hp}.items() if v is not None}
    if case == "not-numbers":
        hp["feature_dim"] = "2"
    channels = upload(s3, f"lda-bad-{case}", {"train": body or csv_body(corpus()[1][:20])},
                      content_type)
    job = train(sm, f"lda-bad-{case}", "lda", channels, hp, expect="Failed")
    assert job["FailureReason"].startswith("ClientError: ")
    assert words in job["FailureReason"]
