"""Algorithm mode of the built-in XGBoost: channels ``train`` (required) and ``validation``,
the model at ``model/xgboost-model``, evaluation lines printed as XGBoost prints them
(``[3]\\ttrain-auc:0.98\\tvalidation-auc:0.97``), which the platform's metric regexes read."""

from __future__ import annotations

import logging
import re
import signal
import sys
from pathlib import Path

import numpy as np
import xgboost as xgb

from kamado.algorithms.data import LIBSVM, Dataset, load_channel
from kamado.algorithms.xgboost.hyperparameters import CUSTOM_METRICS, default_metric, validate
from kamado.images.environment import TrainingEnvironment
from kamado.images.program import ClientError

log = logging.getLogger("kamado.xgboost")
MODEL_FILE = "xgboost-model"
CHECKPOINT_PREFIX = "xgboost-checkpoint."
KEEP_CHECKPOINTS = 5


def _params(hp: dict) -> dict:
    skip = {"num_round", "early_stopping_rounds", "csv_weights", "eval_metric",
            "save_model_on_termination", "_kfold", "_num_cv_round", "use_dask_gpu_training",
            "dsplit", "predictor", "deterministic_histogram", "single_precision_histogram"}
    params = {k: v for k, v in hp.items() if k not in skip}
    if params.get("tree_method") == "gpu_hist":
        params["tree_method"], params["device"] = "hist", "cuda"
    if "monotone_constraints" in params:
        params["monotone_constraints"] = str(params["monotone_constraints"])
    params.setdefault("verbosity", 1)
    native = [m for m in hp.get("eval_metric") or [] if m.split("@")[0] not in CUSTOM_METRICS]
    if native:
        params["eval_metric"] = native
    elif not hp.get("eval_metric"):
        params["eval_metric"] = [default_metric(hp["objective"])]
    return params


def _custom_metric(names: list[str], objective: str):
    """The metrics AWS's container adds that XGBoost does not evaluate itself."""
    if not names:
        return None
    from sklearn import metrics as skm

    def labels_of(pred: np.ndarray) -> np.ndarray:
        if pred.ndim == 2:
            return pred.argmax(axis=1)
        if objective in ("multi:softmax", "binary:hinge"):
            return pred
        return (pred > (0.0 if objective == "binary:logitraw" else 0.5)).astype(int)

    def evaluate(pred: np.ndarray, dmatrix):
        y = dmatrix.get_label()
        out = []
        for name in names:
            if name in ("mse", "r2"):
                value = skm.mean_squared_error(y, pred) if name == "mse" else skm.r2_score(y, pred)
            else:
                got = labels_of(pred)
                average = "macro" if name.endswith("_macro") or name == "f1_macro" else (
                    "micro" if name.endswith("_micro") else "binary")
                fn = {"accuracy": skm.accuracy_score,
                      "balanced_accuracy": skm.balanced_accuracy_score}.get(name)
                if fn is not None:
                    value = fn(y, got)
                else:
                    base = name.split("_")[0]
                    fn = {"f1": skm.f1_score, "precision": skm.precision_score,
                          "recall": skm.recall_score}[base]
                    value = fn(y, got, average=average, zero_division=0)
            out.append((name, float(value)))
        return out
    return evaluate


def _matrix(data: Dataset, channel: str):
    if data.y is None:
        raise ClientError(f"Channel {channel} has no labels; XGBoost needs the label in the "
                          "first column.")
    return xgb.DMatrix(data.X, label=data.y, weight=data.w, nthread=-1)


def _latest_checkpoint(directory: Path) -> tuple[int, Path] | None:
    found = []
    for p in directory.glob(CHECKPOINT_PREFIX + "*"):
        m = re.fullmatch(re.escape(CHECKPOINT_PREFIX) + r"(\d+)", p.name)
        if m:
            found.append((int(m.group(1)), p))
    return max(found) if found else None


