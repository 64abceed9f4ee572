"""The built-in algorithms' shared kit: hyperparameter parsing and channel reading, with the
messages a user acts on."""

from __future__ import annotations

import numpy as np
import pytest

from kamado.algorithms import channels
from kamado.algorithms.hyperparameters import Number, boolean, choice, parse
from kamado.images.environment import TrainingEnvironment
from kamado.images.program import ClientError, algorithm_main

SPECS = {"k": Number(integer=True, lo=1), "init_method": choice("random", "kmeans++"),
         "subtract_mean": boolean, "tol": Number(lo=0, hi=1)}
DEFAULTS = {"init_method": "random", "subtract_mean": True}


def test_parse_types_values_and_fills_defaults():
    hp = parse({"k": "3", "tol": "0.5", "_tuning_objective_metric": "test:msd",
                "sagemaker_region": '"us-east-1"'}, SPECS, DEFAULTS, "K-Means", required=("k",))
    assert hp == {"k": 3, "tol": 0.5, "init_method": "random", "subtract_mean": True}
    assert parse({"k": 2, "subtract_mean": "False"}, SPECS, DEFAULTS, "K-Means")["subtract_mean"] is False


@pytest.mark.parametrize("raw, words", [
    ({"k": "0"}, ["k", "[1, inf]"]),
    ({"k": "2.5"}, ["k", "an integer"]),
    ({"k": "2", "init_method": "fancy"}, ["init_method", "random, kmeans++"]),
    ({"k": "2", "subtract_mean": "maybe"}, ["subtract_mean", "true, false"]),
    ({"k": "2", "centers": "4"}, ["centers", "not a hyperparameter of K-Means", "init_method"]),
    ({}, ["k is required by K-Means", "an integer"]),
])
def test_parse_refuses_with_what_is_allowed(raw, words):
    with pytest.raises(ClientError) as err:
        parse(raw, SPECS, DEFAULTS, "K-Means", required=("k",))
    for word in words:
        assert word in str(err.value)


def _env(tmp_path, files: dict[str, tuple[str | None, bytes]]) -> TrainingEnvironment:
    config = {}
    for channel, (content_type, body) in files.items():
        (tmp_path / "input" / "data" / channel).mkdir(parents=True)
        (tmp_path / "input" / "data" / channel / "part.csv").write_bytes(body)
        config[channel] = {"ContentType": content_type} if content_type else {}
    return TrainingEnvironment(tmp_path, input_data_config=config)


def test_channels_check_names_unused_and_missing_channels(tmp_path):
    env = _env(tmp_path, {"train": ("text/csv", b"1,2\n"), "extra": ("text/csv", b"1,2\n")})
    with pytest.raises(ClientError, match="Channel extra is not used by PCA; its channels are "
                                          r"train \(required\), test"):
        channels.check(env, "PCA", ("train", "test"))
    with pytest.raises(ClientError, match="PCA requires a train channel"):
        channels.check(_env(tmp_path / "b", {"test": ("text/csv", b"1\n")}), "PCA",
                       ("train", "test"))


def test_channels_read_labels_and_feature_dim(tmp_path):
    env = _env(tmp_path, {"train": ("text/csv;label_size=0", b"1,2,3\n4,5,6\n"),
                          "test": ("text/csv", b"1,2,3\n4,5,6\n")})
    ds = channels.read(env, "train", "K-Means", label="ignored", feature_dim=3)
    assert ds.y is None and np.array_equal(ds.X, [[1, 2, 3], [4, 5, 6]])
    ds = channels.read(env, "test", "k-NN", label="required", feature_dim=2)
    assert np.array_equal(ds.y, [1, 4]) and ds.X.shape == (2, 2)
    with pytest.raises(ClientError, match="the records have 2 features but feature_dim is 3 "
                                          r"\(for CSV without labels"):
        channels.read(env, "test", "K-Means", label="ignored", feature_dim=3)
    with pytest.raises(ClientError, match="content type text/csv is not supported by "
                                          "Factorization Machines; use application/x-recordio"):
        channels.read(env, "test", "Factorization Machines", formats=("application/x-recordio-protobuf",))


def test_channels_read_refuses_records_without_labels(tmp_path):
    env = _env(tmp_path, {"train": ("text/csv;label_size=0", b"1,2\n")})
    with pytest.raises(ClientError, match="Channel train has no labels; k-NN needs the label"):
        channels.read(env, "train", "k-NN")


def test_algorithm_main_reports_a_client_error_of_the_train_function(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))  # the job directory
    (tmp_path / "output").mkdir()
    code = algorithm_main("tests.unit.algorithms.test_kit:_failing_train", "unused", ["train"])
    assert code == 2
    assert (tmp_path / "output" / "failure").read_text() == "ClientError: k is too large"


def _failing_train(env):
    raise ClientError("k is too large")
