"""The serving environment a container reads (inference-contract.md §1, §4.4)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kamado.images.environment import base_dir

DEFAULT_PORT = 8080
DEFAULT_TIMEOUT = 60  # seconds; MMS's default_response_timeout


def _int(env: dict, name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ValueError(f"{name}={raw!r} must be at least {minimum}")
    return value


@dataclass(frozen=True)
class ServingSettings:
    base: Path
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    program: str | None = None            # SAGEMAKER_PROGRAM, as given (None: not set)
    submit_directory: str | None = None   # SAGEMAKER_SUBMIT_DIRECTORY
    timeout: int = DEFAULT_TIMEOUT
    # AWS's default is one worker per CPU; kamado runs many endpoints on one machine, so one
    # worker each unless the model asks for more.
    workers: int = 1
    default_accept: str | None = None     # SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT
    max_payload_bytes: int | None = None  # SAGEMAKER_MAX_PAYLOAD_IN_MB
    multi_model: bool = False             # SAGEMAKER_MULTI_MODEL: models come and go (/models)
    batch: bool = False                   # SAGEMAKER_BATCH: a batch transform's server
    # KAMADO_BATCH_FAST_PATH=false: no kamado.serving.batch route (every record through
    # /invocations)
    batch_fast_path: bool = True
    # KAMADO_BATCH_TOKEN: what a kamado.serving.batch request must carry (the job that
    # started the server set it; without it there is no such route)
    batch_token: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "ServingSettings":
        env = dict(os.environ if env is None else env)
        base = Path(env["SAGEMAKER_BASE_DIR"]) if env.get("SAGEMAKER_BASE_DIR") else base_dir()
        timeout = _int(env, "SAGEMAKER_MODEL_SERVER_TIMEOUT",
                       _int(env, "SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS", DEFAULT_TIMEOUT, 1), 1)
        payload = _int(env, "SAGEMAKER_MAX_PAYLOAD_IN_MB", 0, 0)
        return cls(base=base,
                   port=_int(env, "SAGEMAKER_BIND_TO_PORT", DEFAULT_PORT, 0),
                   host=env.get("KAMADO_SERVING_HOST") or "127.0.0.1",
                   program=env.get("SAGEMAKER_PROGRAM") or None,
                   submit_directory=env.get("SAGEMAKER_SUBMIT_DIRECTORY") or None,
                   timeout=timeout,
                   workers=_int(env, "SAGEMAKER_MODEL_SERVER_WORKERS", 1, 1),
                   default_accept=env.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or None,
                   max_payload_bytes=payload * 1024 * 1024 or None,
                   multi_model=env.get("SAGEMAKER_MULTI_MODEL", "").strip().lower() == "true",
                   batch=bool(env.get("SAGEMAKER_BATCH")),
                   batch_fast_path=env.get("KAMADO_BATCH_FAST_PATH", "").strip().lower()
                   != "false",
                   batch_token=env.get("KAMADO_BATCH_TOKEN") or None)

    @property
    def model_dir(self) -> Path:
        return self.base / "model"
