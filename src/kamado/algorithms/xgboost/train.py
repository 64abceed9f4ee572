"""Algorithm mode of the built-in XGBoost: channels ``train`` (required) and ``validation``,
the model at ``model/xgboost-model``, evaluation lines printed as XGBoost prints them
(``[3]\\ttrain-auc:0.98\\tvalidation-auc:0.97``), which the platform's metric regexes read.

What AWS's container does and kamado does too: checkpoints ``xgboost-checkpoint.<round>`` each
round (the newest five kept) and resumption from the newest; early stopping on the tuning
objective or else the last ``eval_metric``, on the validation channel, keeping the best model;
``save_model_on_termination`` writing the model every round so a stop leaves one behind;
XGBoost's complaints about labels and parameters reported as the user's errors.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import threading

import numpy as np

from kamado.algorithms.data import CSV, LIBSVM, Dataset, label_size, load_channel, \
    parse_content_type
from kamado.algorithms.xgboost.hyperparameters import CUSTOM_METRICS, is_maximized, validate
from kamado.algorithms.xgboost.metrics import custom_metric
from kamado.images.environment import TrainingEnvironment
from kamado.images.program import ClientError
from kamado.images.toolkit.variables import num_cpus

log = logging.getLogger("kamado.xgboost")
MODEL_FILE = "xgboost-model"  # as callbacks.MODEL_FILE, which imports XGBoost
# Hyperparameters that are the container's, not XGBoost's, or that XGBoost 3 no longer has.
_NOT_PARAMS = {"num_round", "early_stopping_rounds", "csv_weights", "eval_metric",
               "save_model_on_termination", "_kfold", "_num_cv_round", "_tuning_objective_metric",
               "use_dask_gpu_training", "dsplit", "predictor", "sketch_eps", "lambda_bias",
               "deterministic_histogram", "single_precision_histogram"}
# XGBoost errors that are about the user's data or parameters (AWS's CUSTOMER_ERRORS, as
# XGBoost 3 words them).
_USER_ERRORS = re.compile(r"label|base_score|num_class|Number of columns does not match|"
                          r"feature_names mismatch|Invalid Parameter|only contains pos or neg|"
                          r"qid must be sorted|weight", re.IGNORECASE)



def _xgboost_params(hp: dict, native_metrics: list[str]) -> dict:
    import xgboost as xgb

    params = {k: v for k, v in hp.items() if k not in _NOT_PARAMS}
    # The CPUs this job may run on (the engine gives concurrent jobs their share of the
    # machine, as each SageMaker job has its instance's): more threads only contend.
    params.setdefault("nthread", num_cpus())
    if params.get("objective") == "reg:linear":
        params["objective"] = "reg:squarederror"  # the old name, gone from XGBoost 2
    if params.get("tree_method") == "gpu_hist":
        params["tree_method"] = "hist"
        if xgb.build_info().get("USE_CUDA"):
            params["device"] = "cuda"
        else:
            log.warning("tree_method gpu_hist: this XGBoost has no CUDA; training on the CPU")
    if "monotone_constraints" in params:
        constraints = params["monotone_constraints"]
        params["monotone_constraints"] = "(" + ",".join(
            str(c) for c in (constraints if isinstance(constraints, (tuple, list))
                             else (constraints,))) + ")"
    if "interaction_constraints" in params:
        params["interaction_constraints"] = str([list(g) for g in
                                                 params["interaction_constraints"]])
    if native_metrics:
        params["eval_metric"] = native_metrics
    return params


def _metrics(hp: dict) -> tuple[list[str], list[str], str | None]:
    """(XGBoost's metrics, the container's own metrics, the early-stopping metric), as AWS
    combines ``eval_metric`` with the tuning objective (a sorted union when both are set)."""
    eval_metric = hp.get("eval_metric")
    tuning = hp.get("_tuning_objective_metric")
    if tuning and eval_metric:
        union = sorted(set(eval_metric) | {tuning})
    else:
        union = list(eval_metric or ([tuning] if tuning else []))
    custom = [m for m in union if m in CUSTOM_METRICS]
    native = [m for m in union if m not in CUSTOM_METRICS]
    stopping = tuning or (eval_metric[-1] if eval_metric else None)
    return native, custom, stopping


def _read(env: TrainingEnvironment, channel: str, content_type: str | None,
          weights: bool) -> Dataset:
    mime, options = parse_content_type(content_type, LIBSVM)
    if mime == CSV and "label_size" in options and label_size(options) != 1:
        raise ClientError(f"Channel {channel}: content type {content_type}: XGBoost needs "
                          "label_size=1 (the label in the first column).")
    data = load_channel(env.channel_dir(channel), content_type, default=LIBSVM,
                        csv_weights=weights and mime == CSV)
    if data.y is None:
        raise ClientError(f"Channel {channel} has no labels; XGBoost needs the label in the "
                          "first column (or in each record's label).")
    if np.isnan(data.y).any():
        row = int(np.flatnonzero(np.isnan(data.y))[0]) + 1
        raise ClientError(f"Channel {channel}: the label of row {row} is missing.")
    return data


def _check_labels(hp: dict, y: np.ndarray, channel: str) -> None:
    """The label ranges an objective needs, checked before XGBoost (whose own messages
    blame base_score or stop at its first bad row)."""
    objective = hp.get("objective", "reg:squarederror")
    if objective.startswith("binary:") or objective == "reg:logistic":
        bad, need = (y < 0) | (y > 1), "in [0, 1]"
    elif objective.startswith("multi:"):
        bad = (y < 0) | (y >= hp["num_class"]) | (y != np.floor(y))
        need = f"whole numbers in [0, num_class) = [0, {hp['num_class']})"
    elif objective in ("count:poisson", "reg:tweedie"):
        bad, need = y < 0, "non-negative"
    elif objective == "reg:gamma":
        bad, need = y <= 0, "positive"
    elif objective == "reg:squaredlogerror":
        bad, need = y <= -1, "greater than -1"
    else:
        return
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ClientError(f"Channel {channel}: labels must be {need} for objective {objective}; "
                          f"row {row + 1} has {y[row]:g}.")


def _matrices(train: Dataset, valid: Dataset | None):
    """DMatrices of the channels as loaded (no copies on the way); sparse channels are given
    one width, since LibSVM rows only reach their last non-zero feature."""
    import scipy.sparse as sp

    if valid is not None:
        wt, wv = train.X.shape[1], valid.X.shape[1]
        if sp.issparse(train.X) or sp.issparse(valid.X):
            width = max(wt, wv)
            for d in (train, valid):
                if sp.issparse(d.X) and d.X.shape[1] < width:
                    d.X = sp.csr_matrix((d.X.data, d.X.indices, d.X.indptr),
                                        shape=(d.X.shape[0], width))
            if not sp.issparse(valid.X) and wv < width or not sp.issparse(train.X) and wt < width:
                raise ClientError(f"Channel validation has {wv} features where train has {wt}.")
        elif wt != wv:
            raise ClientError(f"Channel validation has {wv} features where train has {wt}; "
                              "both channels need the same columns.")

    import xgboost as xgb

    def matrix(d: Dataset) -> xgb.DMatrix:
        if d.qid is not None and np.any(np.diff(d.qid) < 0):
            raise ClientError("LibSVM qid values must be sorted (rows of a query together).")
        return xgb.DMatrix(d.X, label=d.y, weight=d.w, qid=d.qid, nthread=num_cpus())

    return matrix(train), None if valid is None else matrix(valid)


def _clean_xgboost_error(exc: Exception) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    first = re.sub(r"^\[[\d:]+\] \S+:\d+: ", "", first)
    return re.sub(r"^Check failed: [^:]*: ", "", first).strip()


def import_xgboost() -> None:
    """``import xgboost`` without scikit-learn: XGBoost imports it (and pandas) when
    installed, for wrappers the algorithm does not use, which costs a job a second or more of
    start-up. Hidden during the import, scikit-learn still imports normally afterwards."""
    if "xgboost" in sys.modules:
        return
    hidden = "sklearn" not in sys.modules
    if hidden:
        sys.modules["sklearn"] = None  # makes `import sklearn` raise ImportError
    try:
        import xgboost  # noqa: F401
    finally:
        if hidden and sys.modules.get("sklearn", 0) is None:
            del sys.modules["sklearn"]


def train(env: TrainingEnvironment) -> None:
    hp = validate(env.hyperparameters)
    # XGBoost loads on another thread while the data is read (pyarrow and numpy release the
    # GIL): most of its third of a second of imports is hidden.
    importer = threading.Thread(target=import_xgboost, name="import-xgboost")
    importer.start()
    if "train" not in env.input_data_config and not env.channel_dir("train").exists():
        raise ClientError("Channel train is required by the XGBoost algorithm.")
    weights = bool(hp.get("csv_weights"))
    train_type = env.content_type("train")
    train_data = _read(env, "train", train_type, weights)
    log.info("Train matrix has %d rows and %d columns", train_data.rows, train_data.X.shape[1])
    valid_data = None
    if "validation" in env.input_data_config:
        # AWS reads the validation channel with the train channel's content type.
        valid_data = _read(env, "validation", env.content_type("validation") or train_type,
                           weights)
        log.info("Validation matrix has %d rows", valid_data.rows)
    for channel, data in (("train", train_data), ("validation", valid_data)):
        if data is not None:
            _check_labels(hp, data.y, channel)
    importer.join()
    import xgboost as xgb

    from kamado.algorithms.xgboost import callbacks as cb

    dtrain, dvalid = _matrices(train_data, valid_data)
    del train_data, valid_data  # the DMatrices hold their own copy
    evals = [(dtrain, "train")] + ([(dvalid, "validation")] if dvalid is not None else [])

    native, custom, stopping = _metrics(hp)
    params = _xgboost_params(hp, native)
    # The evaluation lines first: a callback that ends training (early stopping) stops the
    # ones after it from running for that round.
    callbacks: list[xgb.callback.TrainingCallback] = [cb.EvaluationLines()]
    start_model, done = None, 0
    if env.checkpoint_config is not None:
        directory = env.checkpoint_dir
        directory.mkdir(parents=True, exist_ok=True)
        latest = cb.latest_checkpoint(directory)
        if latest is not None:
            done, start_model = latest[0] + 1, latest[1]
            log.info("Checkpoint loaded from %s; resuming from iteration %d", latest[2], done)
        callbacks.append(cb.Checkpoints(directory))
    env.model_dir.mkdir(parents=True, exist_ok=True)
    if hp.get("save_model_on_termination") == "true":
        callbacks.append(cb.SaveEveryRound(env.model_dir / MODEL_FILE))
        # The model file is current after every round: a stop only has to exit.
        signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(0))
    early = hp.get("early_stopping_rounds")
    if early and dvalid is not None and stopping:
        callbacks.append(xgb.callback.EarlyStopping(
            rounds=early, metric_name=stopping, data_name="validation",
            maximize=is_maximized(stopping), save_best=True))
    elif early:
        log.info("early_stopping_rounds is ignored: it needs a validation channel and an "
                 "eval_metric (or a tuning objective)")

    try:
        booster = xgb.train(params, dtrain, num_boost_round=max(0, hp["num_round"] - done),
                            evals=evals, custom_metric=custom_metric(custom), verbose_eval=False,
                            xgb_model=start_model, callbacks=callbacks)
    except xgb.core.XGBoostError as exc:
        message = _clean_xgboost_error(exc)
        if _USER_ERRORS.search(message):
            raise ClientError(f"XGBoost rejected the training data or hyperparameters: "
                              f"{message}") from None
        raise
    cb.save(booster, env.model_dir / MODEL_FILE)
    log.info("Saved the model (%d rounds) to %s", booster.num_boosted_rounds(), MODEL_FILE)
