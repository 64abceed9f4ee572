"""A job's log: lines go to the Logs API as they come, and metric definitions are applied to
each line on the way, as SageMaker does with a training job's CloudWatch stream.

Tabs are written as ``#011`` (SageMaker's logs carry syslog's escape, and the built-in
algorithms' metric regexes depend on it). Lines are batched: a flush at most every
``FLUSH_SECONDS`` or ``FLUSH_LINES`` keeps the store's write rate low for chatty programs
while ``kamado logs -f`` and the SDK still see output within a fraction of a second.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from kamado.store.metrics import MetricPoint

log = logging.getLogger("kamado.engine")

FLUSH_SECONDS = 0.25
FLUSH_LINES = 500
MAX_EVENT_CHARS = 200_000  # a Logs event is at most 256 KiB
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)",
                     re.IGNORECASE)


@dataclass(frozen=True)
class MetricRule:
    name: str
    pattern: re.Pattern

    @classmethod
    def compile_all(cls, definitions: Iterable[dict]) -> list["MetricRule"]:
        rules = []
        for d in definitions:
            try:
                rules.append(cls(d["Name"], re.compile(d["Regex"])))
            except re.error as exc:
                raise ValueError(f"MetricDefinitions {d['Name']}: the regex does not compile "
                                 f"({exc})") from None
        return rules


def match_metrics(rules: list[MetricRule], line: str, timestamp: int) -> list[MetricPoint]:
    """The points one log line yields: capture group 1 (or the whole match) as a float."""
    points = []
    for rule in rules:
        m = rule.pattern.search(line)
        if not m:
            continue
        text = m.group(1) if m.groups() else m.group(0)
        number = _NUMBER.search(text or "")
        if number:
            try:
                points.append(MetricPoint(rule.name, float(number.group(0)), timestamp))
            except ValueError:
                pass
    return points


class JobLog:
    """Collects lines from a job's programs and writes them to one log stream."""

    def __init__(self, write_events: Callable[[list[tuple[int, str]]], None],
                 write_points: Callable[[list[MetricPoint]], None],
                 rules: list[MetricRule]) -> None:
        self._write_events = write_events
        self._write_points = write_points
        self._rules = rules
        self._lines: list[tuple[int, str]] = []
        self._points: list[MetricPoint] = []
        self._steps: dict[str, int] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self.tail: list[str] = []  # the last lines, for a failure reason when a program says nothing else
        self._last_error = ""  # the last non-blank stderr line
        self._flusher = threading.Thread(target=self._flush_loop, daemon=True, name="joblog")
        self._flusher.start()

    def line(self, stream: str, text: str) -> None:
        text = text.replace("\t", "#011")[:MAX_EVENT_CHARS]
        now = int(time.time() * 1000)
        points = match_metrics(self._rules, text, now) if self._rules else []
        with self._lock:
            for p in points:
                step = self._steps.get(p.name, 0)
                self._steps[p.name] = step + 1
                self._points.append(MetricPoint(p.name, p.value, p.timestamp, step))
            self._lines.append((now, text))
            if stream == "stderr" or text.strip():
                self.tail = (self.tail + [text])[-20:]
            if stream == "stderr" and text.strip():
                self._last_error = text.strip()
            if len(self._lines) >= FLUSH_LINES:
                self._wake.set()

    def last_words(self) -> str:
        """What a program that failed without a failure file said last: its last stderr line
        (stdout and stderr are read on threads of their own, so the order in which their last
        lines arrive is not the order they were written), else its last line."""
        with self._lock:
            if self._last_error:
                return self._last_error
            return next((line.strip() for line in reversed(self.tail) if line.strip()), "")

    def system(self, text: str) -> None:
        """A line kamado itself adds to the job's log (status changes, uploads)."""
        self.line("system", text)

    def flush(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
            points, self._points = self._points, []
        try:
            if lines:
                self._write_events(lines)
            if points:
                self._write_points(points)
        except Exception:  # noqa: BLE001 - a failed log write must not fail the job
            log.exception("could not write a job's log")

    def _flush_loop(self) -> None:
        while not self._closed:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._flusher.join(5)
        self.flush()
