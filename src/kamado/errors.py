"""The one exception hierarchy of kamado, and its mapping to AWS error codes.

Providers and libraries raise these; the gateway turns them into the error body of the
service's protocol. Every AWS error code that kamado emits is named here or passed explicitly
as ``code=`` by a provider that owns a service-specific code (S3's ``NoSuchKey`` and friends).
"""

from __future__ import annotations


class AwsError(Exception):
    """An error the client should see as ``botocore.exceptions.ClientError``."""

    code: str = "InternalFailure"
    status: int = 400

    def __init__(self, message: str = "", *, code: str | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None, **fields: str) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        # Extra members of the error body, e.g. S3's <BucketName> or <Key>.
        self.fields = fields
        self.headers = headers or {}

    @property
    def sender_fault(self) -> bool:
        return self.status < 500

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, status={self.status})"


# --- common SageMaker-family errors -------------------------------------------------------

class ValidationError(AwsError):
    code = "ValidationException"


class ResourceNotFound(AwsError):
    code = "ResourceNotFound"


class ResourceInUse(AwsError):
    code = "ResourceInUse"


class ResourceLimitExceeded(AwsError):
    code = "ResourceLimitExceeded"


class ConflictError(AwsError):
    code = "ConflictException"


class ThrottlingError(AwsError):
    code = "ThrottlingException"


class InternalFailure(AwsError):
    code = "InternalFailure"
    status = 500


# --- protocol-level errors -------------------------------------------------------------------

class UnknownOperation(AwsError):
    """The request names no operation of the service's model."""

    code = "UnknownOperationException"


class NotImplementedOperation(AwsError):
    """An operation that exists in the service's model but that kamado does not serve yet."""

    code = "NotImplemented"
    status = 501

    def __init__(self, service: str, operation: str) -> None:
        super().__init__(
            f"kamado does not implement {service}:{operation} yet; "
            f"run 'kamado ops {service}' to list the operations it serves.")
        self.service = service
        self.operation = operation


class SerializationError(AwsError):
    """The request body could not be read at all (bad JSON, bad XML)."""

    code = "SerializationException"


# --- authentication ---------------------------------------------------------------------------

class AuthFailure(AwsError):
    """SigV4 refused the request. ``reason`` is protocol-neutral; see ``auth_error_code``."""

    status = 403

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# AWS names the same failure differently per protocol family; this table is the one place
# that knows how. Reasons: missing, unknown_key, signature, expired, malformed.
_AUTH_CODES: dict[str, dict[str, tuple[str, int]]] = {
    "json": {
        "missing": ("MissingAuthenticationTokenException", 403),
        "unknown_key": ("UnrecognizedClientException", 403),
        "signature": ("InvalidSignatureException", 403),
        "expired": ("InvalidSignatureException", 403),
        "malformed": ("IncompleteSignatureException", 403),
    },
    "query": {
        "missing": ("MissingAuthenticationToken", 403),
        "unknown_key": ("InvalidClientTokenId", 403),
        "signature": ("SignatureDoesNotMatch", 403),
        "expired": ("RequestExpired", 400),
        "malformed": ("IncompleteSignature", 400),
    },
    "rest-xml": {
        "missing": ("AccessDenied", 403),
        "unknown_key": ("InvalidAccessKeyId", 403),
        "signature": ("SignatureDoesNotMatch", 403),
        "expired": ("RequestTimeTooSkewed", 403),
        "presign_expired": ("AccessDenied", 403),
        "malformed": ("AuthorizationHeaderMalformed", 400),
    },
}
_AUTH_CODES["rest-json"] = _AUTH_CODES["json"]


def auth_error_code(protocol: str, reason: str) -> tuple[str, int]:
    table = _AUTH_CODES.get(protocol, _AUTH_CODES["json"])
    return table.get(reason) or table["signature"]


def resolve(error: AwsError, protocol: str, error_shapes: frozenset[str] = frozenset()
            ) -> AwsError:
    """Give protocol-neutral errors (auth) the code and status the protocol's service uses,
    and a validation failure the name its service gives it (sagemaker-runtime and STS call it
    ValidationError, SageMaker ValidationException)."""
    if isinstance(error, AuthFailure):
        error.code, error.status = auth_error_code(protocol, error.reason)
    elif (error.code == "ValidationException" and "ValidationException" not in error_shapes
          and "ValidationError" in error_shapes):
        error.code = "ValidationError"
    return error
