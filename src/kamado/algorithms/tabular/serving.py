"""Inference of the JumpStart tabular algorithms (builtin-algorithms.md §3.19, §3.20), shared
by LightGBM and CatBoost.

- request: ``text/csv``, features only (no label), one record per line, empty fields are
  missing values; any other Content-Type is 415;
- response: ``application/json``. Classification ``{"probabilities": [[p_0, …, p_K-1], …]}``,
  binary ``{"probabilities": [p_1, …]}`` (the probability of the second class per record);
  regression ``{"prediction": [y, …]}``. ``application/json;verbose`` adds ``labels`` (the
  class labels, in the order of the probabilities) and ``predicted_label`` (one per record)
  for classification; those two key names are UNCONFIRMED (they are those of AWS's JumpStart
  image and text models).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from kamado.algorithms.tabular.model import INFO_FILE, ModelInfo, plain
from kamado.algorithms.tabular.task import BINARY, REGRESSION
from kamado.serving import content, formats
from kamado.serving.errors import BadRequestError, ModelLoadError, UnsupportedAcceptError

DEFAULT_ACCEPT = content.JSON
DEFAULT_CONTENT_TYPE = content.CSV
TEXT_BODIES = False
ACCEPTS = (content.JSON,)
VERBOSE = "application/json;verbose"


def read_request(body, content_type: str | None, algorithm: str) -> np.ndarray:
    return content.read(body, content_type, {content.CSV: formats.read_csv},
                        DEFAULT_CONTENT_TYPE, algorithm)[1]


def check_width(X: np.ndarray, info: ModelInfo) -> None:
    if X.shape[1] != info.features:
        raise BadRequestError(f"The model expects {info.features} features per record (no "
                              f"label); the request has {X.shape[1]}.")
    if np.isinf(X).any():
        raise BadRequestError("The request has infinite feature values; send a number, or "
                              "leave the field empty for a missing value.")


def _verbose(accept: str | None) -> bool:
    """Whether the first Accept type the model writes asks for the verbose answer."""
    for part in (accept or "").split(","):
        mime, options = content.mime_type(part)
        if mime in (content.JSON, "*/*", ""):
            return mime == content.JSON and "verbose" in options
    return False


def respond(info: ModelInfo, values: np.ndarray, accept: str | None) -> tuple[bytes, str]:
    """``values``: predictions (regression) or class probabilities, one row per record."""
    mime = content.choose_accept(accept, ACCEPTS, DEFAULT_ACCEPT)
    if mime != content.JSON:  # pragma: no cover - choose_accept only returns ACCEPTS
        raise UnsupportedAcceptError(f"Accept {accept} is not supported.")
    if info.task == REGRESSION:
        return json.dumps({"prediction": np.asarray(values, float).ravel().tolist()}).encode(), \
            mime
    probabilities = np.asarray(values, float)
    shown = probabilities[:, 1] if info.task == BINARY else probabilities
    answer = {"probabilities": shown.tolist()}
    if _verbose(accept):
        labels = [plain(c) for c in info.classes]
        answer["labels"] = labels
        answer["predicted_label"] = [labels[i] for i in np.argmax(probabilities, axis=1)]
    return json.dumps(answer).encode(), mime


class Handlers:
    """model_fn, input_fn, predict_fn and output_fn of one tabular algorithm: its model file,
    ``load(model_dir)`` and ``predict(model, X)``."""

    def __init__(self, algorithm: str, file: str, load: Callable, predict: Callable) -> None:
        self.algorithm, self.file, self.load, self.predict = algorithm, file, load, predict

    def model_fn(self, model_dir):
        if not (Path(model_dir) / self.file).is_file() or not (
                Path(model_dir) / INFO_FILE).is_file():
            raise ModelLoadError(f"No {self.file} and {INFO_FILE} in {model_dir}: the "
                                 f"model.tar.gz of a kamado {self.algorithm} training job holds "
                                 "them.")
        try:
            return self.load(model_dir)
        except (ValueError, OSError) as exc:
            raise ModelLoadError(str(exc)) from None

    def input_fn(self, input_data, content_type):
        return read_request(input_data, content_type, self.algorithm)

    def predict_fn(self, input_data, model):
        check_width(input_data, model.info)
        return model.info, self.predict(model, input_data)

    @staticmethod
    def output_fn(prediction, accept):
        info, values = prediction
        return respond(info, values, accept)
