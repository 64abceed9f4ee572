"""``python -m kamado.serving [--handlers MODULE] [--script required|optional|none]``: a
model server for a user's inference script (the default) over the inference toolkit's
default handlers, or for a handler module (a built-in algorithm's)."""

from __future__ import annotations

import argparse
import sys

from kamado.serving.server import SCRIPT_MODES, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kamado.serving")
    parser.add_argument("--handlers", default="kamado.serving.defaults",
                        help="module with the default handler functions")
    parser.add_argument("--script", choices=SCRIPT_MODES, default="required",
                        help="whether a SAGEMAKER_PROGRAM script is used")
    args = parser.parse_args(argv)
    return serve(args.handlers, args.script)


if __name__ == "__main__":
    sys.exit(main())
