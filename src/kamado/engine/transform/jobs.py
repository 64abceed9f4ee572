"""Transform jobs in the engine: queued into its slots, stopped, and found again when a server
starts (the way :meth:`Engine.recover` treats training jobs)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kamado.engine.process import end_group
from kamado.engine.transform.run import TYPE, TransformRun
from kamado.store.types import now

if TYPE_CHECKING:
    from kamado.engine.engine import Engine, Scope

log = logging.getLogger("kamado.engine")

# A job interrupted by a server restart runs again from the start this many times (its
# outputs are whole objects, written again); then it fails with the reason.
RESTARTS = 1


class TransformJobs:
    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        self.resources = engine.platform.resources

    def submit(self, scope: "Scope", name: str, arn: str) -> None:
        from kamado.engine.engine import Scope

        self.engine.submit(TransformRun(self.engine, Scope(scope.account_id, scope.region),
                                        name, arn))

    def end(self, scope: "Scope", name: str, status: str, reason: str | None = None) -> None:
        def change(data):
            data = {**data, "TransformEndTime": now()}
            data.pop("_processes", None)
            if reason:
                data["FailureReason"] = reason
            return data
        self.resources.update(scope, TYPE, name, change, status=status)

    def recover(self) -> None:
        from kamado.engine.engine import Scope

        for job in self.resources.scan(TYPE, statuses=("InProgress", "Stopping")):
            scope = Scope(job.account_id, job.region)
            for pid, started in (job.data.get("_processes") or {}).values():
                if end_group(pid, started):
                    log.warning("ended the orphaned model server (pid %s) of transform job %s",
                                pid, job.name)
            if job.status == "Stopping":
                self.end(scope, job.name, "Stopped")
            elif not job.data.get("_started"):
                self.submit(scope, job.name, job.arn)  # it never left the queue
            elif job.data.get("_restarts", 0) >= RESTARTS:
                self.end(scope, job.name, "Failed",
                         "InternalServerError: kamado stopped while the transform job ran "
                         f"({job.data.get('_restarts', 0) + 1} times); it was not run again. "
                         "Outputs written before that are in S3OutputPath; create a new job "
                         "to transform the input again.")
            else:
                def again(data):
                    data = {**data, "_restarts": data.get("_restarts", 0) + 1,
                            "_started": False}
                    data.pop("_processes", None)
                    return data
                self.resources.update(scope, TYPE, job.name, again)
                log.warning("transform job %s was interrupted by a restart; running it again",
                            job.name)
                self.submit(scope, job.name, job.arn)
