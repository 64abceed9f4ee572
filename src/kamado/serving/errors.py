"""Errors a handler raises to choose the response status, as the inference toolkit's
``BaseInferenceToolkitError`` lets a user script do (inference-contract.md §4.3).

Kept free of HTTP machinery: built-in algorithms' handlers import it without pulling in
the server."""

from __future__ import annotations


class InferenceError(Exception):
    """A request the model server answers with ``status_code`` and ``message`` as the body."""

    status_code = 500

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class BadRequestError(InferenceError):
    """The payload is of a supported type but its content cannot be used."""

    status_code = 400


class UnsupportedFormatError(InferenceError):
    """The request's Content-Type is not one the model reads."""

    status_code = 415


class UnsupportedAcceptError(InferenceError):
    """None of the request's Accept types is one the model writes."""

    status_code = 406


class NoContentError(InferenceError):
    """An empty request body, which XGBoost answers with 204 and no body."""

    status_code = 204

    def __init__(self, message: str = "") -> None:
        super().__init__(message)


class ModelLoadError(Exception):
    """The model cannot be loaded: the server exits non-zero with this message."""
