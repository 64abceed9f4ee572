"""The ``context`` a handler may take as its last argument (inference-contract.md §4.1): the
request's headers and a way to set response headers, in the multi-model-server ``Context``
shape (``get_request_header(0, name)``, ``set_response_header(0, name, value)``) so that
scripts written for AWS's containers run unchanged. kamado serves one request per call,
hence the index is always 0."""

from __future__ import annotations

CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"


class Context:
    def __init__(self, request_headers: dict[str, str] | None = None,
                 model_dir: str | None = None) -> None:
        # header names compared case-insensitively, as HTTP has them
        self._request = {k.lower(): v for k, v in (request_headers or {}).items()}
        self.response_headers: dict[str, str] = {}
        self.response_content_type: str | None = None
        self.system_properties = {"model_dir": model_dir, "gpu_id": None, "batch_size": 1}

    # --- the multi-model-server API --------------------------------------------------------------
    def get_request_header(self, idx: int, key: str) -> str | None:
        return self._request.get(key.lower())

    def get_all_request_header(self, idx: int) -> dict[str, str]:
        return dict(self._request)

    def set_response_header(self, idx: int, key: str, value: str) -> None:
        self.response_headers[key] = str(value)

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.response_content_type = value

    # --- shortcuts -------------------------------------------------------------------------------
    @property
    def custom_attributes(self) -> str | None:
        """The client's ``CustomAttributes`` (InvokeEndpoint), passed through verbatim."""
        return self._request.get(CUSTOM_ATTRIBUTES.lower())

    @custom_attributes.setter
    def custom_attributes(self, value: str) -> None:
        """The response's ``CustomAttributes``; never echoed unless a handler sets it."""
        self.response_headers[CUSTOM_ATTRIBUTES] = value
