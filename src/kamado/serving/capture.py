"""Data capture: sampled requests and responses of an endpoint written to S3 as SageMaker
writes them (inference-contract.md §9, model-monitor.md §2).

One JSON object per line, in files under
``<DestinationS3Uri>/<EndpointName>/<VariantName>/<yyyy>/<mm>/<dd>/<HH>/<MM>-<SS>-<mmm>-<uuid>.jsonl``.
Records are buffered and written every ``FLUSH_SECONDS`` (AWS delivers within minutes) and when
the endpoint stops, so a captured record is in S3 a second or so after its request.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import random
import threading
import uuid
from collections import defaultdict

log = logging.getLogger("kamado.serving")

FLUSH_SECONDS = 1.0
DEFAULT_CSV = ("text/csv",)
DEFAULT_JSON = ("application/json",)


def _encoding(content_type: str | None, csv_types, json_types) -> str:
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if base in csv_types:
        return "CSV"
    if base in json_types:
        return "JSON"
    return "BASE64"


def _payload(data: bytes, content_type: str | None, mode: str, csv_types, json_types) -> dict:
    encoding = _encoding(content_type, csv_types, json_types)
    if encoding != "BASE64":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            encoding = "BASE64"
    if encoding == "BASE64":
        text = base64.b64encode(data).decode("ascii")
    return {"observedContentType": content_type or "", "mode": mode, "data": text,
            "encoding": encoding}


class CaptureWriter:
    def __init__(self, config: dict, endpoint: str, write) -> None:
        """``config`` is the endpoint configuration's DataCaptureConfig; ``write(uri, bytes)``
        puts an object."""
        self.endpoint = endpoint
        self.enabled = bool(config.get("EnableCapture", True))
        self.percentage = float(config["InitialSamplingPercentage"])
        self.destination = config["DestinationS3Uri"].rstrip("/")
        modes = {o["CaptureMode"] for o in config.get("CaptureOptions") or []}
        self.inputs = bool(modes & {"Input", "InputAndOutput"}) or not modes
        self.outputs = bool(modes & {"Output", "InputAndOutput"}) or not modes
        header = config.get("CaptureContentTypeHeader") or {}
        self.csv_types = tuple(t.lower() for t in header.get("CsvContentTypes") or DEFAULT_CSV)
        self.json_types = tuple(t.lower() for t in header.get("JsonContentTypes") or DEFAULT_JSON)
        self._write = write
        self._buffer: dict[str, list[str]] = defaultdict(list)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"capture-{endpoint}")
        self._thread.start()

    def sampled(self) -> bool:
        return self.enabled and random.uniform(0, 100) < self.percentage

    def record(self, variant: str, *, request: bytes, request_type: str | None,
               response: bytes | None, response_type: str | None, inference_id: str | None,
               custom_attributes: str | None = None) -> None:
        captured: dict = {}
        if self.inputs:
            captured["endpointInput"] = _payload(request, request_type, "INPUT",
                                                 self.csv_types, self.json_types)
        if self.outputs and response is not None:
            captured["endpointOutput"] = _payload(response, response_type, "OUTPUT",
                                                  self.csv_types, self.json_types)
        metadata = {"eventId": str(uuid.uuid4()),
                    "inferenceTime": dt.datetime.now(dt.timezone.utc).strftime(
                        "%Y-%m-%dT%H:%M:%SZ")}
        if inference_id:
            metadata["inferenceId"] = inference_id
        if custom_attributes:
            metadata["customAttributes"] = custom_attributes
        line = json.dumps({"captureData": captured, "eventMetadata": metadata,
                           "eventVersion": "0"}, separators=(",", ":"))
        with self._lock:
            self._buffer[variant].append(line)

    def flush(self) -> None:
        with self._lock:
            buffered, self._buffer = self._buffer, defaultdict(list)
        now = dt.datetime.now(dt.timezone.utc)
        for variant, lines in buffered.items():
            key = (f"{self.destination}/{self.endpoint}/{variant}/{now:%Y/%m/%d/%H}/"
                   f"{now:%M-%S}-{now.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl")
            try:
                self._write(key, ("\n".join(lines) + "\n").encode())
            except Exception:  # noqa: BLE001 - capture must never fail an invocation
                log.exception("endpoint %s: could not write captured data to %s",
                              self.endpoint, key)

    def _loop(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.flush()
