"""What a training image sees: the ``/opt/ml`` tree of its job, read the way SageMaker's
containers read it.

kamado runs images as local processes, so the tree is not at ``/opt/ml`` but wherever the
engine made the job directory; ``SAGEMAKER_BASE_DIR`` names it, as it does for SageMaker's
training toolkit outside a container. Everything an image needs is here, so that images never
learn how the engine lays things out beyond the contract in
``../shared/reference/training-contract.md``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_BASE_DIR = "/opt/ml"
FAILURE_LIMIT = 1024  # DescribeTrainingJob.FailureReason holds at most this many characters


# "/opt/ml" as a path of its own: not inside a longer path or name (/x/opt/ml, /opt/mlflow).
_CONTAINER_BASE = re.compile(r"(?<![\w./-])/opt/ml(?![\w.-])")


def base_dir() -> Path:
    return Path(os.environ.get("SAGEMAKER_BASE_DIR") or DEFAULT_BASE_DIR)


def in_job_dir(path: str, base: Path) -> Path:
    """A container path (``/opt/ml/checkpoints``) as the same path in the job directory
    ``base``; any other path as it is."""
    if path == DEFAULT_BASE_DIR or path.startswith(DEFAULT_BASE_DIR + "/"):
        return base / os.path.relpath(path, DEFAULT_BASE_DIR)
    return Path(path)


def translate(text: str, base: Path) -> str:
    """``text`` (a command line, a script) with every ``/opt/ml`` path moved into ``base``."""
    return _CONTAINER_BASE.sub(lambda _: str(base), text)


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default


@dataclass
class TrainingEnvironment:
    """The job directory of one host, with its configuration files already read."""

    base: Path
    hyperparameters: dict[str, str] = field(default_factory=dict)
    input_data_config: dict[str, dict] = field(default_factory=dict)
    resource_config: dict = field(default_factory=dict)
    checkpoint_config: dict | None = None

    @classmethod
    def load(cls, base: Path | str | None = None) -> "TrainingEnvironment":
        base = Path(base) if base is not None else base_dir()
        config = base / "input" / "config"
        return cls(
            base=base,
            hyperparameters=_read_json(config / "hyperparameters.json", {}),
            input_data_config=_read_json(config / "inputdataconfig.json", {}),
            resource_config=_read_json(config / "resourceconfig.json", {}),
            checkpoint_config=_read_json(config / "checkpointconfig.json", None))

    # --- paths ------------------------------------------------------------------------------
    @property
    def input_dir(self) -> Path:
        return self.base / "input"

    @property
    def config_dir(self) -> Path:
        return self.base / "input" / "config"

    @property
    def data_dir(self) -> Path:
        return self.base / "input" / "data"

    def channel_dir(self, channel: str) -> Path:
        return self.data_dir / channel

    @property
    def model_dir(self) -> Path:
        return self.base / "model"

    @property
    def output_dir(self) -> Path:
        return self.base / "output"

    @property
    def output_data_dir(self) -> Path:
        return self.base / "output" / "data"

    @property
    def intermediate_dir(self) -> Path:
        return self.base / "output" / "intermediate"

    @property
    def failure_file(self) -> Path:
        return self.base / "output" / "failure"

    @property
    def code_dir(self) -> Path:
        return self.base / "code"

    @property
    def checkpoint_dir(self) -> Path:
        local = (self.checkpoint_config or {}).get("LocalPath")
        return Path(local) if local else self.base / "checkpoints"

    # --- facts ------------------------------------------------------------------------------
    @property
    def channels(self) -> list[str]:
        return sorted(self.input_data_config)

    def content_type(self, channel: str) -> str | None:
        return (self.input_data_config.get(channel) or {}).get("ContentType")

    def input_mode(self, channel: str) -> str:
        return (self.input_data_config.get(channel) or {}).get("TrainingInputMode", "File")

    @property
    def current_host(self) -> str:
        return self.resource_config.get("current_host", "algo-1")

    @property
    def hosts(self) -> list[str]:
        return list(self.resource_config.get("hosts") or [self.current_host])

    @property
    def instance_type(self) -> str:
        return self.resource_config.get("current_instance_type", "local")

    @property
    def job_name(self) -> str:
        return os.environ.get("TRAINING_JOB_NAME", "")

    def write_failure(self, message: str) -> None:
        """Record why the job failed, unless something already did (the first reason wins,
        as with SageMaker's toolkit)."""
        self.failure_file.parent.mkdir(parents=True, exist_ok=True)
        if not self.failure_file.exists():
            self.failure_file.write_text(message)
