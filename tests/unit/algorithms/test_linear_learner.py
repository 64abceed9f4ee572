"""The Linear Learner library on arrays: quality against scikit-learn, hyperparameter
validation, model selection criteria, losses, the model file, checkpoints, metric
definitions."""

from __future__ import annotations

import re
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression, Ridge, SGDRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kamado.algorithms.linear_learner import (
    Data, evaluate, fit, fit_resolved, load_model, metric_definitions, predict,
    validate_hyperparameters)
from kamado.algorithms.linear_learner.checkpoint import Checkpointer
from kamado.algorithms.log import SilentLog
from kamado.images.program import ClientError


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=1, stratify=y)
    Xfit, Xval, yfit, yval = train_test_split(Xtr, ytr, test_size=0.25, random_state=0,
                                              stratify=ytr)
    return Xtr, ytr, Xfit, yfit, Xval, yval, Xte, yte


def labels(model, X):
    return np.array([p["predicted_label"] for p in predict(model, X)])


def scores(model, X):
    return np.array([p["score"] for p in predict(model, X)])


# --- quality against scikit-learn -------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_regressor_with_defaults_reaches_ridge_and_sgd_r2_on_diabetes(diabetes):
    Xtr, Xva, ytr, yva = diabetes
    model = fit({"predictor_type": "regressor", "feature_dim": "10"}, Xtr, ytr,
                validation=(Xva, yva))
    got = r2_score(yva, scores(model, Xva))
    ridge = r2_score(yva, Ridge(alpha=1.0).fit(Xtr, ytr).predict(Xva))
    sgd = r2_score(yva, SGDRegressor(random_state=0, max_iter=2000).fit(Xtr, ytr).predict(Xva))
    assert got >= max(ridge, sgd) - 0.02, (got, ridge, sgd)


def test_regressor_without_validation_is_close_to_least_squares(diabetes):
    Xtr, Xva, ytr, yva = diabetes
    model = fit({"predictor_type": "regressor", "epochs": "60"}, Xtr, ytr)
    ridge = r2_score(yva, Ridge(alpha=1.0).fit(Xtr, ytr).predict(Xva))
    assert r2_score(yva, scores(model, Xva)) >= ridge - 0.03


def test_binary_classifier_accuracy_matches_logistic_regression_on_held_out_data(cancer):
    Xtr, ytr, Xfit, yfit, Xval, yval, Xte, yte = cancer
    model = fit({"predictor_type": "binary_classifier"}, Xfit, yfit, validation=(Xval, yval))
    reference = make_pipeline(StandardScaler(), LogisticRegression()).fit(Xtr, ytr).score(Xte, yte)
    assert np.mean(labels(model, Xte) == yte) >= reference - 0.03
    out = predict(model, Xte[:3])
    assert all(set(p) == {"score", "predicted_label"} and 0 <= p["score"] <= 1 for p in out)


