"""``python -m kamado.images.xgboost train``: the built-in algorithm, or script mode when the
job names a ``sagemaker_program`` (framework estimators), as AWS's sagemaker-xgboost images.

``python -m kamado.images.xgboost serve``: the model server, with the built-in algorithm's
handlers, under the user's inference script when ``SAGEMAKER_PROGRAM`` names one."""

import sys

from kamado.images import program
from kamado.images.environment import TrainingEnvironment

FRAMEWORK_MODULE = "sagemaker_xgboost_container.training:main"


def train(env: TrainingEnvironment) -> None:
    # Imported here, not above: script mode never needs the algorithm (nor XGBoost itself,
    # which the algorithm imports on a thread of its own while it reads the data).
    from kamado.algorithms.xgboost.train import train as train_algorithm

    train_algorithm(env)


def serve() -> int:
    from kamado.serving.server import serve as serve_model

    return serve_model("kamado.algorithms.xgboost.inference", script="optional")


def main() -> int:
    if sys.argv[1:2] == ["serve"]:
        return serve()
    env = TrainingEnvironment.load()
    if "sagemaker_program" in env.hyperparameters:
        from kamado.images.toolkit import run_user_script

        return run_user_script(env, framework_module=FRAMEWORK_MODULE)
    return program.run({"train": train})


if __name__ == "__main__":
    sys.exit(main())
