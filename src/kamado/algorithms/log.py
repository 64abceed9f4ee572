"""Log lines in the shape AWS's first-party algorithms (Linear Learner, K-Means, PCA, k-NN,
Random Cut Forest, Factorization Machines, IP Insights, LDA) print them, because the service's
auto-populated metric regexes (and users' habits) read exactly these:

    [07/17/2024 19:38:23 INFO 139933004003136] #quality_metric: host=algo-1, test mse <loss>=13.7
"""

from __future__ import annotations

import sys
import threading
import time


def _number(value: float) -> str:
    return repr(float(value))


class JobLog:
    def __init__(self, host: str = "algo-1", stream=None):
        self.host = host
        self.stream = stream

    def _write(self, level: str, message: str) -> None:
        stamp = time.strftime("%m/%d/%Y %H:%M:%S")
        print(f"[{stamp} {level} {threading.get_ident()}] {message}",
              file=self.stream or sys.stdout, flush=True)

    def info(self, message: str) -> None:
        self._write("INFO", message)

    def warning(self, message: str) -> None:
        self._write("WARNING", message)

    def quality(self, channel: str, name: str, kind: str, value: float,
                epoch: int | None = None) -> None:
        at = f"epoch={epoch}, " if epoch is not None else ""
        self.info(f"#quality_metric: host={self.host}, {at}{channel} {name} <{kind}>="
                  f"{_number(value)}")

    def score(self, channel: str, name: str, value: float) -> None:
        self.info(f"#{channel}_score ({self.host}) : ({name!r}, {_number(value)})")

    def early_stopping(self, epoch: int, criteria: str, value: float) -> None:
        self.info(f"#early_stopping_criteria_metric: host={self.host}, epoch={epoch}, "
                  f"criteria={criteria}, value={_number(value)}")

    def progress(self, percent: float) -> None:
        self.info(f"#progress_metric: host={self.host}, completed {percent:g} % of epochs")

    def throughput(self, records_per_second: float) -> None:
        self.info(f"#throughput_metric: host={self.host}, train throughput="
                  f"{_number(records_per_second)} records/second")


class SilentLog(JobLog):
    """For library use: the same calls, nothing printed."""

    def _write(self, level: str, message: str) -> None:
        pass
