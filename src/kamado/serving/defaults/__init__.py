"""The inference toolkit's defaults (inference-contract.md §4.1, §4.2): no default model_fn
(the script must load its model), JSON / CSV / NPY decoded to numpy, ``model.predict`` (or
``model(data)``), the prediction encoded to the first Accept type it can be."""

from __future__ import annotations

from kamado.serving import content

DEFAULT_ACCEPT = content.JSON


def input_fn(input_data, content_type):
    return content.decode(input_data, content_type)


def predict_fn(data, model):
    predict = getattr(model, "predict", None)
    return predict(data) if callable(predict) else model(data)


def output_fn(prediction, accept):
    return content.encode(prediction, accept, DEFAULT_ACCEPT)
