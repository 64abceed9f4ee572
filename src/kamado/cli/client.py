"""The CLI as a client of a running server: boto3 with the home's root key."""

from __future__ import annotations

from typing import Optional

import boto3
from botocore.config import Config as BotoConfig

from kamado.config import Config
from kamado.credentials import root_key


def client(config: Config, service: str, endpoint_url: Optional[str] = None):
    akid, secret = root_key(config)
    return boto3.client(service, endpoint_url=endpoint_url or config.endpoint_url,
                        region_name=config.region, aws_access_key_id=akid,
                        aws_secret_access_key=secret,
                        config=BotoConfig(retries={"max_attempts": 3, "mode": "standard"}))
