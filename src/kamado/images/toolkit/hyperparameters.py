"""Hyperparameters as SageMaker's training toolkit reads them, and the command line it builds
(training-contract.md §3.1, §6.1–6.2)."""

from __future__ import annotations

import json

# Keys the toolkit keeps out of the user's hyperparameters (beyond every ``sagemaker_*`` key).
RESERVED = ("default_user_module_name", "_tuning_objective_metric")
# ``sagemaker_*`` keys that are the toolkit's own; the other ``sagemaker_*`` keys are framework
# parameters (distribution settings) and go to SM_FRAMEWORK_PARAMS.
TOOLKIT_KEYS = ("sagemaker_program", "sagemaker_submit_directory", "sagemaker_container_log_level",
                "sagemaker_job_name", "sagemaker_region", "sagemaker_enable_cloudwatch_metrics",
                "sagemaker_s3_output")


def decode(raw: dict[str, str]) -> dict[str, object]:
    """JSON-decode each value; keep the raw string when it is not JSON."""
    out = {}
    for key, value in raw.items():
        try:
            out[key] = json.loads(value)
        except (TypeError, ValueError):
            out[key] = value
    return out


def split(decoded: dict[str, object]) -> tuple[dict, dict, dict]:
    """(user hyperparameters, the toolkit's own, framework parameters)."""
    user, toolkit, framework = {}, {}, {}
    for key, value in decoded.items():
        if key in TOOLKIT_KEYS:
            toolkit[key] = value
        elif key.startswith("sagemaker_"):
            framework[key] = value
        elif key not in RESERVED:
            user[key] = value
    return user, toolkit, framework


def _render(value: object) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def to_args(hyperparameters: dict[str, object]) -> list[str]:
    """``--key value`` per hyperparameter, keys sorted; one-letter keys as ``-k``."""
    args = []
    for key in sorted(hyperparameters):
        args += [f"-{key}" if len(key) == 1 else f"--{key}", _render(hyperparameters[key])]
    return args


def encode_env(value: object) -> str:
    """The toolkit's rule for SM_* values: strings as they are, None empty, else compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
