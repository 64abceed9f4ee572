"""``python -m kamado.images.pytorch train`` and ``serve`` (the user's inference script over
the PyTorch toolkit's default handlers)."""

import sys
from importlib.util import find_spec

from kamado.images.environment import TrainingEnvironment
from kamado.images.pytorch import FRAMEWORK_MODULE, MISSING_TORCH

CLIENT_ERROR_EXIT = 2


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv else "train"
    if command == "serve":
        if find_spec("torch") is None:
            print(f"kamado model server: the model cannot be loaded: {MISSING_TORCH}",
                  file=sys.stderr)
            return 1
        from kamado.serving.server import serve

        return serve("kamado.serving.defaults.pytorch", script="required")
    if command != "train":
        print(f"unknown command {command!r}; this image knows train and serve", file=sys.stderr)
        return 2
    env = TrainingEnvironment.load()
    # Looked up, not imported: importing torch costs seconds and hundreds of MB that this
    # process would hold for the whole run, while the script imports it anyway.
    if find_spec("torch") is None:
        print(MISSING_TORCH, file=sys.stderr, flush=True)
        env.write_failure(MISSING_TORCH)
        return CLIENT_ERROR_EXIT
    from kamado.images.toolkit import run_user_script

    return run_user_script(env, framework_module=FRAMEWORK_MODULE)


if __name__ == "__main__":
    sys.exit(main())
