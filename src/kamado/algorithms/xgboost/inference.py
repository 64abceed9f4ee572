"""Inference of the built-in XGBoost (algorithm mode), in the handler vocabulary of
:mod:`kamado.serving.handlers`, and the defaults of XGBoost script mode — as AWS's
sagemaker-xgboost container serves them (builtin-algorithms.md §3.1):

- model: every ``xgboost-model*`` file of the model directory (k-fold training leaves
  several); their predictions are averaged, or majority-voted for the objectives that predict
  labels (``SAGEMAKER_INFERENCE_ENSEMBLE=false``: the first model only);
- requests: ``text/csv`` (the default; no label column), ``text/libsvm`` (label optional),
  ``application/x-recordio-protobuf``; anything else, or a body that does not parse, is 415,
  as AWS answers it; an empty body is 204; a prediction XGBoost refuses is 400;
- responses (Accept ``text/csv`` by default): CSV of the predictions (comma-joined; with
  ``SAGEMAKER_BATCH`` one per line), ``{"predictions": [{"score": …}]}`` for JSON, one
  ``{"score": …}`` per line for JSON Lines, ``label["score"]`` records for RecordIO-protobuf;
  ``SAGEMAKER_INFERENCE_OUTPUT`` selects keys such as ``predicted_label,probabilities``.

Kamado's one departure: a multi-class (``multi:softprob``) CSV response is one line of
comma-separated probabilities per record, where AWS prints Python lists.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kamado.serving import content, formats
from kamado.serving.errors import (BadRequestError, ModelLoadError, NoContentError,
                                   UnsupportedAcceptError, UnsupportedFormatError)

log = logging.getLogger("kamado.xgboost")
MODEL_PREFIX = "xgboost-model"
DEFAULT_ACCEPT = content.CSV
DEFAULT_CONTENT_TYPE = content.CSV
TEXT_BODIES = False  # input_fn reads bytes; str is a user script's convenience
ACCEPTS = (content.CSV, content.JSON, content.JSONLINES, content.RECORDIO)
_READERS = {content.CSV: formats.read_csv, content.LIBSVM: formats.read_libsvm,
            content.RECORDIO: formats.read_recordio}
# Objectives whose prediction is a label: an ensemble votes instead of averaging.
_LABEL_OBJECTIVES = ("binary:hinge", "multi:softmax")
# SAGEMAKER_INFERENCE_OUTPUT: the keys each objective can give (AWS's VALID_OBJECTIVES), in
# the order AWS puts them in a record.
SELECTABLE = ("predicted_label", "labels", "probability", "probabilities", "raw_score",
              "raw_scores", "predicted_score")
_REGRESSION = ("predicted_score",)
_VALID_KEYS = {
    "reg:squarederror": _REGRESSION, "reg:linear": _REGRESSION, "reg:logistic": _REGRESSION,
    "reg:gamma": _REGRESSION, "reg:tweedie": _REGRESSION,
    "binary:logistic": SELECTABLE[:6],
    "binary:logitraw": ("predicted_label", "labels", "raw_score", "raw_scores"),
    "binary:hinge": ("predicted_label", "labels", "raw_score", "raw_scores"),
    "multi:softmax": ("predicted_label", "labels", "raw_score", "raw_scores"),
    "multi:softprob": SELECTABLE[:6],
}


@dataclass
class XGBoostModel:
    boosters: list
    objective: str
    num_class: int
    num_features: int
    selected: list[str] | None = None  # SAGEMAKER_INFERENCE_OUTPUT keys, as given
    batch: bool = False                # SAGEMAKER_BATCH: newline-separated CSV
    files: list[str] = field(default_factory=list)


class Predictions(np.ndarray):
    """The prediction array, carrying what output_fn needs to know about the model (the
    toolkit's output_fn sees only the prediction). A plain ndarray for everything else, so a
    script's own output_fn can take it as AWS's default predict_fn returns it."""

    objective: str | None = None
    num_class: int = 0
    selected: list[str] | None = None
    batch: bool = False

    def __array_finalize__(self, obj) -> None:
        for name in ("objective", "num_class", "selected", "batch"):
            setattr(self, name, getattr(obj, name, getattr(Predictions, name)))


# --- model_fn ------------------------------------------------------------------------------------
def _load_booster(path: Path):
    import xgboost as xgb

    data = path.read_bytes()
    try:
        # from bytes: XGBoost warns about a file name without a format extension
        return xgb.Booster(model_file=bytearray(data))
    except xgb.core.XGBoostError as exc:
        failure = exc
    if data[:1] == b"\x80":  # a pickle, as XGBoost before 1.3 was saved; the model is the user's
        try:
            model = pickle.loads(data)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad model file
            failure = exc
        else:
            return model.get_booster() if hasattr(model, "get_booster") else model
    raise ModelLoadError(f"{path.name} is not an XGBoost model: "
                         f"{str(failure).strip().splitlines()[0] if str(failure) else failure}")


def _facts(booster) -> tuple[str, int, int]:
    config = json.loads(booster.save_config())["learner"]
    params = config.get("learner_model_param", {})
    return (config["objective"]["name"], int(float(params.get("num_class", 0) or 0)),
            int(float(params.get("num_feature", 0) or 0)))


def model_fn(model_dir) -> XGBoostModel:
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelLoadError(f"The model directory {model_dir} does not exist.")
    files = sorted(p for p in model_dir.iterdir()
                   if p.is_file() and p.name.startswith(MODEL_PREFIX))
    if not files:
        raise ModelLoadError(f"No {MODEL_PREFIX} file in {model_dir}: the model.tar.gz of an "
                             "XGBoost training job holds one.")
    if os.environ.get("SAGEMAKER_INFERENCE_ENSEMBLE", "true").lower() == "false":
        files = [next((p for p in files if p.name == MODEL_PREFIX), files[0])]
    boosters = [_load_booster(p) for p in files]
    for b in boosters:
        b.set_param("nthread", 1)  # a worker per CPU, one thread each, as AWS's container
    objective, num_class, num_features = _facts(boosters[0])
    selected = os.environ.get("SAGEMAKER_INFERENCE_OUTPUT")
    keys = None
    if selected:
        keys = [k for k in selected.replace(" ", "").lower().split(",") if k]
        unknown = [k for k in keys if k not in SELECTABLE]
        if unknown:
            raise ModelLoadError(f"SAGEMAKER_INFERENCE_OUTPUT names {', '.join(unknown)}; the "
                                 f"keys are {', '.join(SELECTABLE)}.")
        if objective not in _VALID_KEYS:
            raise ModelLoadError(f"SAGEMAKER_INFERENCE_OUTPUT is not available for objective "
                                 f"{objective}.")
    log.info("Loaded %s (objective %s, %d features)", ", ".join(p.name for p in files),
             objective, num_features)
    return XGBoostModel(boosters, objective, num_class, num_features, keys,
                        bool(os.environ.get("SAGEMAKER_BATCH")), [p.name for p in files])


# --- input_fn ------------------------------------------------------------------------------------
def input_fn(input_data, content_type):
    """The request as an ``xgboost.DMatrix`` (what a script's predict_fn expects in AWS's
    script mode)."""
    import xgboost as xgb

    if len(input_data) == 0:
        raise NoContentError()
    try:
        mime, X = content.read(input_data, content_type, _READERS, DEFAULT_CONTENT_TYPE,
                               "XGBoost")
    except BadRequestError as exc:
        # AWS's container answers a payload it cannot parse with 415, not 400.
        raise UnsupportedFormatError(f"Loading {content_type or DEFAULT_CONTENT_TYPE} data "
                                     f"failed: {exc.message}") from None
    matrix = xgb.DMatrix(X, nthread=1)
    # LibSVM and sparse records reach only their last non-zero feature: narrower is fine.
    matrix.kamado_sparse = hasattr(X, "toarray")
    return matrix


# --- predict_fn ----------------------------------------------------------------------------------
def _check_width(dmatrix, model: XGBoostModel) -> None:
    columns = dmatrix.num_col()
    if columns == model.num_features or not model.num_features:
        return
    if columns < model.num_features and getattr(dmatrix, "kamado_sparse", False):
        return
    hint = (" Leave the label column out of inference requests."
            if columns == model.num_features + 1 else "")
    raise BadRequestError(f"The model expects {model.num_features} features per record; the "
                          f"request has {columns}.{hint}")


def _predict_one(booster, data) -> np.ndarray:
    best = booster.attr("best_iteration")
    rounds = booster.num_boosted_rounds()
    limit = int(best) + 1 if best is not None and int(best) + 1 < rounds else 0
    iterations = (0, limit) if limit else (0, 0)
    if isinstance(data, np.ndarray):  # batch transform's fast path (batch_fn)
        return booster.inplace_predict(data, validate_features=False,
                                       iteration_range=iterations)
    return booster.predict(data, validate_features=False, iteration_range=iterations)


def predict_fn(input_data, model):
    if not isinstance(model, XGBoostModel):  # a script's model_fn returned its own model
        return model.predict(input_data)
    _check_width(input_data, model)
    return _predictions(input_data, model)


def _predictions(input_data, model: XGBoostModel) -> "Predictions":
    import xgboost as xgb

    try:
        outputs = [_predict_one(b, input_data) for b in model.boosters]
    except xgb.core.XGBoostError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "XGBoostError"
        raise BadRequestError(f"Unable to evaluate payload provided: {first}") from None
    if len(outputs) == 1:
        values = outputs[0]
    elif model.objective in _LABEL_OBJECTIVES:
        stacked = np.stack(outputs).astype(np.int64)
        values = np.apply_along_axis(lambda votes: np.bincount(votes).argmax(), 0,
                                     stacked).astype(np.float32)
    else:
        values = np.mean(outputs, axis=0, dtype=np.float64).astype(np.float32)
    result = np.asarray(values).view(Predictions)
    result.objective, result.num_class = model.objective, model.num_class
    result.selected, result.batch = model.selected, model.batch
    return result


# --- output_fn -----------------------------------------------------------------------------------
def _item(value):
    return float(value) if np.ndim(value) == 0 else [float(v) for v in value]


def _selected_record(objective: str, num_class: int, keys: list[str], raw) -> dict:
    valid = _VALID_KEYS.get(objective, ())
    p = np.asarray(raw, dtype=np.float64)
    out = {}
    for key in SELECTABLE:
        if key in keys and key in valid:
            out[key] = _selected_value(key, objective, num_class, p)
    for key in keys:
        if key not in valid:
            out[key] = float("nan")  # as AWS: an invalid key for the objective is NaN
    return out


def _selected_value(key: str, objective: str, num_class: int, p: np.ndarray):
    softprob = objective == "multi:softprob"
    if key == "predicted_label":
        if softprob:
            return int(np.argmax(p))
        if objective == "binary:logistic":
            return int(p > 0.5)
        if objective == "binary:logitraw":
            return int(p > 0)
        return float(p)
    if key == "labels":
        return [0, 1] if objective.startswith("binary:") else list(range(num_class))
    if key in ("probability", "raw_score"):
        return float(p.max()) if softprob else float(p)
    if key in ("probabilities", "raw_scores"):
        return p.tolist() if softprob else [1.0 - float(p), float(p)]
    return float(p)  # predicted_score


def _csv_value(value) -> str:
    return f'"{value}"' if isinstance(value, list) else str(value)


def output_fn(prediction, accept):
    mime = content.choose_accept(accept, ACCEPTS, DEFAULT_ACCEPT)
    array = np.asarray(prediction)
    batch = getattr(prediction, "batch", False) or bool(os.environ.get("SAGEMAKER_BATCH"))
    end = "\n" if batch else ""
    keys = getattr(prediction, "selected", None)
    if keys:
        objective, num_class = prediction.objective, prediction.num_class
        records = [_selected_record(objective, num_class, keys, row) for row in array]
        if mime == content.CSV:
            lines = (",".join(_csv_value(r[k]) for k in keys) for r in records)
            return ("\n".join(lines) + end).encode(), mime
        return formats.WRITERS[mime](records), mime
    if mime == content.CSV:
        if array.ndim == 1:
            return (formats.write_csv_column(array, "\n" if batch else ",")
                    + end.encode()), mime
        return ("\n".join(",".join(map(str, row)) for row in array.tolist()) + end).encode(), mime
    return formats.WRITERS[mime]([{"score": _item(v)} for v in array]), mime


# --- batch transform's fast path -----------------------------------------------------------------
def _inplace_safe(booster) -> bool:
    """Whether ``inplace_predict`` answers what ``predict`` on a DMatrix does, from several
    threads at once: tree models (XGBoost's prediction is thread-safe for those only) without
    categorical splits (a DMatrix from CSV rows has no feature types)."""
    config = json.loads(booster.save_config())["learner"]
    return (config.get("gradient_booster", {}).get("name") == "gbtree"
            and "c" not in (booster.feature_types or ()))


def batch_fn(model, content_type: str | None, accept: str):
    """For kamado's batch transform fast path (:mod:`kamado.serving.batch`): how to answer a
    mini-batch of CSV lines, or any run of its lines, with exactly the body ``/invocations``
    answers for them — ``output_fn(predict_fn(input_fn(lines)))``, one line per record, so
    the answers of runs of lines joined are the answer of all of them — on several threads
    at once; None when this model or these types are not for it. Lines it cannot answer that
    way (they then go through ``/invocations``): those
    :func:`~kamado.serving.formats.read_csv_lines` leaves to the ordinary reader, rows of
    the wrong width or with an infinite value (which a DMatrix refuses)."""
    from kamado.serving.batch import Lines

    if not isinstance(model, XGBoostModel) or not model.batch:
        return None
    if content.mime_type(content_type or DEFAULT_CONTENT_TYPE)[0] != content.CSV:
        return None
    try:
        if content.choose_accept(accept, ACCEPTS, DEFAULT_ACCEPT) != content.CSV:
            return None
    except UnsupportedAcceptError:
        return None
    if not all(_inplace_safe(b) for b in model.boosters):
        return None

    def answer(lines, width: int) -> tuple[bytes, int] | None:
        X = formats.read_csv_lines(lines, width)
        if X is None or (model.num_features and X.shape[1] != model.num_features) \
                or np.isinf(X).any():
            return None
        try:
            prediction = _predictions(X, model)
        except BadRequestError:
            return None
        return output_fn(prediction, accept)[0], X.shape[0]
    return Lines(formats.csv_lines_width, answer)


def execution_parameters(settings) -> dict:
    """``GET /execution-parameters``, which batch transform asks AWS's container."""
    limit = settings.max_payload_bytes or 6 * 1024 * 1024
    return {"MaxConcurrentTransforms": settings.workers, "BatchStrategy": "MULTI_RECORD",
            "MaxPayloadInMB": max(1, limit >> 20)}
