"""Inference of kamado's CatBoost (``catboost`` image), in the handler vocabulary of
:mod:`kamado.serving.handlers`; the request and response shapes are
:mod:`kamado.algorithms.tabular.serving`'s."""

from __future__ import annotations

from pathlib import Path

from kamado.algorithms.catboost_tabular.model import FILE, CatBoostModel, load_model, predict
from kamado.algorithms.tabular import serving
from kamado.algorithms.tabular.model import INFO_FILE
from kamado.serving.errors import ModelLoadError

DEFAULT_ACCEPT = serving.DEFAULT_ACCEPT
DEFAULT_CONTENT_TYPE = serving.DEFAULT_CONTENT_TYPE
TEXT_BODIES = serving.TEXT_BODIES
ACCEPTS = serving.ACCEPTS


def model_fn(model_dir) -> CatBoostModel:
    if not (Path(model_dir) / FILE).is_file() or not (Path(model_dir) / INFO_FILE).is_file():
        raise ModelLoadError(f"No {FILE} and {INFO_FILE} in {model_dir}: the model.tar.gz of a "
                             "kamado CatBoost training job holds them.")
    try:
        return load_model(model_dir)
    except (ValueError, OSError) as exc:
        raise ModelLoadError(str(exc)) from None


def input_fn(input_data, content_type):
    return serving.read_request(input_data, content_type, "CatBoost")


def predict_fn(input_data, model: CatBoostModel):
    serving.check_width(input_data, model.info)
    return model.info, predict(model, input_data)


def output_fn(prediction, accept):
    info, values = prediction
    return serving.respond(info, values, accept)
