"""The scikit-learn image's defaults, as AWS's sagemaker-scikit-learn container has them:
model_fn is the script's to write; JSON and CSV input become float32 arrays; predict_fn is
``model.predict``."""

from __future__ import annotations

import numpy as np

from kamado.serving import content
from kamado.serving.defaults import output_fn

DEFAULT_ACCEPT = content.JSON


def input_fn(input_data, content_type):
    array = content.decode(input_data, content_type)
    if content.mime_type(content_type)[0] in (content.JSON, content.CSV):
        return np.asarray(array, dtype=np.float32)
    return array


def predict_fn(data, model):
    return model.predict(data)

__all__ = ["DEFAULT_ACCEPT", "input_fn", "output_fn", "predict_fn"]
