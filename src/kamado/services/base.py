"""What every provider shares: the request context and the provider base class.

A provider is one resource family of one service. Its public methods are named after the
operations they serve in snake_case (``CreateExperiment`` -> ``create_experiment``), take the
request already parsed and validated against botocore's model, and return a plain dict shaped
like the operation's output. Errors are raised as ``kamado.errors.AwsError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from kamado.platform import Platform


@dataclass
class RequestContext:
    """Who asks, where: the account and region come from the request's SigV4 scope."""

    account_id: str
    region: str
    service: str = ""
    operation: str = ""
    request_id: str = ""
    access_key_id: str = ""
    # Raw HTTP facts some providers need (S3 virtual-host bucket, request headers for conditionals).
    headers: dict[str, str] = field(default_factory=dict)

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (f"arn:aws:{service}:{self.region if region else ''}:"
                f"{self.account_id if account else ''}:{resource}")


def snake_case(operation: str) -> str:
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", operation)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", s).lower()


class Provider:
    """Base class of every provider; ``service`` is the botocore service name it serves."""

    service: ClassVar[str] = ""

    def __init__(self, platform: "Platform") -> None:
        self.platform = platform

    @classmethod
    def operations(cls, operation_names: list[str]) -> dict[str, str]:
        """Map the model's operation names this provider implements to method names."""
        found = {}
        for op in operation_names:
            method = snake_case(op)
            if callable(getattr(cls, method, None)):
                found[op] = method
        return found


Handler = Any
