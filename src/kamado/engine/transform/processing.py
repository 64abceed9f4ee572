"""DataProcessing: what part of each input record the model sees (InputFilter), the model's
answer joined with the record (JoinSource=Input), and what part of that is kept
(OutputFilter) — inference-contract.md §12.5.

CSV records are rows of strings, so the input's columns come back exactly as they were
written; JSON records are values. A joined CSV row is the input's columns followed by the
output's; a joined JSON object gets the output under ``SageMakerOutput`` (a non-object input
is wrapped as ``SageMakerInput``).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from kamado.engine.transform.jsonpath import JsonPath, PathError

CSV, JSON = "csv", "json"
_KINDS = {"text/csv": CSV, "application/json": JSON, "application/jsonlines": JSON,
          "application/x-jsonlines": JSON, "application/jsonl": JSON}


class ProcessingError(Exception):
    """A record or an answer DataProcessing cannot handle; the message says why."""


def kind_of(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return _KINDS.get(content_type.split(";")[0].strip().lower())


def _csv_row(data: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    if len(rows) != 1:
        raise ProcessingError(f"expected one CSV row, found {len(rows)}")
    return rows[0]


def _csv_text(values: Any) -> bytes:
    row = values if isinstance(values, list) else [values]
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(
        [json.dumps(v) if isinstance(v, (dict, list)) else v for v in row])
    return out.getvalue().encode()


def _number(text: str) -> Any:
    """A CSV field moving into JSON: a number when it reads as one."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


class DataProcessing:
    def __init__(self, spec: dict | None, content_type: str | None) -> None:
        spec = spec or {}
        self.input_filter = JsonPath(spec.get("InputFilter"))
        self.output_filter = JsonPath(spec.get("OutputFilter"))
        self.join = (spec.get("JoinSource") or "None") == "Input"
        self.active = self.join or not (self.input_filter.identity
                                         and self.output_filter.identity)
        self.input_kind = kind_of(content_type)

    @staticmethod
    def check(spec: dict | None, content_type: str | None, accept: str | None) -> None:
        """What CreateTransformJob refuses; raises ValueError with the reason."""
        processing = DataProcessing(spec, content_type)
        if not processing.active:
            return
        for what, value in (("TransformInput.ContentType", content_type),
                            ("TransformOutput.Accept", accept)):
            if value and kind_of(value) is None:
                raise ValueError(f"DataProcessing works on CSV and JSON only; {what} is {value}. "
                                 "Use text/csv, application/json or application/jsonlines.")
        if processing.input_kind is None:
            raise ValueError("DataProcessing needs TransformInput.ContentType (text/csv, "
                             "application/json or application/jsonlines) to read records.")

    # --- input ------------------------------------------------------------------------------
    def parse_input(self, data: bytes) -> Any:
        try:
            if self.input_kind == CSV:
                return _csv_row(data)
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProcessingError(f"the record is not valid {self.input_kind.upper()}: {exc}") from None

    def select_input(self, parsed: Any) -> bytes:
        try:
            part = self.input_filter.apply(parsed)
        except PathError as exc:
            raise ProcessingError(f"InputFilter {exc}") from None
        if self.input_kind == CSV:
            return _csv_text(part)
        return json.dumps(part, separators=(",", ":")).encode()

    # --- output -----------------------------------------------------------------------------
    def finish(self, original: Any, answer: bytes, answer_kind: str | None) -> bytes:
        """One record's line of the output object."""
        if answer_kind is None:
            raise ProcessingError("the model answered in a format DataProcessing cannot read "
                                  "(set TransformOutput.Accept to text/csv, application/json "
                                  "or application/jsonlines)")
        try:
            output = (_csv_row(answer) if answer_kind == CSV else json.loads(answer))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProcessingError(f"the model's answer is not valid {answer_kind.upper()}: "
                                  f"{exc}") from None
        as_csv = answer_kind == CSV and (not self.join or self.input_kind == CSV)
        if self.join:
            if self.input_kind == CSV and answer_kind == CSV:
                joined: Any = list(original) + list(output)
            else:
                value = ([_number(v) for v in output] if answer_kind == CSV else output)
                if answer_kind == CSV and len(value) == 1:
                    value = value[0]
                source = ([_number(v) for v in original] if self.input_kind == CSV
                          else original)
                if isinstance(source, dict):
                    if "SageMakerOutput" in source:
                        raise ProcessingError("the input record already has a SageMakerOutput "
                                              "member, which JoinSource=Input writes")
                    joined = {**source, "SageMakerOutput": value}
                else:
                    joined = {"SageMakerInput": source, "SageMakerOutput": value}
        else:
            joined = output
        try:
            kept = self.output_filter.apply(joined)
        except PathError as exc:
            raise ProcessingError(f"OutputFilter {exc}") from None
        if as_csv:
            return _csv_text(kept)
        return json.dumps(kept, separators=(",", ":")).encode()


def per_record(answer: bytes, count: int, kind: str | None) -> list[bytes]:
    """A multi-record answer cut into one answer per record: by line (CSV, JSON Lines, a
    built-in's batch output), or the elements of a JSON array, or of the one array member of
    a JSON object (``{"predictions": [...]}``)."""
    if count == 1:
        return [answer.strip()]
    lines = [line for line in answer.splitlines() if line.strip()]
    if len(lines) == count:
        return lines
    if kind == JSON:
        try:
            doc = json.loads(answer)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and len(doc) == 1:
            doc = next(iter(doc.values()))
        if isinstance(doc, list) and len(doc) == count:
            return [json.dumps(v, separators=(",", ":")).encode() for v in doc]
    raise ProcessingError(f"the model answered a request of {count} records with "
                          f"{len(lines)} lines, so its answers cannot be matched to the "
                          "records; use BatchStrategy SingleRecord or a line-per-record Accept")
