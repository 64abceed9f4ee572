"""The PyTorch framework image: script mode (``pytorch-training``); needs kamado[torch]."""
