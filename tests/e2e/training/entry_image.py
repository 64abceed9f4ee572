"""A user's image given as a Python function (``kamado images register --entry-point``)."""

import os
import sys
from pathlib import Path


def main():
    base = Path(os.environ["SAGEMAKER_BASE_DIR"])
    (base / "model" / "command.txt").write_text(" ".join(sys.argv[1:]))
    print("entry point image ran", flush=True)
    return 0
