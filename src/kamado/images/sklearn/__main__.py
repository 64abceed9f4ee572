"""``python -m kamado.images.sklearn train`` and ``serve`` (the user's inference script, whose
model_fn is required, over the scikit-learn container's default handlers)."""

import sys

from kamado.images.environment import TrainingEnvironment
from kamado.images.sklearn import FRAMEWORK_MODULE


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv else "train"
    if command == "serve":
        from kamado.serving.server import serve

        return serve("kamado.serving.defaults.sklearn", script="required")
    if command != "train":
        print(f"unknown command {command!r}; this image knows train and serve", file=sys.stderr)
        return 2
    from kamado.images.toolkit import run_user_script

    return run_user_script(TrainingEnvironment.load(), framework_module=FRAMEWORK_MODULE)


if __name__ == "__main__":
    sys.exit(main())
