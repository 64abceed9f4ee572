"""Hyperparameters as SageMaker's training toolkit reads them, and the command line it builds
from them (training-contract.md §3.1, §6.1, §6.2)."""

from __future__ import annotations

import json
from dataclasses import dataclass

SAGEMAKER_PREFIX = "sagemaker_"
# The toolkit's own keys. Two of them lack the prefix but are still kept out of the user's
# hyperparameters: a tuning job's objective name and a legacy module-name setting.
TOOLKIT_KEYS = frozenset({
    "sagemaker_program", "sagemaker_submit_directory", "sagemaker_enable_cloudwatch_metrics",
    "sagemaker_region", "sagemaker_container_log_level", "sagemaker_job_name",
    "default_user_module_name", "_tuning_objective_metric", "sagemaker_s3_output",
})
DEFAULT_LOG_LEVEL = 20  # logging.INFO, the toolkit's default


def decode(raw: dict[str, str]) -> dict[str, object]:
    """JSON-decode each value; a value that is not JSON stays the string it was.

    The SDK JSON-encodes every value of a framework estimator (``"\\"train.py\\""``) while
    hand-written requests usually do not (``"train.py"``); both must mean the same."""
    decoded: dict[str, object] = {}
    for key, value in raw.items():
        try:
            decoded[key] = json.loads(value)
        except (TypeError, ValueError):
            decoded[key] = value
    return decoded


@dataclass(frozen=True)
class Hyperparameters:
    """The decoded hyperparameters, in the three groups the toolkit distinguishes."""

    user: dict[str, object]       # the script's own: SM_HPS, SM_HP_*, the command line
    toolkit: dict[str, object]    # how to run the script (program, source, log level, ...)
    framework: dict[str, object]  # other sagemaker_* keys (distribution): SM_FRAMEWORK_PARAMS

    @classmethod
    def from_raw(cls, raw: dict[str, str]) -> "Hyperparameters":
        user, toolkit, framework = {}, {}, {}
        for key, value in decode(raw).items():
            if key in TOOLKIT_KEYS:
                toolkit[key] = value
            elif key.startswith(SAGEMAKER_PREFIX):
                framework[key] = value
            else:
                user[key] = value
        return cls(user, toolkit, framework)

    @property
    def program(self) -> str:
        value = self.toolkit.get("sagemaker_program")
        return "" if value is None else str(value)

    @property
    def submit_directory(self) -> str | None:
        value = self.toolkit.get("sagemaker_submit_directory")
        return None if value in (None, "") else str(value)

    @property
    def log_level(self) -> object:
        return self.toolkit.get("sagemaker_container_log_level", DEFAULT_LOG_LEVEL)

    @property
    def job_name(self) -> str | None:
        value = self.toolkit.get("sagemaker_job_name")
        return None if value in (None, "") else str(value)

    @property
    def region(self) -> str | None:
        value = self.toolkit.get("sagemaker_region")
        return None if value in (None, "") else str(value)


def render(value: object) -> str:
    """One argument value: ``str()`` of the decoded value (``True``, ``0.001``, ``[1, 2]``);
    a mapping as ``k1=v1,k2=v2`` with sorted keys; nothing for null."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    return str(value)


def to_args(hyperparameters: dict[str, object]) -> list[str]:
    """``--key value`` per hyperparameter, keys sorted; a one-character key is ``-k``."""
    args: list[str] = []
    for key in sorted(hyperparameters):
        args.append(f"-{key}" if len(key) == 1 else f"--{key}")
        args.append(render(hyperparameters[key]))
    return args
