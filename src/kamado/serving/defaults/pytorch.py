"""The PyTorch image's defaults, as AWS's PyTorch inference toolkit has them: model_fn loads
a TorchScript ``model.pt`` / ``model.pth`` from the model directory; input becomes a tensor;
predict_fn runs the model without gradients; the output is encoded like any array."""

from __future__ import annotations

import os

from kamado.serving import content
from kamado.serving.defaults import input_fn as _decode
from kamado.serving.defaults import output_fn
from kamado.serving.errors import ModelLoadError

DEFAULT_ACCEPT = content.JSON
_MODEL_FILES = ("model.pt", "model.pth")


def model_fn(model_dir):
    import torch

    for name in _MODEL_FILES:
        path = os.path.join(model_dir, name)
        if os.path.isfile(path):
            try:
                return torch.jit.load(path, map_location="cpu").eval()
            except RuntimeError as exc:
                raise ModelLoadError(f"{name} is not a TorchScript model ({exc}); define "
                                     "model_fn in the inference script to load it.") from None
    raise ModelLoadError(f"No {' or '.join(_MODEL_FILES)} in the model directory; define "
                         "model_fn in the inference script.")


def input_fn(input_data, content_type):
    import torch

    return torch.as_tensor(_decode(input_data, content_type))


def predict_fn(data, model):
    import torch

    with torch.no_grad():
        return model(data)

__all__ = ["DEFAULT_ACCEPT", "input_fn", "model_fn", "output_fn", "predict_fn"]
