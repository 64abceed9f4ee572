"""``python -m kamado.images.linear_learner train`` as the engine runs it: a job directory
laid out like /opt/ml, SAGEMAKER_BASE_DIR pointing at it, a real subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge, SGDRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

from kamado.algorithms import recordio
from kamado.algorithms.linear_learner import load_model, metric_definitions, predict

LINE = re.compile(r"^\[\d\d/\d\d/\d{4} \d\d:\d\d:\d\d (INFO|WARNING) \d+\] ")


def make_job(base: Path, hp: dict, channels: dict, *, content_type: str | None = "text/csv",
             checkpoints: bool = False) -> Path:
    config = base / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps({k: str(v) for k, v in hp.items()}))
    spec = {}
    for name, (X, y) in channels.items():
        folder = base / "input" / "data" / name
        folder.mkdir(parents=True, exist_ok=True)
        if content_type is None:
            with open(folder / "part-0.pbr", "wb") as fh:
                recordio.write_records(fh, X, y)
        else:
            np.savetxt(folder / "data.csv", np.column_stack([y, X]), delimiter=",", fmt="%.10g")
        spec[name] = {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated",
                      "RecordWrapperType": "None"}
        if content_type is not None:
            spec[name]["ContentType"] = content_type
    (config / "inputdataconfig.json").write_text(json.dumps(spec))
    (config / "resourceconfig.json").write_text(json.dumps(
        {"current_host": "algo-1", "hosts": ["algo-1"],
         "current_group_name": "homogeneousCluster"}))
    if checkpoints:
        (config / "checkpointconfig.json").write_text(json.dumps(
            {"LocalPath": str(base / "checkpoints"), "S3Uri": "s3://bucket/ckpt"}))
    return base


def run_job(base: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SAGEMAKER_BASE_DIR": str(base)}
    return subprocess.run([sys.executable, "-m", "kamado.images.linear_learner", "train"],
                          env=env, capture_output=True, text=True, timeout=120)


def metrics_of(stdout: str, hp: dict) -> dict[str, list[float]]:
    """What the platform would record: every MetricDefinition applied to every line."""
    rules = [(d["Name"], re.compile(d["Regex"])) for d in metric_definitions(hp)]
    found: dict[str, list[float]] = {}
    for line in stdout.splitlines():
        for name, rule in rules:
            m = rule.search(line)
            if m:
                found.setdefault(name, []).append(float(m.group(1)))
    return found


@pytest.fixture(scope="module")
def diabetes_job(tmp_path_factory):
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.25, random_state=0)
    hp = {"predictor_type": "regressor", "feature_dim": 10}
    base = make_job(tmp_path_factory.mktemp("diabetes"), hp,
                    {"train": (Xtr, ytr), "validation": (Xva, yva), "test": (Xva, yva)},
                    checkpoints=True)
    return base, hp, (Xtr, Xva, ytr, yva), run_job(base)


def test_regressor_job_reaches_scikit_learn_r2(diabetes_job):
    base, _, (Xtr, Xva, ytr, yva), proc = diabetes_job
    assert proc.returncode == 0, proc.stderr
    assert not (base / "output" / "failure").exists()
    model = load_model(base / "model" / "model_algo-1")
    got = r2_score(yva, [p["score"] for p in predict(model, Xva)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sgd = SGDRegressor(random_state=0, max_iter=2000).fit(Xtr, ytr)
    ridge = Ridge(alpha=1.0).fit(Xtr, ytr)
    assert got >= max(r2_score(yva, ridge.predict(Xva)), r2_score(yva, sgd.predict(Xva))) - 0.02


def test_regressor_job_log_lines_feed_the_metric_definitions(diabetes_job):
    base, hp, (_, Xva, _, yva), proc = diabetes_job
    lines = [line for line in proc.stdout.splitlines() if "#quality_metric" in line
             or "#progress_metric" in line or "#throughput_metric" in line]
    assert lines and all(LINE.match(line) for line in lines)
    found = metrics_of(proc.stdout, hp)
    model = load_model(base / "model")
    mse = float(np.mean((np.array([p["score"] for p in predict(model, Xva)]) - yva) ** 2))
    assert found["validation:mse"][-1] == pytest.approx(mse, rel=1e-6)
    assert found["validation:rmse"][-1] == pytest.approx(np.sqrt(mse), rel=1e-6)
    assert found["test:mse"][-1] == pytest.approx(mse, rel=1e-6)
    assert found["validation:objective_loss:final"][-1] == pytest.approx(mse, rel=1e-6)
    assert found["train:progress"][-1] == 100 and found["train:throughput"][-1] > 0
    epochs = len(found["train:objective_loss"])
    assert epochs == len(found["validation:objective_loss"]) and 1 <= epochs <= 15
    assert {"validation:absolute_loss", "test:absolute_loss", "test:objective_loss"} <= set(found)
    assert "train:objective_loss:final" not in found  # final train lines only without validation
    assert "Best model found for hyperparameters: {" in proc.stdout


def test_rerun_with_checkpoints_resumes_and_gives_the_same_model(diabetes_job, tmp_path):
    base, *_, first = diabetes_job
    assert (base / "checkpoints" / "linear-learner-algo-1.npz").is_file()
    before = (base / "model" / "model_algo-1").read_bytes()
    again = run_job(base)
    assert again.returncode == 0, again.stderr
    assert "Resuming from the checkpoint saved after epoch" in again.stdout
    assert "#quality_metric: host=algo-1, epoch=" not in again.stdout  # nothing left to train
    model_again = load_model(base / "model")
    (tmp_path / "model_algo-1").write_bytes(before)
    np.testing.assert_array_equal(load_model(tmp_path).weights, model_again.weights)


def test_binary_job_from_recordio_without_content_type(tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=1)
    Xfit, Xval, yfit, yval = train_test_split(Xtr, ytr, test_size=0.25, random_state=0)
    hp = {"predictor_type": "binary_classifier",
          "binary_classifier_model_selection_criteria": "recall_at_target_precision",
          "target_precision": 0.98, "use_bias": True}
    base = make_job(tmp_path, hp, {"train": (Xfit, yfit), "validation": (Xval, yval),
                                   "test": (Xte, yte)}, content_type=None)
    proc = run_job(base)
    assert proc.returncode == 0, proc.stderr
    model = load_model(base / "model")
    pred = np.array([p["predicted_label"] for p in predict(model, Xval)])
    assert np.sum((pred == 1) & (yval == 1)) / max(1, np.sum(pred == 1)) >= 0.98
    found = metrics_of(proc.stdout, hp)
    test_pred = np.array([p["predicted_label"] for p in predict(model, Xte)])
    assert found["test:binary_classification_accuracy"][-1] == pytest.approx(
        np.mean(test_pred == yte))
    assert found["test:binary_classification_accuracy"][-1] > 0.9
    assert found["test:roc_auc_score"][-1] > 0.97
    assert {"validation:precision", "validation:recall", "validation:binary_f_beta",
            "test:objective_loss", "train:objective_loss"} <= set(found)


def test_job_without_validation_reports_final_train_metrics(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    hp = {"predictor_type": "regressor", "epochs": 5}
    proc = run_job(make_job(tmp_path, hp, {"train": (X, y)}))
    assert proc.returncode == 0, proc.stderr
    found = metrics_of(proc.stdout, hp)
    assert {"train:mse", "train:objective_loss:final", "train:absolute_loss"} <= set(found)
    assert "Test data is not provided." in proc.stdout


@pytest.mark.parametrize("hp,reason", [
    ({"predictor_type": "regressor", "mini_batch_size": "0"},
     "ClientError: Hyperparameter mini_batch_size: value 0 is not in (0, inf]"),
    ({"feature_dim": "10"}, "ClientError: Hyperparameter predictor_type is required"),
    ({"predictor_type": "regressor", "feature_dim": "12"},
     "ClientError: Hyperparameter feature_dim is 12 but the records of channel train have 10"),
])
def test_client_errors_exit_2_with_the_reason_in_the_failure_file(tmp_path, hp, reason):
    X, y = load_diabetes(return_X_y=True)
    base = make_job(tmp_path, hp, {"train": (X[:50], y[:50])})
    proc = run_job(base)
    assert proc.returncode == 2
    failure = (base / "output" / "failure").read_text()
    assert failure.startswith(reason), failure
    assert reason in proc.stderr
    assert not (base / "model" / "model_algo-1").exists()


def test_unknown_channel_is_a_client_error(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    base = make_job(tmp_path, {"predictor_type": "regressor"},
                    {"train": (X[:50], y[:50]), "extra": (X[:5], y[:5])})
    proc = run_job(base)
    assert proc.returncode == 2
    assert (base / "output" / "failure").read_text().startswith(
        "ClientError: Channel extra is not used by Linear Learner")
