"""Script mode: kamado's counterpart of SageMaker's training toolkit.

The image's ``train`` program calls :func:`run_user_script`: it puts the user's code in
``code/``, installs its ``requirements.txt`` (cached), exports the ``SM_*`` environment, runs
the entry point with the hyperparameters as command-line arguments, and on failure writes the
failure file in the toolkit's words (``ExecuteUserScriptError`` …).
"""

from __future__ import annotations

import os
import sys

from kamado.images.environment import TrainingEnvironment
from kamado.images.toolkit import code, requirements, runner
from kamado.images.toolkit.environment import build_sm_environment
from kamado.images.toolkit.hyperparameters import decode, split, to_args


def _failure(kind: str, code_: int, message: str, cmd: list[str]) -> str:
    return (f'{kind}:\nExitCode {code_}\nErrorMessage "{message}"\n'
            f'Command "{" ".join(cmd)}"')


def run_user_script(env: TrainingEnvironment, framework_module: str) -> int:
    """Run the job's entry point; the exit code the image should exit with."""
    user, toolkit, _ = split(decode(env.hyperparameters))
    entry = str(toolkit.get("sagemaker_program") or "")
    if not entry:
        env.write_failure("ClientError: Hyperparameter sagemaker_program (the entry point) is "
                          "required in script mode.")
        return 2
    try:
        code.provide(toolkit.get("sagemaker_submit_directory"), env.code_dir)
    except code.CodeError as exc:
        env.write_failure(f"ClientError: {exc}")
        return 2
    if not (env.code_dir / entry).exists():
        env.write_failure(f"ClientError: The entry point {entry} is not in the source directory "
                          f"(it has: {', '.join(sorted(p.name for p in env.code_dir.iterdir())) or 'nothing'}).")
        return 2
    try:
        python = requirements.python_for(env.code_dir)
    except requirements.InstallError as exc:
        env.write_failure(_failure("InstallRequirementsError", exc.code,
                                   runner.error_message(exc.stderr.splitlines()), exc.command))
        return 1
    cmd = runner.command(entry, env.code_dir, python, to_args(user))
    child_env = {**os.environ, **build_sm_environment(env, framework_module)}
    print(f"Invoking script with the following command:\n\n{' '.join(cmd)}\n", flush=True)
    exit_code, tail = runner.run(cmd, cwd=env.code_dir, env=child_env)
    if exit_code == 0:
        env.output_dir.mkdir(parents=True, exist_ok=True)
        (env.output_dir / "success").touch()
        return 0
    env.write_failure(_failure("ExecuteUserScriptError", exit_code, runner.error_message(tail), cmd))
    print(f"Reporting training FAILURE: the script exited with {exit_code}", file=sys.stderr,
          flush=True)
    return 1


__all__ = ["build_sm_environment", "run_user_script"]
