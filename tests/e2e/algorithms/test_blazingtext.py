"""The built-in BlazingText through boto3, on a generated 20-newsgroups-like corpus (topics with
their own words, some words of other topics, shared words): text classification served and
batch-transformed against fastText called directly on the same files with the same settings;
Word2Vec vectors served against the job's vectors.txt and fastText, with topical neighbours;
AWS's kind of errors."""

from __future__ import annotations

import json
from pathlib import Path

import fasttext
import numpy as np
import pytest
from botocore.exceptions import ClientError

from kamado.algorithms.blazingtext import fasttext_args, validate
from tests.e2e.algorithms.conftest import (deploy, final_metrics, invoke, model_members,
                                           transform, train, upload)
from tests.textcorpus import SUPERVISED, TOPICS, WORD2VEC, documents, labelled

IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/blazingtext:1"


def model_dir(s3, job, tmp: Path) -> Path:
    for name, data in model_members(s3, job).items():
        (tmp / name).write_bytes(data)
    return tmp


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("blazingtext-e2e")
    data = {"train": documents(2000, 0), "validation": documents(400, 1),
            "test": documents(400, 2)}
    paths = {}
    for name, docs in data.items():
        paths[name] = root / f"{name}.txt"
        paths[name].write_text(labelled(docs))
    paths["sentences"] = root / "sentences.txt"
    paths["sentences"].write_text("".join(s + "\n" for _, s in documents(3000, 3)))
    return data, paths


@pytest.fixture(scope="module")
def classifier(sm, s3, corpus):
    data, paths = corpus
    channels = upload(s3, "bt-news", {"train": paths["train"].read_bytes(),
                                      "validation": paths["validation"].read_bytes()},
                      "text/plain")
    job = train(sm, "bt-news", IMAGE, channels, SUPERVISED)
    direct = fasttext.train_supervised(input=str(paths["train"]),
                                       **fasttext_args(validate(SUPERVISED)))
    return job, deploy(sm, "bt-news", "blazingtext", job), direct


def test_served_accuracy_equals_fasttext_called_directly(classifier, rt, corpus):
    job, endpoint, direct = classifier
    data, paths = corpus
    sentences = [s for _, s in data["test"]]
    truth = [f"__label__{t}" for t, _ in data["test"]]
    answer = invoke(rt, endpoint, json.dumps({"instances": sentences}).encode(),
                    "application/json", "application/json")
    served = [a["label"][0] for a in answer]
    theirs = [direct.f.predict(s + "\n", 1, 0.0, "strict")[0][1] for s in sentences]
    served_accuracy = np.mean([s == t for s, t in zip(served, truth)])
    direct_accuracy = np.mean([s == t for s, t in zip(theirs, truth)])
    assert served_accuracy > 0.85
    assert abs(served_accuracy - direct_accuracy) <= 0.01
    assert served == theirs  # one thread and a fixed seed: the same model
    metrics = final_metrics(job)
    assert metrics["validation:accuracy"] == round(direct.test(str(paths["validation"]))[1], 4)
    assert metrics["train:accuracy"] == round(direct.test(str(paths["train"]))[1], 4)


def test_model_bin_loads_in_fasttext(classifier, s3, corpus, tmp_path):
    job, _, direct = classifier
    assert set(model_members(s3, job)) == {"model.bin"}
    model = fasttext.load_model(str(model_dir(s3, job, tmp_path) / "model.bin"))
    _, paths = corpus
    assert model.test(str(paths["test"])) == direct.test(str(paths["test"]))


def test_top_k_in_json_and_json_lines(classifier, rt):
    _, endpoint, direct = classifier
    body = {"instances": ["money bank tax the", "football the coach"], "configuration": {"k": 2}}
    answer = invoke(rt, endpoint, json.dumps(body).encode(), "application/json")
    for got, sentence in zip(answer, body["instances"]):
        pairs = direct.f.predict(sentence + "\n", 2, 0.0, "strict")
        assert got["label"] == [label for _, label in pairs]
        assert got["prob"] == pytest.approx([p for p, _ in pairs], rel=1e-6)
    lines = invoke(rt, endpoint, b'{"source": "money bank tax the", "k": 3}\n',
                   "application/jsonlines", "application/jsonlines")
    got = json.loads(lines)
    assert list(got) == ["prob", "label"] and len(got["label"]) == 3


def test_batch_transform_over_the_test_set(sm, s3, classifier, corpus, rt):
    _, endpoint, direct = classifier
    data, _ = corpus
    body = "".join(json.dumps({"source": s}) + "\n" for _, s in data["test"]).encode()
    out = transform(sm, s3, "bt-news-transform", endpoint, body, "application/jsonlines")
    got = [json.loads(line)["label"][0] for line in out.decode().splitlines()]
    assert got == [direct.f.predict(s + "\n", 1, 0.0, "strict")[0][1] for _, s in data["test"]]


