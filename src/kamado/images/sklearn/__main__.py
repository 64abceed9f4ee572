"""``python -m kamado.images.sklearn train``."""

import sys

from kamado.images.environment import TrainingEnvironment
from kamado.images.toolkit import run_user_script

if __name__ == "__main__":
    sys.exit(run_user_script(TrainingEnvironment.load(),
                             framework_module="sagemaker_sklearn_container.training:main"))
