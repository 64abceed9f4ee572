"""The root key pair: created at first start, kept in ``<home>/credentials``, offered to boto3
as the ``kamado`` profile in the user's AWS shared files (never touching another profile)."""

from __future__ import annotations

import os
import secrets
import string
from pathlib import Path

from kamado.config import Config

PROFILE = "kamado"
_KEY_ALPHABET = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


def generate_key_pair() -> tuple[str, str]:
    akid = "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    return akid, secret


def _read_ini_section(path: Path, section: str) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.exists():
        return values
    current = None
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1].strip()
        elif current == section and "=" in stripped and not stripped.startswith(("#", ";")):
            k, _, v = stripped.partition("=")
            values[k.strip()] = v.strip()
    return values


def replace_ini_section(path: Path, section: str, values: dict[str, str]) -> None:
    """Write ``[section]`` with ``values``, leaving every other line of the file as it was."""
    lines = path.read_text().splitlines() if path.exists() else []
    out: list[str] = []
    skipping = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            skipping = stripped[1:-1].strip() == section
            if skipping:
                continue
        if not skipping:
            out.append(line)
    while out and not out[-1].strip():
        out.pop()
    if out:
        out.append("")
    out.append(f"[{section}]")
    out.extend(f"{k} = {v}" for k, v in values.items())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".kamado-tmp")
    tmp.write_text("\n".join(out) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def root_key(config: Config) -> tuple[str, str]:
    """The account's root key: explicit settings win, else the home's file, else a new pair."""
    if config.access_key_id and config.secret_access_key:
        return config.access_key_id, config.secret_access_key
    path = config.home / "credentials"
    stored = _read_ini_section(path, PROFILE)
    if stored.get("aws_access_key_id") and stored.get("aws_secret_access_key"):
        return stored["aws_access_key_id"], stored["aws_secret_access_key"]
    akid, secret = generate_key_pair()
    config.home.mkdir(parents=True, exist_ok=True)
    replace_ini_section(path, PROFILE, {"aws_access_key_id": akid, "aws_secret_access_key": secret})
    return akid, secret


def aws_files() -> tuple[Path, Path]:
    creds = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    conf = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    return Path(creds).expanduser(), Path(conf).expanduser()


def write_profile(config: Config, akid: str, secret: str) -> tuple[Path, Path]:
    """Profile ``kamado``: keys, region and endpoint_url, so boto3 finds the server by itself."""
    creds, conf = aws_files()
    replace_ini_section(creds, PROFILE, {"aws_access_key_id": akid, "aws_secret_access_key": secret})
    replace_ini_section(conf, f"profile {PROFILE}",
                        {"region": config.region, "endpoint_url": config.endpoint_url})
    return creds, conf
