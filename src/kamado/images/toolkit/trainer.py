"""One script-mode training run, start to finish (what ``sagemaker_training.trainer.train``
does in a framework image): code, requirements, environment, the script, the outcome."""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import traceback
from pathlib import Path

from kamado.images.environment import TrainingEnvironment
from kamado.images.toolkit import code, entry_point, package, requirements, venvs
from kamado.images.toolkit.failure import describe_exit, failure_text
from kamado.images.toolkit.hyperparameters import Hyperparameters, to_args
from kamado.images.toolkit.process import Stopping, Supervisor
from kamado.images.toolkit.variables import build_sm_environment, training_env

CLIENT_ERROR_EXIT = 2   # as kamado's built-in programs exit for ClientError
FAILURE_EXIT = 1        # SageMaker's toolkit exits 1 for ExecuteUserScriptError and the like


def run_user_script(env: TrainingEnvironment, framework_module: str) -> int:
    """Run the job's entry point; return the exit code the image should exit with."""
    hps = Hyperparameters.from_raw(env.hyperparameters)
    if not hps.program:
        env.write_failure("ClientError: Script mode needs the hyperparameter sagemaker_program "
                          "(the entry point).")
        return CLIENT_ERROR_EXIT
    scratch_root = requirements.cache_dir() / "scratch"
    scratch_root.mkdir(parents=True, exist_ok=True)
    try:
        with Supervisor() as supervisor, \
                tempfile.TemporaryDirectory(prefix="job-", dir=scratch_root) as scratch:
            return _run(env, hps, framework_module, supervisor, Path(scratch))
    except Stopping:
        print("Stopped before the script ran.", file=sys.stderr, flush=True)
        return 128 + signal.SIGTERM
    except Exception as exc:  # noqa: BLE001 - a fault of the toolkit, not of the user's script
        traceback.print_exc()
        env.write_failure(f"Framework Error: \n{type(exc).__name__}: {exc}"[:1000])
        return FAILURE_EXIT


def _client_error(env: TrainingEnvironment, message: str) -> int:
    print(f"ClientError: {message}", file=sys.stderr, flush=True)
    env.write_failure(f"ClientError: {message}")
    return CLIENT_ERROR_EXIT


def _run(env: TrainingEnvironment, hps: Hyperparameters, framework_module: str,
         supervisor: Supervisor, scratch: Path) -> int:
    entry = hps.program
    code_dir = env.code_dir
    try:
        code.provide(hps.submit_directory, code_dir, env.base, hps.region)
    except code.CodeError as exc:
        return _client_error(env, str(exc))
    kind = entry_point.kind(entry, code_dir)
    if kind is not entry_point.Kind.PACKAGE and not (code_dir / entry).is_file():
        present = ", ".join(sorted(p.name for p in code_dir.iterdir())) or "nothing"
        return _client_error(env, f"The entry point {entry} (sagemaker_program) is not in the "
                                  f"source directory, which holds {present}."[:900])

    try:
        prefix = requirements.environment(code_dir, supervisor, scratch)
        python = str(venvs.python(prefix)) if prefix else sys.executable
        if kind is entry_point.Kind.PACKAGE:
            python = str(package.install(code_dir, supervisor, scratch, prefix))
    except requirements.InstallError as exc:
        env.write_failure(failure_text(exc.kind, exc.exit_code, exc.message, exc.command))
        print(f"Reporting training FAILURE: {exc.kind}", file=sys.stderr, flush=True)
        return FAILURE_EXIT

    cmd = entry_point.command(entry, code_dir, python, to_args(hps.user))
    child_env = {**os.environ, **build_sm_environment(env, framework_module)}
    # A shell entry point that says `python` means the job's interpreter.
    child_env["PATH"] = os.pathsep.join(
        [os.path.dirname(python), *filter(None, [os.environ.get("PATH")])])
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    print("Training Env:\n\n" + json.dumps(training_env(env, framework_module), indent=4,
                                            sort_keys=True, default=str), flush=True)
    print(f"\nInvoking script with the following command:\n\n{' '.join(cmd)}\n", flush=True)

    result = supervisor.run(cmd, cwd=code_dir, env=child_env)
    if result.exit_code == 0:
        env.output_dir.mkdir(parents=True, exist_ok=True)
        (env.output_dir / "success").touch()
        print("Reporting training SUCCESS", flush=True)
        return 0
    message = describe_exit(result.exit_code, result.stderr_tail)
    env.write_failure(failure_text("ExecuteUserScriptError", result.exit_code, message, cmd))
    print(f"Reporting training FAILURE: the script exited with {result.exit_code}",
          file=sys.stderr, flush=True)
    return FAILURE_EXIT
