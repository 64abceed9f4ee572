"""The BlazingText library against fastText and gensim called directly: hyperparameters and
their fastText arguments, channel files, the classifier and early stopping, word vectors and
their files, WS-353 evaluation, the job's artifacts and log lines, the model server's handlers,
metric definitions."""

from __future__ import annotations

import json
import re

import fasttext
import numpy as np
import pytest

from kamado.algorithms.blazingtext import evaluation
from kamado.algorithms.blazingtext.corpus import prepare
from kamado.algorithms.blazingtext.definitions import metric_definitions
from kamado.algorithms.blazingtext.hyperparameters import (
    SUPERVISED_DEFAULTS, WORD2VEC_DEFAULTS, validate)
from kamado.algorithms.blazingtext.inference import model_fn, transform_fn
from kamado.algorithms.blazingtext.job import train as train_job
from kamado.algorithms.blazingtext.model import (
    WordVectors, accuracy, embed, fasttext_args, fit_supervised, fit_word2vec, predict,
    word_vectors, write_vectors)
from kamado.images.environment import TrainingEnvironment
from kamado.images.program import ClientError
from kamado.serving.errors import (
    BadRequestError, UnsupportedAcceptError, UnsupportedFormatError)
from tests.textcorpus import SUPERVISED, TOPICS, WORD2VEC, documents, labelled


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("blazingtext")
    paths = {"train": root / "train.txt", "validation": root / "validation.txt",
             "test": root / "test.txt", "sentences": root / "sentences.txt"}
    paths["train"].write_text(labelled(documents(1500, 0)))
    paths["validation"].write_text(labelled(documents(300, 1)))
    paths["test"].write_text(labelled(documents(300, 2)))
    paths["sentences"].write_text("".join(s + "\n" for _, s in documents(2000, 3)))
    return paths


# --- hyperparameters ---------------------------------------------------------------------------
def test_defaults_are_aws_per_mode():
    assert validate({"mode": "supervised"}) == {"mode": "supervised", **SUPERVISED_DEFAULTS}
    assert SUPERVISED_DEFAULTS == {"buckets": 2000000, "early_stopping": False, "epochs": 5,
                                   "learning_rate": 0.05, "min_count": 5, "min_epochs": 5,
                                   "patience": 4, "vector_dim": 100, "word_ngrams": 2}
    for mode in ("cbow", "skipgram", "batch_skipgram"):
        assert validate({"mode": mode}) == {"mode": mode, **WORD2VEC_DEFAULTS}
    assert WORD2VEC_DEFAULTS == {"batch_size": 11, "buckets": 2000000, "epochs": 5,
                                 "evaluation": True, "learning_rate": 0.05, "min_char": 3,
                                 "max_char": 6, "min_count": 5, "negative_samples": 5,
                                 "sampling_threshold": 0.0001, "subwords": False,
                                 "vector_dim": 100, "window_size": 5}


@pytest.mark.parametrize("raw, words", [
    ({}, "mode is required"),
    ({"mode": "fasttext"}, "batch_skipgram, skipgram, cbow, supervised"),
    ({"mode": "supervised", "window_size": "5"}, "window_size is not a hyperparameter"),
    ({"mode": "cbow", "word_ngrams": "2"}, "word_ngrams is not a hyperparameter"),
    ({"mode": "supervised", "epochs": "0"}, "epochs"),
    ({"mode": "supervised", "learning_rate": "-0.1"}, "learning_rate"),
    ({"mode": "supervised", "early_stopping": "maybe"}, "early_stopping"),
    ({"mode": "skipgram", "sampling_threshold": "1.5"}, "sampling_threshold"),
    ({"mode": "skipgram", "subwords": "true", "min_char": "5", "max_char": "3"}, "min_char"),
    ({"mode": "supervised", "early_stopping": "true", "min_epochs": "9", "epochs": "5"},
     "min_epochs"),
])
def test_bad_hyperparameters_are_client_errors_naming_them(raw, words):
    with pytest.raises(ClientError, match=re.escape(words)):
        validate(raw)


