"""kamado's settings: defaults < ``<home>/config.toml`` < ``KAMADO_*`` environment < CLI flags."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

DEFAULT_PORT = 8943


@dataclass
class Setting:
    name: str
    env: str
    default: object
    help: str


SETTINGS: list[Setting] = [
    Setting("host", "KAMADO_HOST", "127.0.0.1", "address the server binds to"),
    Setting("port", "KAMADO_PORT", DEFAULT_PORT, "port the server listens on"),
    Setting("region", "KAMADO_REGION", "us-east-1", "default region written to the kamado profile"),
    Setting("account_id", "KAMADO_ACCOUNT_ID", "000000000000", "12-digit account id used in ARNs"),
    Setting("database_url", "KAMADO_DATABASE_URL", "",
            "SQLAlchemy URL of the store; empty means SQLite at <home>/kamado.db"),
    Setting("s3_endpoint_url", "KAMADO_S3_ENDPOINT_URL", "",
            "external S3 endpoint for s3:// URIs; empty means the built-in object store"),
    Setting("s3_access_key_id", "KAMADO_S3_ACCESS_KEY_ID", "", "access key for the external S3 endpoint"),
    Setting("s3_secret_access_key", "KAMADO_S3_SECRET_ACCESS_KEY", "", "secret for the external S3 endpoint"),
    Setting("object_fsync", "KAMADO_OBJECT_FSYNC", False,
            "fsync each object write so it also survives power loss (slower PutObject); "
            "without it writes are atomic and survive a killed server"),
    Setting("max_concurrent_jobs", "KAMADO_MAX_CONCURRENT_JOBS", 0,
            "jobs that run at once; the rest queue (0 means one per CPU core)"),
    Setting("invocation_timeout_seconds", "KAMADO_INVOCATION_TIMEOUT_SECONDS", 60,
            "seconds an endpoint's model has to answer InvokeEndpoint (AWS: 60)"),
    Setting("serverless_idle_seconds", "KAMADO_SERVERLESS_IDLE_SECONDS", 300,
            "seconds a serverless endpoint's instance stays up without requests"),
    Setting("fork_server", "KAMADO_FORK_SERVER", True,
            "start built-in algorithm jobs from a process that has their libraries imported "
            "(saves most of a second per job)"),
    Setting("stop_grace_seconds", "KAMADO_STOP_GRACE_SECONDS", 120,
            "seconds a stopped job's program has after SIGTERM before SIGKILL (AWS: 120)"),
    Setting("mme_memory_mb", "KAMADO_MME_MEMORY_MB", 2048,
            "memory budget of one instance of a multi-model endpoint, in MB of extracted model "
            "data; past it, the least recently used models are unloaded"),
    Setting("access_key_id", "KAMADO_ACCESS_KEY_ID", "", "root access key id (generated at first start if empty)"),
    Setting("secret_access_key", "KAMADO_SECRET_ACCESS_KEY", "", "root secret access key"),
    Setting("write_aws_profile", "KAMADO_WRITE_AWS_PROFILE", True,
            "write profile 'kamado' into the AWS shared config and credentials files"),
]


def default_home() -> Path:
    return Path(os.environ.get("KAMADO_HOME") or Path.home() / ".kamado").expanduser()


def _coerce(value: object, default: object) -> object:
    if isinstance(default, bool):
        return str(value).strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(value)
    return str(value)


@dataclass
class Config:
    home: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    region: str = "us-east-1"
    account_id: str = "000000000000"
    database_url: str = ""
    s3_endpoint_url: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    object_fsync: bool = False
    max_concurrent_jobs: int = 0
    invocation_timeout_seconds: int = 60
    serverless_idle_seconds: int = 300
    fork_server: bool = True
    stop_grace_seconds: int = 120
    mme_memory_mb: int = 2048
    access_key_id: str = ""
    secret_access_key: str = ""
    write_aws_profile: bool = True
    # Where each value came from: default, config, env or flag. Shown by `kamado config`.
    sources: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, home: Path | str | None = None, **flags: object) -> "Config":
        home = Path(home).expanduser() if home else default_home()
        file_values: dict = {}
        path = home / "config.toml"
        if path.exists():
            with path.open("rb") as fh:
                file_values = tomllib.load(fh)
        values: dict[str, object] = {}
        sources: dict[str, str] = {"home": "flag" if flags.get("_home_flag") else
                                   ("env" if os.environ.get("KAMADO_HOME") else "default")}
        for s in SETTINGS:
            value, source = s.default, "default"
            if s.name in file_values:
                value, source = _coerce(file_values[s.name], s.default), "config"
            if os.environ.get(s.env) not in (None, ""):
                value, source = _coerce(os.environ[s.env], s.default), "env"
            if flags.get(s.name) is not None:
                value, source = _coerce(flags[s.name], s.default), "flag"
            values[s.name] = value
            sources[s.name] = source
        cfg = cls(home=home, **values)
        cfg.sources = sources
        if not (len(cfg.account_id) == 12 and cfg.account_id.isdigit()):
            raise ValueError(f"account_id must be 12 digits, got {cfg.account_id!r}")
        return cfg

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'kamado.db'}"

    @property
    def objects_dir(self) -> Path:
        return self.home / "objects"

    @property
    def endpoint_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    def describe(self) -> list[tuple[str, str, str, str]]:
        """(name, value, source, env var) rows, secrets masked."""
        rows = [("home", str(self.home), self.sources.get("home", "default"), "KAMADO_HOME")]
        for s in SETTINGS:
            value = getattr(self, s.name)
            if "secret" in s.name and value:
                value = value[:4] + "…"
            rows.append((s.name, str(value), self.sources.get(s.name, "default"), s.env))
        return rows


__all__ = ["Config", "SETTINGS", "default_home", "fields"]
