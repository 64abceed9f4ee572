"""The one way a built-in image's program starts, fails and exits.

``python -m kamado.images.<image> train`` calls :func:`run` with the image's train function.
A :class:`ClientError` is the user's to fix (a bad hyperparameter, a corrupt file, a missing
channel): its message goes to the failure file as ``ClientError: …`` and the program exits 2.
Any other exception is the algorithm's: ``AlgorithmError: …``, exit 1. The engine turns the
failure file into ``FailureReason``.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Callable

from kamado.images.environment import TrainingEnvironment


class ClientError(Exception):
    """A problem with the job's request or data that the user can act on."""


def run(commands: dict[str, Callable[[TrainingEnvironment], None]],
        argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else "train"
    if command not in commands:
        print(f"unknown command {command!r}; this image knows {', '.join(sorted(commands))}",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="[%(asctime)s %(levelname)s %(name)s] %(message)s")
    env = TrainingEnvironment.load()
    try:
        commands[command](env)
    except ClientError as exc:
        message = f"ClientError: {exc}"
        print(message, file=sys.stderr, flush=True)
        env.write_failure(message)
        return 2
    except Exception as exc:  # noqa: BLE001 - every other failure is the algorithm's
        traceback.print_exc()
        env.write_failure(f"AlgorithmError: {type(exc).__name__}: {exc}")
        return 1
    return 0


def algorithm_main(train: str, inference: str, argv: list[str] | None = None) -> int:
    """The whole ``__main__`` of a built-in algorithm's image: ``serve`` runs the model server
    with the handlers of module ``inference``; ``train`` runs ``train`` ("module:function",
    imported only then, so a model server never loads the trainer's libraries)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        from kamado.serving.server import serve

        return serve(inference, script="none")
    module, _, function = train.partition(":")

    def train_job(env: TrainingEnvironment) -> None:
        __import__(module, fromlist=[function]).__dict__[function](env)

    return run({"train": train_job}, argv)