def test_values_as_the_sdk_and_json_clients_send_them():
    hp = validate({"mode": '"skipgram"', "subwords": "True", "vector_dim": "50",
                   "sampling_threshold": "1e-3", "_tuning_objective_metric": "train:mean_rho"})
    assert hp["subwords"] is True and hp["vector_dim"] == 50
    assert hp["sampling_threshold"] == 0.001


def test_fasttext_arguments():
    args = fasttext_args(validate({"mode": "supervised"}))
    assert args == {"lr": 0.05, "dim": 100, "epoch": 5, "minCount": 5, "bucket": 2000000,
                    "thread": 1, "verbose": 0, "wordNgrams": 2, "loss": "softmax", "seed": 0}
    args = fasttext_args(validate({"mode": "cbow", "window_size": "3"}))
    assert args["model"] == "cbow" and args["ws"] == 3 and args["minn"] == args["maxn"] == 0
    args = fasttext_args(validate({"mode": "batch_skipgram", "subwords": "true"}))
    assert args["model"] == "skipgram" and (args["minn"], args["maxn"]) == (3, 6)
    assert (args["neg"], args["t"]) == (5, 0.0001)


# --- channel files -----------------------------------------------------------------------------
def test_a_single_file_is_read_in_place_and_several_are_joined(tmp_path):
    one = tmp_path / "one"
    one.mkdir()
    (one / "part").write_text("__label__a x y\n\n__label__b z\n")
    corpus = prepare(one, "train", tmp_path / "work", supervised=True)
    assert corpus.path == one / "part" and corpus.examples == 2
    many = tmp_path / "many"
    (many / "sub").mkdir(parents=True)
    (many / "a").write_text("__label__a x y")  # no final newline
    (many / "sub" / "b").write_text("__label__b z\n")
    (many / ".hidden").write_text("not data\n")
    corpus = prepare(many, "train", tmp_path / "work", supervised=True)
    assert corpus.path.read_text() == "__label__a x y\n__label__b z\n"
    assert corpus.examples == 2


def test_augmented_manifest_lines_become_fasttext_lines(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "manifest").write_text(
        '{"source": "linux  ready for prime time", "label": 4}\n'
        '{"source": "the cat", "label": [1, 3]}\n')
    corpus = prepare(tmp_path / "in", "train", tmp_path / "work", supervised=True)
    assert corpus.path.read_text() == ("__label__4 linux ready for prime time\n"
                                       "__label__1 __label__3 the cat\n")


@pytest.mark.parametrize("body, supervised, words", [
    ("__label__a x\nno label here\n", True, "file data line 2 has no label"),
    ('{"source": "x"}\n', True, "file data line 1 has no label"),
    ('{"text": "x"}\n', False, 'no "source"'),
    ("\n\n", False, "Channel train has no records"),
])
def test_bad_channel_files_are_client_errors_naming_file_and_line(tmp_path, body, supervised,
                                                                  words):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "data").write_text(body)
    with pytest.raises(ClientError, match=re.escape(words)):
        prepare(tmp_path / "in", "train", tmp_path / "work", supervised=supervised)


def test_a_channel_without_files_is_a_client_error(tmp_path):
    with pytest.raises(ClientError, match="Channel validation has no files"):
        prepare(tmp_path / "missing", "validation", tmp_path / "work", supervised=True)