def test_wrong_requests_are_model_errors(classifier, rt):
    _, endpoint, _ = classifier
    for body, content_type, accept, status, words in (
            (b"money,bank\n", "text/csv", None, 415, "text/csv"),
            (b'{"instances": ["x"]}', "application/json", "application/jsonlines", 406,
             "Accept must be application/json"),
            (b'{"instances": [1, 2]}', "application/json", None, 400, "list of sentences")):
        extra = {"Accept": accept} if accept else {}
        with pytest.raises(ClientError) as err:
            rt.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType=content_type,
                               **extra)
        assert err.value.response["Error"]["Code"] == "ModelError"
        assert err.value.response["OriginalStatusCode"] == status
        assert words in err.value.response["Error"]["Message"]


def test_word2vec_vectors_served_equal_vectors_txt_and_neighbours_share_a_topic(
        sm, s3, rt, corpus, tmp_path):
    _, paths = corpus
    channels = upload(s3, "bt-w2v", {"train": paths["sentences"].read_bytes()}, "text/plain")
    job = train(sm, "bt-w2v", IMAGE, channels, WORD2VEC)
    files = model_dir(s3, job, tmp_path)
    assert {"vectors.txt", "vectors.bin", "model.bin", "eval.json"} <= \
        {p.name for p in files.iterdir()}
    lines = (files / "vectors.txt").read_text().splitlines()
    words = [line.split(" ", 1)[0] for line in lines[1:]]
    matrix = np.array([line.split(" ")[1:] for line in lines[1:]], np.float32)
    assert lines[0] == f"{len(words)} 24"
    direct = fasttext.train_unsupervised(input=str(paths["sentences"]),
                                         **fasttext_args(validate(WORD2VEC)))
    assert words == direct.words
    assert np.array_equal(matrix, np.stack([direct.get_word_vector(w) for w in words]))
    rho = json.loads((files / "eval.json").read_text())["mean_rho"]
    assert final_metrics(job)["train:mean_rho"] == round(rho, 4)

    endpoint = deploy(sm, "bt-w2v", "blazingtext", job)
    asked = TOPICS["finance"][:5] + ["notaword"]
    answer = invoke(rt, endpoint, json.dumps({"instances": asked}).encode(), "application/json")
    assert [a["word"] for a in answer] == asked
    index = {w: i for i, w in enumerate(words)}
    for got in answer[:-1]:
        assert np.array_equal(np.array(got["vector"], np.float32), matrix[index[got["word"]]])
    assert answer[-1]["vector"] == [0.0] * 24
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    for topic_words in TOPICS.values():
        for word in topic_words[:4]:
            nearest = [words[j] for j in np.argsort(-(unit @ unit[index[word]]))[1:6]]
            assert sum(n in topic_words for n in nearest) >= 4, (word, nearest)


def test_batch_skipgram_with_subwords_serves_vectors_for_unknown_words(sm, s3, rt, corpus):
    _, paths = corpus
    hp = {"mode": "batch_skipgram", "subwords": "true", "buckets": "5000", "vector_dim": "16",
          "epochs": "3", "evaluation": "false"}
    channels = upload(s3, "bt-sub", {"train": paths["sentences"].read_bytes()}, None)
    job = train(sm, "bt-sub", IMAGE, channels, hp)
    assert "eval.json" not in model_members(s3, job)
    assert "train:mean_rho" not in final_metrics(job)
    endpoint = deploy(sm, "bt-sub", "blazingtext", job)
    lines = invoke(rt, endpoint, b'{"source": "moneys"}\n', "application/jsonlines")
    got = json.loads(lines)
    direct = fasttext.train_unsupervised(input=str(paths["sentences"]),
                                         **fasttext_args(validate(hp)))
    assert got["word"] == "moneys" and any(got["vector"])
    assert np.array_equal(np.array(got["vector"], np.float32), direct.get_word_vector("moneys"))


@pytest.mark.parametrize("case, hp, body, words", [
    ("no-mode", {"epochs": "5"}, None, "Hyperparameter mode is required"),
    ("bad-mode", {"mode": "glove"}, None, "batch_skipgram, skipgram, cbow, supervised"),
    ("bad-value", {"mode": "supervised", "word_ngrams": "0"}, None, "word_ngrams"),
    ("no-label", {"mode": "supervised"}, b"__label__a money bank\nfootball game\n",
     "file data line 2 has no label"),
    ("empty", {"mode": "skipgram"}, b"\n\n", "Channel train has no records"),
])
def test_bad_jobs_fail_with_client_errors(sm, s3, corpus, case, hp, body, words):
    _, paths = corpus
    channels = upload(s3, f"bt-bad-{case}", {"train": body or paths["train"].read_bytes()[:4000]},
                      "text/plain")
    job = train(sm, f"bt-bad-{case}", IMAGE, channels, hp, expect="Failed")
    assert job["FailureReason"].startswith("ClientError: ")
    assert words in job["FailureReason"]
