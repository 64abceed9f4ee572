"""``python -m kamado.images.pytorch train``."""

import sys
from importlib.util import find_spec

from kamado.images.environment import TrainingEnvironment
from kamado.images.toolkit import run_user_script

if __name__ == "__main__":
    env = TrainingEnvironment.load()
    if find_spec("torch") is None:
        env.write_failure("ClientError: the PyTorch image needs torch; install kamado[torch].")
        sys.exit(2)
    sys.exit(run_user_script(env, framework_module="sagemaker_pytorch_container.training:main"))