# --- text classification -----------------------------------------------------------------------
def test_classifier_equals_fasttext_called_directly(files):
    hp = validate(SUPERVISED)
    model = fit_supervised(hp, files["train"]).model
    direct = fasttext.train_supervised(input=str(files["train"]), **fasttext_args(hp))
    sentences = [line.split(" ", 1)[1] for line in files["test"].read_text().splitlines()]
    ours = predict(model, sentences, k=2)
    theirs = [direct.f.predict(s + "\n", 2, 0.0, "strict") for s in sentences]
    assert [p["label"] for p in ours] == [[lab for _, lab in t] for t in theirs]
    assert [p["prob"] for p in ours] == [[p for p, _ in t] for t in theirs]
    examples, value = accuracy(model, files["test"])
    assert examples == 300 and value == direct.test(str(files["test"]))[1] > 0.85
    # the top-k answer is ordered and its probabilities are a distribution's
    assert all(p["prob"][0] >= p["prob"][1] for p in ours)
    assert sum(predict(model, [sentences[0]], k=5)[0]["prob"]) == pytest.approx(1, abs=1e-3)


@pytest.mark.parametrize("workers", [2, 3])
def test_accuracy_in_forked_pieces_equals_one_pass(files, monkeypatch, workers):
    from kamado.algorithms.blazingtext import model as model_module

    model = fit_supervised(validate(SUPERVISED), files["train"]).model
    whole = accuracy(model, files["train"])
    monkeypatch.setattr(model_module, "_SPLIT_BYTES", 0)  # split even this small file
    assert accuracy(model, files["train"], workers=workers) == whole
    assert whole[0] == len(files["train"].read_text().splitlines())
    assert not list(files["train"].parent.glob("*.part*"))  # the pieces are removed


def test_early_stopping_keeps_the_best_run_which_equals_fasttext_with_its_epochs(files):
    hp = validate({**SUPERVISED, "early_stopping": "true", "min_epochs": "1", "epochs": "6",
                   "patience": "2", "learning_rate": "0.02"})
    lines = []
    result = fit_supervised(hp, files["train"], files["validation"], log=lines.append)
    assert 1 <= result.epochs <= 6
    assert result.validation_accuracy == accuracy(result.model, files["validation"])[1]
    assert "Validation accuracy improved! Storing best weights..." in lines
    direct = fasttext.train_supervised(input=str(files["train"]),
                                       **dict(fasttext_args(hp), epoch=result.epochs))
    assert direct.test(str(files["validation"]))[1] == result.validation_accuracy


# --- word vectors ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def word2vec(files):
    hp = validate(WORD2VEC)
    model = fit_word2vec(hp, files["sentences"])
    return hp, model


def test_word_vectors_equal_fasttext_and_their_files_load_in_gensim(word2vec, files, tmp_path):
    from gensim.models import KeyedVectors

    hp, model = word2vec
    direct = fasttext.train_unsupervised(input=str(files["sentences"]), **fasttext_args(hp))
    words, matrix = word_vectors(model)
    assert words == direct.words
    assert np.array_equal(matrix, np.stack([direct.get_word_vector(w) for w in words]))
    write_vectors(tmp_path, words, matrix)
    assert (tmp_path / "vectors.txt").read_text().splitlines()[0] == f"{len(words)} 24"
    for binary, name in ((False, "vectors.txt"), (True, "vectors.bin")):
        kv = KeyedVectors.load_word2vec_format(tmp_path / name, binary=binary)
        assert kv.index_to_key == words
        assert np.array_equal(kv.vectors, matrix)


def test_nearest_neighbours_of_topic_words_are_of_the_same_topic(word2vec):
    _, model = word2vec
    words, matrix = word_vectors(model)
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    index = {w: i for i, w in enumerate(words)}
    hits = total = 0
    for topic_words in TOPICS.values():
        for word in topic_words:
            nearest = [words[j] for j in np.argsort(-(unit @ unit[index[word]]))[1:6]]
            hits += sum(n in topic_words for n in nearest)
            total += 5
    assert hits / total > 0.9


def test_unknown_words_get_zeros_without_subwords_and_subword_vectors_with(word2vec, files):
    _, model = word2vec
    assert embed(WordVectors(model), ["zzzzunknown"])[0]["vector"] == [0.0] * 24
    hp = validate({**WORD2VEC, "subwords": "true", "buckets": "5000", "epochs": "3"})
    with_subwords = fit_word2vec(hp, files["sentences"])
    direct = fasttext.train_unsupervised(input=str(files["sentences"]), **fasttext_args(hp))
    vector = with_subwords.get_word_vector("moneys")
    assert np.any(vector) and np.array_equal(vector, direct.get_word_vector("moneys"))


