"""Inference of kamado's CatBoost (``catboost`` image), in the handler vocabulary of
:mod:`kamado.serving.handlers`; the request and response shapes are
:mod:`kamado.algorithms.tabular.serving`'s."""

from __future__ import annotations

from kamado.algorithms.catboost_tabular.model import FILE, load_model, predict
from kamado.algorithms.tabular import serving

DEFAULT_ACCEPT = serving.DEFAULT_ACCEPT
DEFAULT_CONTENT_TYPE = serving.DEFAULT_CONTENT_TYPE
TEXT_BODIES = serving.TEXT_BODIES
ACCEPTS = serving.ACCEPTS

_handlers = serving.Handlers("CatBoost", FILE, load_model, predict)
model_fn, input_fn = _handlers.model_fn, _handlers.input_fn
predict_fn, output_fn = _handlers.predict_fn, _handlers.output_fn
