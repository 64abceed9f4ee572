"""``python -m kamado.images.xgboost train``."""

import sys

from kamado.images import program
from kamado.images.environment import TrainingEnvironment

FRAMEWORK_MODULE = "sagemaker_xgboost_container.training:main"


def _import_xgboost_without_sklearn() -> None:
    """``import xgboost`` imports scikit-learn when it is installed (for its sklearn wrapper,
    which the algorithm does not use): 1.7 s of a job's start on a laptop, against 0.3 s for
    xgboost alone. Hiding sklearn during that import keeps every job's start fast; sklearn is
    imported normally later if a custom metric needs it."""
    hidden = "sklearn" not in sys.modules
    if hidden:
        sys.modules["sklearn"] = None  # makes `import sklearn` raise ImportError
    try:
        import xgboost  # noqa: F401
    finally:
        if hidden:
            del sys.modules["sklearn"]


def train(env: TrainingEnvironment) -> None:
    _import_xgboost_without_sklearn()
    from kamado.algorithms.xgboost.train import train as train_algorithm

    train_algorithm(env)


def main() -> int:
    env = TrainingEnvironment.load()
    if "sagemaker_program" in env.hyperparameters:
        from kamado.images.toolkit import run_user_script

        return run_user_script(env, framework_module=FRAMEWORK_MODULE)
    return program.run({"train": train})


if __name__ == "__main__":
    sys.exit(main())