def test_multiclass_on_wine():
    X, y = load_wine(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    model = fit({"predictor_type": "multiclass_classifier", "num_classes": "3"}, Xtr, ytr,
                validation=(Xva, yva))
    reference = make_pipeline(StandardScaler(), LogisticRegression()).fit(Xtr, ytr).score(Xva, yva)
    assert np.mean(labels(model, Xva) == yva) >= reference - 0.03
    first = predict(model, Xva[:1])[0]
    assert len(first["score"]) == 3 and sum(first["score"]) == pytest.approx(1.0)
    assert first["predicted_label"] == int(np.argmax(first["score"]))
    hp = validate_hyperparameters({"predictor_type": "multiclass_classifier", "num_classes": "3",
                                   "accuracy_top_k": "2", "f_beta": "0.5"})
    names = [name for name, _, _ in evaluate(model, Xva, yva, hp)]
    assert names[:7] == ["multiclass_cross_entropy_objective", "multiclass_accuracy",
                         "multiclass_top_k_accuracy_2", "dcg", "macro_recall", "macro_precision",
                         "macro_f_0.500"]


def test_balanced_multiclass_weights_train():
    X, y = load_wine(return_X_y=True)
    keep = np.r_[np.flatnonzero(y == 0)[:10], np.flatnonzero(y != 0)]  # class 0 made rare
    model = fit({"predictor_type": "multiclass_classifier", "num_classes": "3",
                 "balance_multiclass_weights": "True"}, X[keep], y[keep])
    assert np.mean(labels(model, X) == y) > 0.85


# --- model selection criteria ------------------------------------------------------------------
def _precision_recall(pred, y):
    tp = np.sum((pred == 1) & (y == 1))
    return tp / max(1, np.sum(pred == 1)), tp / max(1, np.sum(y == 1))


def test_recall_at_target_precision_reaches_the_target_on_validation(cancer):
    *_, Xfit, yfit, Xval, yval, _, _ = cancer
    model = fit({"predictor_type": "binary_classifier",
                 "binary_classifier_model_selection_criteria": "recall_at_target_precision",
                 "target_precision": "0.99"}, Xfit, yfit, validation=(Xval, yval))
    precision, recall = _precision_recall(labels(model, Xval), yval)
    assert precision >= 0.99 and recall > 0.5


def test_precision_at_target_recall_reaches_the_target_on_validation(cancer):
    *_, Xfit, yfit, Xval, yval, _, _ = cancer
    model = fit({"predictor_type": "binary_classifier",
                 "binary_classifier_model_selection_criteria": "precision_at_target_recall",
                 "target_recall": "0.99"}, Xfit, yfit, validation=(Xval, yval))
    precision, recall = _precision_recall(labels(model, Xval), yval)
    assert recall >= 0.99 and precision > 0.8


def test_f_beta_criterion_moves_the_threshold_the_way_beta_asks(cancer):
    *_, Xfit, yfit, Xval, yval, _, _ = cancer
    common = {"predictor_type": "binary_classifier",
              "binary_classifier_model_selection_criteria": "f_beta", "num_models": "1"}
    recall_heavy = fit({**common, "f_beta": "10"}, Xfit, yfit, validation=(Xval, yval))
    precision_heavy = fit({**common, "f_beta": "0.1"}, Xfit, yfit, validation=(Xval, yval))
    assert recall_heavy.threshold <= precision_heavy.threshold
    assert _precision_recall(labels(recall_heavy, Xval), yval)[1] >= \
        _precision_recall(labels(precision_heavy, Xval), yval)[1]


def test_loss_function_criterion_keeps_the_default_threshold(cancer):
    *_, Xfit, yfit, Xval, yval, _, _ = cancer
    for criterion in ("loss_function", "cross_entropy_loss"):
        model = fit({"predictor_type": "binary_classifier",
                     "binary_classifier_model_selection_criteria": criterion},
                    Xfit, yfit, validation=(Xval, yval))
        assert model.threshold == 0.5


def test_positive_example_weight_mult(cancer):
    *_, Xfit, yfit, Xval, yval, _, _ = cancer
    balanced = fit({"predictor_type": "binary_classifier", "num_models": "2",
                    "positive_example_weight_mult": "balanced"}, Xfit, yfit)
    expected = np.sum(yfit == 0) / np.sum(yfit == 1)
    assert balanced.hyperparameters["positive_example_weight_mult"] == pytest.approx(expected)
    fixed = fit({"predictor_type": "binary_classifier", "num_models": "1",
                 "positive_example_weight_mult": "3"}, Xfit, yfit)
    assert fixed.hyperparameters["positive_example_weight_mult"] == 3.0
    auto = fit({"predictor_type": "binary_classifier", "positive_example_weight_mult": "auto"},
               Xfit, yfit, validation=(Xval, yval))
    assert auto.hyperparameters["positive_example_weight_mult"] in (1.0, pytest.approx(
        np.sum(yfit == 0) / np.sum(yfit == 1)))


def test_hinge_loss_scores_are_margins(cancer):
    *_, Xfit, yfit, Xval, yval, _, _ = cancer
    model = fit({"predictor_type": "binary_classifier", "loss": "hinge_loss"}, Xfit, yfit,
                validation=(Xval, yval))
    s = scores(model, Xval)
    assert s.min() < 0 < s.max() and np.mean(labels(model, Xval) == yval) > 0.93


# --- regression losses and regularisation -----------------------------------------------------
def test_quantile_loss_predicts_the_quantile(diabetes):
    Xtr, _, ytr, _ = diabetes
    model = fit({"predictor_type": "regressor", "loss": "quantile_loss", "quantile": "0.9",
                 "epochs": "40"}, Xtr, ytr)
    assert 0.8 <= np.mean(ytr <= scores(model, Xtr)) <= 0.97


@pytest.mark.parametrize("loss", ["absolute_loss", "huber_loss", "eps_insensitive_squared_loss",
                                  "eps_insensitive_absolute_loss"])
def test_robust_regression_losses_fit(diabetes, loss):
    Xtr, Xva, ytr, yva = diabetes
    model = fit({"predictor_type": "regressor", "loss": loss, "huber_delta": "40",
                 "epochs": "30"}, Xtr, ytr, validation=(Xva, yva))
    assert r2_score(yva, scores(model, Xva)) > 0.3


def test_l1_gives_exact_zeros_on_noise_features(diabetes):
    Xtr, _, ytr, _ = diabetes
    noise = np.random.default_rng(0).normal(size=(len(Xtr), 20))
    model = fit({"predictor_type": "regressor", "l1": "0.1", "num_models": "1",
                 "epochs": "40"}, np.hstack([Xtr, noise]), ytr)
    assert np.sum(model.weights[10:] == 0) >= 15
    assert np.sum(model.weights[:10] != 0) >= 3


def test_sparse_training_data(cancer):
    *_, Xfit, yfit, Xval, yval, _, _ = cancer
    Xs = sp.csr_matrix(np.where(Xfit > np.median(Xfit, axis=0), Xfit, 0.0))
    model = fit({"predictor_type": "binary_classifier"}, Xs, yfit,
                validation=(sp.csr_matrix(Xval), yval))
    assert np.mean(labels(model, sp.csr_matrix(Xval)) == yval) > 0.85


def test_optimizers_and_options_train(diabetes):
    Xtr, Xva, ytr, yva = diabetes
    for extra in ({"optimizer": "sgd", "momentum": "0.9", "learning_rate": "0.05"},
                  {"optimizer": "rmsprop"},
                  {"use_bias": "False", "normalize_label": "false", "epochs": "5"},
                  {"init_method": "normal", "use_lr_scheduler": "false", "wd": "0.01"},
                  {"normalize_data": "false", "num_point_for_scaler": "50"}):
        model = fit({"predictor_type": "regressor", **extra}, Xtr, ytr, validation=(Xva, yva))
        assert np.all(np.isfinite(scores(model, Xva))), extra
    sgd = fit({"predictor_type": "regressor", "optimizer": "sgd", "epochs": "40"}, Xtr, ytr,
              validation=(Xva, yva))
    assert r2_score(yva, scores(sgd, Xva)) > 0.3


# --- early stopping and checkpoints ------------------------------------------------------------
def _data(X, y):
    return Data(X, np.asarray(y, float))


def test_early_stopping_ends_training_when_validation_loss_stalls(diabetes):
    Xtr, Xva, ytr, yva = diabetes
    hp = validate_hyperparameters({"predictor_type": "regressor", "epochs": "200",
                                   "early_stopping_patience": "2"})
    result = fit_resolved(hp, _data(Xtr, ytr), _data(Xva, yva))
    assert result.stopped_early and result.epochs_completed < 200


class _Interrupt(Exception):
    pass


class _DiesAfter(SilentLog):
    """A log that kills training after a given epoch's progress line."""

    def __init__(self, epochs: int):
        super().__init__()
        self.left = epochs

    def progress(self, percent):
        self.left -= 1
        if self.left == 0:
            raise _Interrupt


def test_checkpoint_resume_gives_the_uninterrupted_result(cancer, tmp_path):
    *_, Xfit, yfit, Xval, yval, _, _ = cancer
    hp = validate_hyperparameters({"predictor_type": "binary_classifier", "epochs": "6",
                                   "mini_batch_size": "64", "early_stopping_patience": "10"})
    train, val = _data(Xfit, yfit), _data(Xval, yval)
    uninterrupted = fit_resolved(hp, train, val)
    with pytest.raises(_Interrupt):  # dies in the third epoch, before its checkpoint
        fit_resolved(hp, train, val, log=_DiesAfter(3), checkpointer=Checkpointer(tmp_path, "job"))
    resumed = fit_resolved(hp, train, val, checkpointer=Checkpointer(tmp_path, "job"))
    assert resumed.resumed_from == 2 and resumed.epochs_completed == 6
    np.testing.assert_allclose(resumed.model.weights, uninterrupted.model.weights)
    assert resumed.model.threshold == uninterrupted.model.threshold
    # A checkpoint of another job (another fingerprint) is not resumed.
    assert fit_resolved(hp, train, val, checkpointer=Checkpointer(tmp_path, "other")
                        ).resumed_from is None


# --- the model file ---------------------------------------------------------------------------
@pytest.mark.parametrize("hp", [{"predictor_type": "regressor"},
                                {"predictor_type": "binary_classifier"},
                                {"predictor_type": "multiclass_classifier", "num_classes": "3"}])
def test_model_file_round_trip(tmp_path, hp):
    X, y = load_wine(return_X_y=True)
    y = {"regressor": X[:, 0] * 2 + 1, "binary_classifier": (y == 0).astype(int),
         "multiclass_classifier": y}[hp["predictor_type"]]
    model = fit({**hp, "num_models": "4", "epochs": "3"}, X, y)
    path = model.save(tmp_path)
    assert path.name == "model_algo-1" and zipfile.is_zipfile(path)
    loaded = load_model(tmp_path)
    assert predict(loaded, X[:5]) == predict(model, X[:5])
    assert loaded.predictor_type == hp["predictor_type"]
    with pytest.raises(ValueError, match="expects 13 features"):
        predict(loaded, X[:2, :5])


def test_load_model_rejects_other_files(tmp_path):
    (tmp_path / "model_algo-1").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a kamado Linear Learner model"):
        load_model(tmp_path / "model_algo-1")


# --- hyperparameters -----------------------------------------------------------------------------
@pytest.mark.parametrize("raw,message", [
    ({"feature_dim": "10"}, "Hyperparameter predictor_type is required; allowed values: "
                            "binary_classifier, multiclass_classifier, regressor"),
    ({"predictor_type": "multiclass_classifier"}, "Hyperparameter num_classes is required"),
    ({"predictor_type": "multiclass_classifier", "num_classes": "2"},
     "Hyperparameter num_classes: value 2 is not in [3, 1000000]"),
    ({"predictor_type": "regressor", "loss": "logistic"},
     "Hyperparameter loss: logistic cannot be used with predictor_type regressor; allowed "
     "values: auto, squared_loss"),
    ({"predictor_type": "regressor", "mini_batch_size": "0"},
     "Hyperparameter mini_batch_size: value 0 is not in (0, inf]"),
    ({"predictor_type": "klassifier"}, "Hyperparameter predictor_type: value 'klassifier' is not "
                                       "valid; allowed values: binary_classifier"),
    ({"predictor_type": "regressor", "learning_rate": "fast"},
     "Hyperparameter learning_rate: value 'fast' is not valid; allowed values: auto or a number"),
    ({"predictor_type": "regressor", "use_bias": "yes"},
     "Hyperparameter use_bias: value 'yes' is not valid; allowed values: true, false"),
    ({"predictor_type": "regressor", "normalize_data": "maybe"},
     "Hyperparameter normalize_data: value 'maybe' is not valid; allowed values: auto, true, "
     "false"),
    ({"predictor_type": "binary_classifier", "target_precision": "1.0"},
     "Hyperparameter target_precision: value 1.0 is not in (0, 1)"),
    ({"predictor_type": "binary_classifier", "positive_example_weight_mult": "-1"},
     "Hyperparameter positive_example_weight_mult: value -1 is not in (0, inf]; allowed values: "
     "auto, balanced or a number in (0, inf]"),
    ({"predictor_type": "binary_classifier",
      "binary_classifier_model_selection_criteria": "auc"},
     "Hyperparameter binary_classifier_model_selection_criteria: value 'auc' is not valid"),
    ({"predictor_type": "regressor", "epochs": "1.5"},
     "Hyperparameter epochs: value '1.5' is not valid; allowed values: an integer"),
    ({"predictor_type": "regressor", "optimizer": "adagrad"},
     "Hyperparameter optimizer: value 'adagrad' is not valid; allowed values: auto, sgd, adam"),
    ({"predictor_type": "regressor", "max_depth": "3"},
     "Hyperparameter max_depth is not a hyperparameter of Linear Learner"),
])
def test_invalid_hyperparameters(raw, message):
    with pytest.raises(ClientError) as info:
        validate_hyperparameters(raw)
    assert str(info.value).startswith(message), str(info.value)


def test_hyperparameters_as_the_sdk_sends_them():
    hp = validate_hyperparameters({
        "predictor_type": "binary_classifier", "use_bias": "True", "normalize_data": "False",
        "epochs": "20", "learning_rate": "0.05", "binary_classifier_model_selection_criteria": "f1",
        "positive_example_weight_mult": "balanced", "_tuning_objective_metric": "validation:recall",
        "sagemaker_estimator": '"x"', "mini_batch_size": '"200"'})
    assert hp["use_bias"] is True and hp["normalize_data"] is False and hp["epochs"] == 20
    assert hp["binary_classifier_model_selection_criteria"] == "f_beta" and hp["f_beta"] == 1.0
    assert hp["num_models"] == 1  # automatic model tuning turns the internal search off
    assert hp["mini_batch_size"] == 200
    defaults = validate_hyperparameters({"predictor_type": "regressor"})
    assert (defaults["loss"], defaults["optimizer"], defaults["num_models"]) == (
        "squared_loss", "adam", 32)
    assert validate_hyperparameters({"predictor_type": "multiclass_classifier",
                                     "num_classes": "4"})["loss"] == "softmax_loss"


def test_bad_labels_and_feature_dim_are_client_errors(diabetes):
    Xtr, _, ytr, _ = diabetes
    with pytest.raises(ClientError, match=r"Channel train: label \d+ is not valid for a binary "
                                          "classifier; labels must be 0 or 1"):
        fit({"predictor_type": "binary_classifier"}, Xtr, ytr)
    with pytest.raises(ClientError, match="labels must be integers from 0 to 2"):
        fit({"predictor_type": "multiclass_classifier", "num_classes": "3"}, Xtr, ytr)
    with pytest.raises(ClientError, match="feature_dim is 7 but"):
        fit({"predictor_type": "regressor", "feature_dim": "7"}, Xtr, ytr)


# --- metric definitions -----------------------------------------------------------------------
def test_metric_definitions_are_aws_regexes():
    full = metric_definitions()
    assert len(full) == 40 and len({d["Name"] for d in full}) == 40
    by_name = {d["Name"]: d["Regex"] for d in full}
    assert by_name["validation:objective_loss"] == \
        r"#quality_metric: host=\S+, epoch=\S+, validation \S+_objective <loss>=(\S+)"
    assert by_name["test:binary_f_beta"] == \
        r"#quality_metric: host=\S+, test binary_f_\S+ <score>=(\S+)"
    assert by_name["train:throughput"] == \
        r"#throughput_metric: host=\S+, train throughput=(\S+) records/second"
    line = "#quality_metric: host=algo-1, validation binary_f_1.000 <score>=0.98"
    assert re.search(by_name["validation:binary_f_beta"], line).group(1) == "0.98"
    assert re.search(by_name["validation:objective_loss:final"],
                     "#quality_metric: host=algo-1, epoch=3, validation mse_objective <loss>=2"
                     ) is None
    regression = {d["Name"] for d in metric_definitions({"predictor_type": "regressor"})}
    assert {"validation:mse", "validation:rmse", "test:absolute_loss", "train:progress"} <= \
        regression
    assert not any("precision" in name or "dcg" in name for name in regression)
    binary = {d["Name"] for d in metric_definitions({"predictor_type": "binary_classifier"})}
    assert {"validation:roc_auc_score", "test:recall", "train:objective_loss"} <= binary
