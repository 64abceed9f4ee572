"""What kind of entry point ``sagemaker_program`` names, and the command that runs it
(training-contract.md §6.1). The command runs with the code directory as its cwd."""

from __future__ import annotations

import enum
import shlex
from pathlib import Path


class Kind(enum.Enum):
    COMMAND = "command"   # a shell script or any other executable: /bin/sh -c ./entry args
    PACKAGE = "package"   # the code has a setup.py: pip install ., then python -m entry
    PROGRAM = "program"   # a Python file: python entry args


def kind(entry_point: str, code_dir: Path) -> Kind:
    if entry_point.endswith(".sh"):
        return Kind.COMMAND
    if (code_dir / "setup.py").exists():
        return Kind.PACKAGE
    if entry_point.endswith(".py"):
        return Kind.PROGRAM
    return Kind.COMMAND


def module_name(entry_point: str) -> str:
    return entry_point.removesuffix(".py").replace("/", ".")


def command(entry_point: str, code_dir: Path, python: str, args: list[str]) -> list[str]:
    which = kind(entry_point, code_dir)
    if which is Kind.PROGRAM:
        return [python, entry_point, *args]
    if which is Kind.PACKAGE:
        return [python, "-m", module_name(entry_point), *args]
    script = code_dir / entry_point
    if script.is_file():
        # Tarballs and uploads often lose the executable bit.
        script.chmod(script.stat().st_mode | 0o111)
    return ["/bin/sh", "-c", " ".join([shlex.quote(f"./{entry_point}"),
                                       *(shlex.quote(a) for a in args)])]
