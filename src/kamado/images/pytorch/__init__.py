"""The PyTorch framework image (``pytorch-training``): script mode; needs ``kamado[torch]``."""

FRAMEWORK_MODULE = "sagemaker_pytorch_container.training:main"
MISSING_TORCH = "ClientError: the PyTorch image needs torch; install kamado[torch]"