def test_ws353_evaluation_equals_gensims_evaluate_word_pairs(word2vec, tmp_path):
    from gensim.models import KeyedVectors

    _, model = word2vec
    words, matrix = word_vectors(model)
    result = evaluation.evaluate(words, matrix)
    write_vectors(tmp_path, words, matrix)
    kv = KeyedVectors.load_word2vec_format(tmp_path / "vectors.txt")
    _, spearman, oov_percent = kv.evaluate_word_pairs(evaluation.wordsim353_path())
    assert result.total == 353 and result.found >= 10
    assert result.found == round(353 * (1 - oov_percent / 100))
    assert result.rho == pytest.approx(spearman.statistic, abs=1e-6)
    assert result.as_json()["EN-WS-353-ALL.txt"]["not_found"] == 353 - result.found


def test_no_evaluation_figure_without_ws353_words():
    result = evaluation.evaluate(["zork", "blip"], np.eye(2, dtype=np.float32))
    assert result.rho is None and "0 of the 353" in result.reason


# --- the job -----------------------------------------------------------------------------------
def job_env(tmp_path, hp: dict, channels: dict[str, str]) -> TrainingEnvironment:
    for name, body in channels.items():
        (tmp_path / "input" / "data" / name).mkdir(parents=True)
        (tmp_path / "input" / "data" / name / "data").write_text(body)
    return TrainingEnvironment(base=tmp_path, hyperparameters=hp,
                               input_data_config={c: {} for c in channels})


def test_supervised_job_writes_a_fasttext_model_and_aws_accuracy_lines(tmp_path, files, capsys):
    env = job_env(tmp_path, SUPERVISED, {"train": files["train"].read_text(),
                                         "validation": files["validation"].read_text()})
    train_job(env)
    assert sorted(p.name for p in env.model_dir.iterdir()) == ["model.bin"]
    model = fasttext.load_model(str(env.model_dir / "model.bin"))
    out = capsys.readouterr().out
    expected = accuracy(model, files["validation"])[1]
    assert f"#validation_accuracy: {expected:.4f}\nNumber of validation examples: 300" in out
    assert re.search(r"^#train_accuracy: \d\.\d{4}$", out, re.M)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("blazingtext-")]


def test_word2vec_job_writes_vectors_model_and_evaluation(tmp_path, files, capsys):
    env = job_env(tmp_path, WORD2VEC, {"train": files["sentences"].read_text()})
    train_job(env)
    names = sorted(p.name for p in env.model_dir.iterdir())
    assert names == ["eval.json", "model.bin", "vectors.bin", "vectors.txt"]
    rho = json.loads((env.model_dir / "eval.json").read_text())["mean_rho"]
    assert f"#mean_rho: {rho:.4f}" in capsys.readouterr().out


@pytest.mark.parametrize("hp, channels, words", [
    ({"mode": "supervised", "early_stopping": "true"}, ["train"], "no validation channel"),
    ({"mode": "cbow"}, ["train", "validation"], "Channel validation is not used"),
    ({"mode": "supervised", "min_count": "100000", "buckets": "1000"}, ["train"],
     "vocabulary is empty"),
])
def test_job_refuses_what_the_user_must_fix(tmp_path, files, hp, channels, words):
    env = job_env(tmp_path, hp, {c: files["train"].read_text() for c in channels})
    with pytest.raises(ClientError, match=words):
        train_job(env)


def test_word2vec_evaluation_without_ws353_words_is_skipped_not_faked(tmp_path, capsys):
    env = job_env(tmp_path, {"mode": "cbow", "min_count": "1"},
                  {"train": "zork blip quux\n" * 50})
    train_job(env)
    out = capsys.readouterr().out
    assert "Evaluation skipped" in out and "#mean_rho" not in out
    assert not (env.model_dir / "eval.json").exists()


