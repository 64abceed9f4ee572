"""``python -m kamado.images.xgboost train`` as the engine runs it: a job directory laid out
like /opt/ml, SAGEMAKER_BASE_DIR pointing at it, a real subprocess. Models are checked
against ``xgboost.train`` on the same data with the same hyperparameters."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xgboost as xgb
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import f1_score, precision_score, r2_score, recall_score, roc_auc_score
from sklearn.model_selection import train_test_split

from kamado.algorithms import recordio
from kamado.algorithms.xgboost import metric_definitions
from kamado.algorithms.xgboost.hyperparameters import validate
from kamado.algorithms.xgboost.metrics import FUNCTIONS
from kamado.images.program import ClientError

HP = {"objective": "binary:logistic", "num_round": "12", "max_depth": "3", "eta": "0.3",
      "eval_metric": "auc", "seed": "7"}
CONTENT_TYPES = {"csv": "text/csv", "libsvm": "text/libsvm", "parquet": "application/x-parquet",
                 "recordio": "application/x-recordio-protobuf"}


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    # float32 throughout, so every format carries exactly the numbers xgboost.train sees
    return train_test_split(X.astype(np.float32), y.astype(np.float32), test_size=0.25,
                            random_state=0)


def write_channel(folder: Path, fmt: str, X: np.ndarray, y: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        np.savetxt(folder / "data.csv", np.column_stack([y, X]), delimiter=",", fmt="%.9g")
    elif fmt == "libsvm":
        (folder / "data.libsvm").write_text("".join(
            f"{label:g} " + " ".join(f"{j}:{v:.9g}" for j, v in enumerate(row)) + "\n"
            for row, label in zip(X, y)))
    elif fmt == "parquet":
        pq.write_table(pa.table({f"c{j}": col for j, col in enumerate(np.column_stack([y, X]).T)}),
                       folder / "data.parquet")
    else:
        with open(folder / "data.pbr", "wb") as fh:
            recordio.write_records(fh, X, y)


def make_job(base: Path, hp: dict, channels: dict, *, fmt: str = "csv",
             checkpoints: bool = False) -> Path:
    config = base / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(hp))
    spec = {}
    for name, (X, y) in channels.items():
        write_channel(base / "input" / "data" / name, fmt, X, y)
        spec[name] = {"ContentType": CONTENT_TYPES[fmt], "TrainingInputMode": "File",
                      "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}
    (config / "inputdataconfig.json").write_text(json.dumps(spec))
    (config / "resourceconfig.json").write_text(json.dumps(
        {"current_host": "algo-1", "hosts": ["algo-1"], "current_group_name": "homogeneousCluster"}))
    if checkpoints:
        (config / "checkpointconfig.json").write_text(json.dumps(
            {"LocalPath": str(base / "checkpoints"), "S3Uri": "s3://bucket/ckpt"}))
    return base


def start(base: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kamado.images.xgboost", "train"],
                            env={**os.environ, "SAGEMAKER_BASE_DIR": str(base)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_jobs(*bases: Path) -> list[subprocess.CompletedProcess]:
    """Runs jobs side by side (each is mostly Python start-up) and waits for all."""
    procs = [start(b) for b in bases]
    done = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def load_model(base: Path) -> xgb.Booster:
    booster = xgb.Booster()  # from bytes, as the model arrives in model.tar.gz
    booster.load_model(bytearray((base / "model" / "xgboost-model").read_bytes()))
    return booster


def direct(cancer, hp: dict = HP):
    """What a user gets from xgboost.train with the same hyperparameters."""
    X_train, X_valid, y_train, y_valid = cancer
    params = {k: v for k, v in hp.items() if k != "num_round"}
    dtrain, dvalid = xgb.DMatrix(X_train, label=y_train), xgb.DMatrix(X_valid, label=y_valid)
    history: dict = {}
    booster = xgb.train(params, dtrain, num_boost_round=int(hp["num_round"]),
                        evals=[(dtrain, "train"), (dvalid, "validation")], evals_result=history,
                        verbose_eval=False)
    return booster, history


def auc(booster: xgb.Booster, cancer) -> float:
    _, X_valid, _, y_valid = cancer
    return roc_auc_score(y_valid, booster.predict(xgb.DMatrix(X_valid)))


def channels_of(cancer) -> dict:
    X_train, X_valid, y_train, y_valid = cancer
    return {"train": (X_train, y_train), "validation": (X_valid, y_valid)}


def failure(base: Path) -> str:
    return (base / "output" / "failure").read_text()


# --- training ------------------------------------------------------------------------------------
def test_every_input_format_trains_the_model_xgboost_train_does(tmp_path, cancer):
    expected_booster, history = direct(cancer)
    expected = auc(expected_booster, cancer)
    bases = [make_job(tmp_path / fmt, HP, channels_of(cancer), fmt=fmt) for fmt in CONTENT_TYPES]
    for fmt, base, result in zip(CONTENT_TYPES, bases, run_jobs(*bases)):
        assert result.returncode == 0, f"{fmt}: {result.stderr[-2000:]}"
        assert not (base / "output" / "failure").exists()
        assert auc(load_model(base), cancer) == pytest.approx(expected, abs=0.005), fmt
        if fmt == "csv":
            eval_lines = [ln for ln in result.stdout.splitlines() if ln.startswith("[")
                          and "train-auc" in ln]
            assert len(eval_lines) == 12
            assert eval_lines[0].startswith("[0]\ttrain-auc:")
            # the engine writes tabs as #011 and applies the definitions SageMaker fills in
            last = eval_lines[-1].replace("\t", "#011")
            found = {d["Name"]: float(m.group(1)) for d in metric_definitions(HP)
                     if (m := re.search(d["Regex"], last))}
            assert found == pytest.approx({"train:auc": history["train"]["auc"][-1],
                                           "validation:auc": history["validation"]["auc"][-1]},
                                          abs=1e-5)


def test_sdk_quoted_hyperparameters_custom_metrics_and_early_stopping(tmp_path, cancer):
    # Framework estimators JSON-encode values; AWS's container reads them all the same.
    hp = {**{k: json.dumps(v) for k, v in HP.items()}, "num_round": "200",
          "eval_metric": '"auc,accuracy"', "early_stopping_rounds": "3", "learning_rate": "0.3"}
    del hp["eta"]
    base = make_job(tmp_path / "job", hp, channels_of(cancer))
    (result,) = run_jobs(base)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("[")
             and "\tvalidation-accuracy:" in ln]
    assert 3 < len(lines) < 200  # stopped early
    booster = load_model(base)
    # early stopping watched the last metric (accuracy) and kept the best model
    accuracy = [float(re.search(r"validation-accuracy:(\S+)", ln).group(1)) for ln in lines]
    assert booster.num_boosted_rounds() == int(np.argmax(accuracy)) + 1
    _, X_valid, _, y_valid = cancer
    predicted = booster.predict(xgb.DMatrix(X_valid))
    assert accuracy[int(np.argmax(accuracy))] == pytest.approx(
        np.mean(np.rint(predicted) == y_valid), abs=1e-5)
    names = {d["Name"] for d in metric_definitions(hp)}
    assert names == {"train:auc", "train:accuracy", "validation:auc", "validation:accuracy"}


def test_checkpoints_resume_from_the_newest(tmp_path, cancer):
    hp = {**HP, "num_round": "4"}
    base = make_job(tmp_path / "job", hp, channels_of(cancer), checkpoints=True)
    (first,) = run_jobs(base)
    assert first.returncode == 0, first.stderr[-2000:]
    saved = sorted(p.name for p in (base / "checkpoints").iterdir())
    assert saved == [f"xgboost-checkpoint.{i}" for i in range(4)]
    # a restarted job with more rounds picks up at round 4 (a spot restart keeps the files)
    (base / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({**HP, "num_round": "12"}))
    (second,) = run_jobs(base)
    assert second.returncode == 0, second.stderr[-2000:]
    rounds = [int(m.group(1)) for m in re.finditer(r"^\[(\d+)\]\t", second.stdout, re.M)]
    assert rounds == list(range(4, 12))
    assert "resuming from iteration 4" in second.stdout
    kept = sorted(int(p.suffix[1:]) for p in (base / "checkpoints").iterdir())
    assert kept == [7, 8, 9, 10, 11]  # the newest five
    expected, _ = direct(cancer)
    _, X_valid, _, _ = cancer
    assert np.allclose(load_model(base).predict(xgb.DMatrix(X_valid)),
                       expected.predict(xgb.DMatrix(X_valid)), atol=1e-6)


def test_save_model_on_termination_leaves_a_model_when_stopped(tmp_path, cancer):
    hp = {**HP, "num_round": "100000", "save_model_on_termination": "true"}
    base = make_job(tmp_path / "job", hp, channels_of(cancer))
    proc = start(base)
    try:
        deadline = time.monotonic() + 60
        for line in proc.stdout:  # the job is training once round 2 is printed
            if line.startswith("[2]") or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert load_model(base).num_boosted_rounds() >= 2  # rounds 0 and 1 were saved before [2]


# --- failures ------------------------------------------------------------------------------------
def test_user_errors_fail_with_a_client_error_naming_the_problem(tmp_path, cancer):
    X_train, _, y_train, _ = cancer
    train = {"train": (X_train[:50], y_train[:50])}
    bad_hp = make_job(tmp_path / "bad-hp", {**HP, "eta": "2"}, train)
    no_rounds = make_job(tmp_path / "no-rounds", {"objective": "binary:logistic"}, train)
    corrupt = make_job(tmp_path / "corrupt", HP, train)
    with open(corrupt / "input" / "data" / "train" / "data.csv", "a") as fh:
        fh.write("1,2,oops" + ",0" * 28 + "\n")
    empty = make_job(tmp_path / "empty", HP, train)
    (empty / "input" / "data" / "train" / "data.csv").unlink()
    labels = make_job(tmp_path / "labels", HP, {"train": (X_train[:50], y_train[:50] + 3)})
    results = run_jobs(bad_hp, no_rounds, corrupt, empty, labels)
    assert [r.returncode for r in results] == [2] * 5
    assert failure(bad_hp) == "ClientError: Hyperparameter eta: value 2 is not in [0, 1]."
    assert failure(no_rounds) == "ClientError: Hyperparameter num_round is required."
    assert failure(corrupt).startswith(
        "ClientError: CSV file data.csv: column 3 is not numeric on line 51 ('oops')")
    assert failure(empty).startswith("ClientError: Channel train has no data")
    assert failure(labels) == ("ClientError: Channel train: labels must be in [0, 1] for "
                               f"objective binary:logistic; row 1 has {y_train[0] + 3:g}.")
    for base, result in zip((bad_hp, no_rounds, corrupt, empty, labels), results):
        assert failure(base) in result.stderr  # also in the job's log
        assert not (base / "model" / "xgboost-model").exists()


# --- script mode ---------------------------------------------------------------------------------
def test_sagemaker_program_runs_the_script_mode_toolkit(tmp_path, monkeypatch):
    import kamado.images.toolkit as toolkit
    from kamado.images.xgboost import __main__ as image

    base = tmp_path / "job"
    (base / "input" / "config").mkdir(parents=True)
    (base / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({"sagemaker_program": '"train.py"', "num_round": "3"}))
    calls = []

    def fake(env, framework_module):
        calls.append((env.base, framework_module))
        return 7

    monkeypatch.setattr(toolkit, "run_user_script", fake)
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(base))
    assert image.main() == 7
    assert calls == [(base, "sagemaker_xgboost_container.training:main")]


# --- hyperparameters and metrics, in process -----------------------------------------------------
@pytest.mark.parametrize("hp,message", [
    ({"num_round": "0"}, "Hyperparameter num_round: value 0 is not >= 1."),
    ({"num_round": "ten"}, "Hyperparameter num_round: value 'ten' is not >= 1."),
    ({"num_round": "5", "objective": "multi:softmax"},
     "Hyperparameter num_class is required for objective multi:softmax."),
    ({"num_round": "5", "num_class": "3"}, "Hyperparameter num_class must not be set for "
                                           "objective reg:squarederror"),
    ({"num_round": "5", "subsample": "0"}, "Hyperparameter subsample: value 0 is not in (0, 1]."),
    ({"num_round": "5", "eval_metric": "auc"}, "metric 'auc' can only be applied"),
    ({"num_round": "5", "eval_metric": "rmse,wrong"}, "eval_metric: wrong is not a supported"),
    ({"num_round": "5", "eval_metric": "mae@2"}, "a threshold (@t) applies to error, ndcg and map"),
    ({"num_round": "5", "monotone_constraints": "(1,-1)"}, "monotone_constraints can be used only"),
    ({"num_round": "5", "tree_method": "hist", "monotone_constraints": "(1,2)"},
     "monotone_constraints: value (1,2) is not a tuple of -1, 0 and 1."),
    ({"num_round": "5", "max_depth_x": "3"}, "Extraneous hyperparameter found: max_depth_x."),
    ({"num_round": "5", "booster": "gblinear", "updater": "grow_colmaker"},
     "Hyperparameter updater: grow_colmaker is not valid here"),
])
def test_bad_hyperparameters(hp, message):
    with pytest.raises(ClientError) as err:
        validate(hp)
    assert message in str(err.value)


def test_hyperparameters_parse_leniently_like_aws():
    hp = validate({"num_round": '"10"', "learning_rate": "0.1", "reg_lambda": "2",
                   "min_split_loss": "1", "reg_alpha": "0.5", "eval_metric": '["auc", "error@0.6"]',
                   "objective": '"binary:logistic"', "sagemaker_container_log_level": "20",
                   "_tuning_objective_metric": "validation:f1", "max_depth": "4.0",
                   "tree_method": "hist", "monotone_constraints": "(1,0,-1)",
                   "save_model_on_termination": "True"})
    assert hp == {"num_round": 10, "eta": 0.1, "lambda": 2.0, "gamma": 1.0, "alpha": 0.5,
                  "eval_metric": ["auc", "error@0.6"], "objective": "binary:logistic",
                  "_tuning_objective_metric": "f1", "max_depth": 4, "tree_method": "hist",
                  "monotone_constraints": (1, 0, -1), "save_model_on_termination": "true"}


def test_metric_definitions_cover_every_metric_or_the_jobs_own():
    every = metric_definitions()
    assert len(every) == 2 * 33
    assert {"Name": "validation:auc",
            "Regex": r".*\[[0-9]+\].*#011validation-auc:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*"} \
        in every
    assert [d["Name"] for d in metric_definitions({"num_round": "5"})] == \
        ["train:rmse", "validation:rmse"]
    assert [d["Name"] for d in metric_definitions({"objective": "multi:softmax"})] == \
        ["train:mlogloss", "validation:mlogloss"]
    names = [d["Name"] for d in metric_definitions(
        {"eval_metric": "error@0.7,logloss", "_tuning_objective_metric": "validation:auc"})]
    assert names == ["train:error@0.7", "train:logloss", "train:auc", "validation:error@0.7",
                     "validation:logloss", "validation:auc"]
    line = "[7]#011train-error@0.7:0.01#011validation-error@0.7:2.5e-3"
    got = {d["Name"]: m.group(1) for d in metric_definitions({"eval_metric": "error@0.7"})
           if (m := re.search(d["Regex"], line))}
    assert got == {"train:error@0.7": "0.01", "validation:error@0.7": "2.5e-3"}


def test_custom_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200).astype(np.float32)
    p = np.clip(y * 0.6 + rng.normal(0.2, 0.3, 200), 0, 1)
    labels = np.rint(p)
    assert FUNCTIONS["accuracy"](y, p) == pytest.approx(np.mean(labels == y))
    assert FUNCTIONS["f1"](y, p) == pytest.approx(f1_score(y, labels, average="macro"))
    assert FUNCTIONS["f1_binary"](y, p) == pytest.approx(f1_score(y, labels))
    assert FUNCTIONS["precision"](y, p) == pytest.approx(precision_score(y, labels))
    assert FUNCTIONS["recall_micro"](y, p) == pytest.approx(
        recall_score(y, labels, average="micro"))
    assert FUNCTIONS["r2"](y, p) == pytest.approx(r2_score(y, p))
    y3 = rng.integers(0, 3, 300).astype(np.float32)
    probs = rng.dirichlet(np.ones(3), 300)
    probs[np.arange(300), y3.astype(int)] += 0.3
    assert FUNCTIONS["precision_macro"](y3, probs) == pytest.approx(
        precision_score(y3, probs.argmax(1), average="macro"))
    assert FUNCTIONS["f1_macro"](y3, probs) == pytest.approx(
        f1_score(y3, probs.argmax(1), average="macro"))


def test_a_model_file_without_extension_loads_from_bytes_too(tmp_path, cancer):
    # The inference side reads the model out of model.tar.gz; both routes must work.
    from kamado.algorithms.xgboost.callbacks import save as _save

    booster, _ = direct(cancer, {**HP, "num_round": "2"})
    _save(booster, tmp_path / "xgboost-model")
    again = xgb.Booster()
    again.load_model(bytearray((tmp_path / "xgboost-model").read_bytes()))
    assert again.num_boosted_rounds() == 2
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
    assert io.BytesIO((tmp_path / "xgboost-model").read_bytes()).read(1) == b"{"  # UBJSON
