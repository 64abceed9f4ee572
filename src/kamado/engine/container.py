"""A job that brings its own command line (``ContainerEntrypoint``) runs as it would inside
its image's container, though kamado runs it as a local process.

Two things a container gives such a command are made here. Its paths: the command, its
arguments and the scripts it runs out of an input channel name ``/opt/ml/...``, which is the
job directory here, so they are translated (SDK 3.x's ``ModelTrainer`` runs its drivers this
way: ``bash -c /opt/ml/input/data/sm_drivers/sm_train.sh``). And its ``python3`` and ``pip``:
a virtual environment of the job's own, layered over kamado's, so the image's packages are
there and whatever the command installs stays with the job, as it would in a container.
"""

from __future__ import annotations

import os
import re

from kamado.images.environment import TrainingEnvironment, translate
from kamado.images.toolkit import venvs

# Files of a channel that a command may run or source; data files are left alone.
SCRIPT_SUFFIXES = (".sh", ".bash", ".py", ".env")
SCRIPT_LIMIT = 1 << 20
PYTHON_DIR = ".python"  # under the host's job directory, beside input/ and model/


def argv(spec: dict, env: TrainingEnvironment) -> list[str]:
    words = list(spec["ContainerEntrypoint"]) + list(spec.get("ContainerArguments") or [])
    return [translate(word, env.base) for word in words]


def translate_scripts(words: list[str], env: TrainingEnvironment) -> None:
    """Rewrite ``/opt/ml`` in the scripts of every channel the command line names."""
    data_dir = str(env.data_dir)
    named = set()
    for word in words:
        for match in re.finditer(re.escape(data_dir) + r"/([^/\s'\";&|]+)", word):
            named.add(match.group(1))
    for channel in sorted(named):
        directory = env.channel_dir(channel)
        if not directory.is_dir():
            continue
        for path in directory.rglob("*"):
            if (path.is_file() and not path.is_symlink() and path.suffix in SCRIPT_SUFFIXES
                    and path.stat().st_size <= SCRIPT_LIMIT):
                try:
                    text = path.read_text()
                except UnicodeDecodeError:
                    continue
                moved = translate(text, env.base)
                if moved != text:
                    path.write_text(moved)


def python_environment(env: TrainingEnvironment, variables: dict[str, str]) -> None:
    """Make the job's Python and put it first on the ``PATH`` of ``variables``."""
    prefix = env.base / PYTHON_DIR
    python = venvs.create(prefix)
    bin_dir = python.parent
    # The environment borrows pip from kamado's; commands look for a pip program.
    for name in ("pip", "pip3"):
        script = bin_dir / name
        if not script.exists():
            script.write_text(f'#!/bin/sh\nexec "{python}" -m pip "$@"\n')
            script.chmod(0o755)
    variables["PATH"] = os.pathsep.join(p for p in (str(bin_dir), variables.get("PATH")) if p)
    variables["VIRTUAL_ENV"] = str(prefix)


def prepare(spec: dict, env: TrainingEnvironment, variables: dict[str, str]) -> list[str]:
    """The command line of a ``ContainerEntrypoint`` job, its scripts made ready and its
    Python added to ``variables``."""
    words = argv(spec, env)
    translate_scripts(words, env)
    python_environment(env, variables)
    return words