# --- the model server's handlers ---------------------------------------------------------------
@pytest.fixture(scope="module")
def served(files, word2vec, tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    (root / "supervised").mkdir()
    fit_supervised(validate(SUPERVISED), files["train"]).model.save_model(
        str(root / "supervised" / "model.bin"))
    (root / "w2v").mkdir()
    word2vec[1].save_model(str(root / "w2v" / "model.bin"))
    (root / "text").mkdir()
    write_vectors(root / "text", *word_vectors(word2vec[1]))
    return {name: model_fn(root / name) for name in ("supervised", "w2v", "text")}


def test_classification_requests_in_json_and_json_lines(served, files):
    model = served["supervised"].model
    body = json.dumps({"instances": ["money cash bank", "football game"],
                       "configuration": {"k": 2}})
    answer, mime = transform_fn(served["supervised"], body.encode(), "application/json", "*/*")
    assert mime == "application/json"
    assert json.loads(answer) == predict(model, ["money cash bank", "football game"], 2)
    assert json.loads(answer)[0]["label"][0] == "__label__finance"
    lines = b'{"source": "money cash bank", "k": 2}\n{"source": "football game"}\n'
    answer, mime = transform_fn(served["supervised"], lines, "application/jsonlines",
                                "application/jsonlines")
    got = [json.loads(line) for line in answer.decode().splitlines()]
    assert mime == "application/jsonlines" and list(got[0]) == ["prob", "label"]
    assert len(got[0]["label"]) == 2 and got[1]["label"] == ["__label__sports"]


def test_word_vector_requests_from_model_bin_and_vectors_txt_agree(served, word2vec):
    body = json.dumps({"instances": ["money", "zzzzunknown"]}).encode()
    answers = [json.loads(transform_fn(served[name], body, "application/json", None)[0])
               for name in ("w2v", "text")]
    assert answers[0] == answers[1]
    assert answers[0][0]["word"] == "money"
    assert answers[0][0]["vector"] == word2vec[1].get_word_vector("money").tolist()
    assert answers[0][1]["vector"] == [0.0] * 24
    lines = transform_fn(served["w2v"], b'{"source": "money"}\n', "application/jsonlines",
                         None)[0]
    assert json.loads(lines) == answers[0][0]


@pytest.mark.parametrize("body, content_type, accept, error, words", [
    (b"1,2\n", "text/csv", None, UnsupportedFormatError, "text/csv"),
    (b'{"instances": ["x"]}', "application/json", "application/jsonlines",
     UnsupportedAcceptError, "Accept must be application/json"),
    (b"{oops", "application/json", None, BadRequestError, "not valid JSON"),
    (b'{"instances": "x"}', "application/json", None, BadRequestError, "list of sentences"),
    (b'{"instances": ["x"], "configuration": {"k": 0}}', "application/json", None,
     BadRequestError, "k must be a positive integer"),
    (b'{"text": "x"}\n', "application/jsonlines", None, BadRequestError, "Line 1"),
    (b"", "application/json", None, BadRequestError, "empty"),
])
def test_bad_requests(served, body, content_type, accept, error, words):
    with pytest.raises(error, match=re.escape(words)):
        transform_fn(served["supervised"], body, content_type, accept)


def test_metric_definitions_follow_the_mode():
    names = {d["Name"]: d["Regex"] for d in metric_definitions({"mode": "supervised"})}
    assert set(names) == {"train:accuracy", "validation:accuracy"}
    assert re.search(names["validation:accuracy"], "#validation_accuracy: 0.9228").group(1) \
        == "0.9228"
    assert [d["Name"] for d in metric_definitions({"mode": '"skipgram"'})] == ["train:mean_rho"]
    assert len(metric_definitions()) == 3
