"""Code with a ``setup.py``: SageMaker's toolkit runs ``pip install .`` and then the entry
point as a module. The package is this job's alone, so it goes into an environment in the
job's scratch directory, layered over the requirements' environment (or kamado's)."""

from __future__ import annotations

import os
from pathlib import Path

from kamado.images.toolkit import venvs
from kamado.images.toolkit.failure import tail_message
from kamado.images.toolkit.process import Supervisor
from kamado.images.toolkit.requirements import InstallError, pip_install


def install(code_dir: Path, supervisor: Supervisor, scratch: Path,
            requirements_prefix: Path | None) -> Path:
    """Install the code as a package; return the interpreter that sees it."""
    parents = [str(venvs.site_packages(requirements_prefix))] if requirements_prefix else None
    python = venvs.create(scratch / "package-env", parents)
    command = pip_install(python, ["."])
    print(f"Installing the module with the following command:\n{' '.join(command)}",
          flush=True)
    result = supervisor.run(command, cwd=code_dir, env=dict(os.environ))
    if result.exit_code != 0:
        raise InstallError("InstallModuleError", result.exit_code,
                           tail_message(result.stderr_tail), command)
    return python
