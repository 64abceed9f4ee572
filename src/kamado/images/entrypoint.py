"""``python -m kamado.images.entrypoint package.module:function train`` — a user's image given
as a Python function: the function runs with ``sys.argv[1:]`` set to the command (``train``
or ``serve``), as a container's program would see it."""

from __future__ import annotations

import importlib
import sys


def main() -> int:
    if len(sys.argv) < 2 or ":" not in sys.argv[1]:
        print("usage: python -m kamado.images.entrypoint package.module:function [command ...]",
              file=sys.stderr)
        return 2
    module, _, function = sys.argv[1].partition(":")
    target = importlib.import_module(module)
    for part in function.split("."):
        target = getattr(target, part)
    sys.argv = [sys.argv[1], *sys.argv[2:]]
    result = target()
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