def train(env: TrainingEnvironment) -> None:
    hp = validate(env.hyperparameters)
    if "train" not in env.input_data_config and not env.channel_dir("train").exists():
        raise ClientError("Channel train is required by the XGBoost algorithm.")
    weights = bool(hp.get("csv_weights"))
    train_data = load_channel(env.channel_dir("train"), env.content_type("train"),
                              default=LIBSVM, csv_weights=weights)
    print(f"Train matrix has {train_data.rows} rows and {train_data.X.shape[1]} columns", flush=True)
    dtrain = _matrix(train_data, "train")
    evals = [(dtrain, "train")]
    if "validation" in env.input_data_config:
        valid = load_channel(env.channel_dir("validation"), env.content_type("validation"),
                             default=LIBSVM, csv_weights=weights)
        print(f"Validation matrix has {valid.rows} rows", flush=True)
        evals.append((_matrix(valid, "validation"), "validation"))
    rounds = int(hp["num_round"])
    early = hp.get("early_stopping_rounds")
    if early and len(evals) < 2:
        raise ClientError("Hyperparameter early_stopping_rounds needs a validation channel.")

    params = _params(hp)
    custom = _custom_metric([m for m in hp.get("eval_metric") or []
                             if m.split("@")[0] in CUSTOM_METRICS], hp["objective"])
    callbacks, start_model, done = [], None, 0
    if env.checkpoint_config is not None:
        ckpt_dir = env.checkpoint_dir
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        latest = _latest_checkpoint(ckpt_dir)
        if latest is not None:
            done, path = latest[0] + 1, latest[1]
            start_model = xgb.Booster(model_file=str(path))
            print(f"Resuming from checkpoint {path.name}: {done} rounds already done", flush=True)
        callbacks.append(_Checkpoints(ckpt_dir))
    state = _Latest()
    callbacks.append(state)
    if str(hp.get("save_model_on_termination", "false")) == "true":
        def save_and_exit(signum, frame):
            if state.model is not None:
                state.model.save_model(str(env.model_dir / MODEL_FILE))
                print("Saved the model on SIGTERM", flush=True)
            sys.exit(0)
        signal.signal(signal.SIGTERM, save_and_exit)

    booster = xgb.train(params, dtrain, num_boost_round=max(0, rounds - done), evals=evals,
                        custom_metric=custom, early_stopping_rounds=early, verbose_eval=True,
                        xgb_model=start_model, callbacks=callbacks)
    env.model_dir.mkdir(parents=True, exist_ok=True)
    # AWS's file name has no extension; XGBoost picks the format from it (and warns without
    # one), so save as UBJSON and rename. Loading detects the format from the content.
    tmp = env.model_dir / f"{MODEL_FILE}.ubj"
    booster.save_model(str(tmp))
    tmp.replace(env.model_dir / MODEL_FILE)
    print(f"Saved the model ({booster.num_boosted_rounds()} rounds) to {MODEL_FILE}", flush=True)


class _Latest(xgb.callback.TrainingCallback):
    """Keeps the booster as training goes, for save_model_on_termination."""

    def __init__(self) -> None:
        super().__init__()
        self.model = None

    def after_iteration(self, model, epoch, evals_log) -> bool:
        self.model = model
        return False


class _Checkpoints(xgb.callback.TrainingCallback):
    """Saves the model after every round; keeps the newest few (the platform syncs them)."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory

    def after_iteration(self, model, epoch, evals_log) -> bool:
        rounds = model.num_boosted_rounds()
        tmp = self.directory / f".{CHECKPOINT_PREFIX}{rounds - 1}.ubj"
        model.save_model(str(tmp))
        tmp.replace(self.directory / f"{CHECKPOINT_PREFIX}{rounds - 1}")
        old = self.directory / f"{CHECKPOINT_PREFIX}{rounds - 1 - KEEP_CHECKPOINTS}"
        if old.exists():
            old.unlink()
        return False
