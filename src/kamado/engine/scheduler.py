"""At most N jobs run at once; the rest wait their turn in submission order.

A task is any object with ``key`` and ``run()``. Workers are threads: the work of a job
happens in its own process group, a thread only watches it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Protocol

log = logging.getLogger("kamado.engine")


class Task(Protocol):
    key: str

    def run(self) -> None: ...


class Scheduler:
    def __init__(self, slots: int) -> None:
        self.slots = max(1, int(slots))
        self._queue: "OrderedDict[str, Task]" = OrderedDict()
        self._running: dict[str, Task] = {}
        self._cv = threading.Condition()
        self._closed = False
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        with self._cv:
            if self._workers:
                return
            for i in range(self.slots):
                t = threading.Thread(target=self._work, name=f"kamado-slot-{i + 1}", daemon=True)
                t.start()
                self._workers.append(t)

    def submit(self, task: Task) -> None:
        with self._cv:
            if task.key in self._queue or task.key in self._running:
                return
            self._queue[task.key] = task
            self._cv.notify()

    def cancel(self, key: str) -> bool:
        """Take a task that has not started out of the queue; False if it is not queued."""
        with self._cv:
            return self._queue.pop(key, None) is not None

    def running(self, key: str) -> Task | None:
        with self._cv:
            return self._running.get(key)

    def queued(self) -> list[str]:
        with self._cv:
            return list(self._queue)

    def active(self) -> list[Task]:
        with self._cv:
            return list(self._running.values())

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._closed:
                    self._cv.wait()
                if self._closed:
                    return
                key, task = self._queue.popitem(last=False)
                self._running[key] = task
            try:
                task.run()
            except Exception:  # noqa: BLE001 - a task's own failure must not kill the slot
                log.exception("task %s failed inside the engine", key)
            finally:
                with self._cv:
                    self._running.pop(key, None)

    def close(self) -> list[Task]:
        """Stop taking work; return the tasks still running so the caller can end them."""
        with self._cv:
            self._closed = True
            self._queue.clear()
            self._cv.notify_all()
            return list(self._running.values())
