"""What every SageMaker job family does alike when a user stops or deletes one."""

from __future__ import annotations

from kamado.errors import ValidationError

TERMINAL = ("Completed", "Failed", "Stopped")


def begin_stop(resources, ctx, type: str, name: str, label: str, change=None):
    """Mark an InProgress job Stopping under a row lock; the job, or None if it already was
    stopping (a repeated stop request is not an error). Any other status is refused."""
    with resources.transaction():
        job = resources.get(ctx, type, name, for_update=True)
        if job.status == "Stopping":
            return None
        if job.status != "InProgress":
            raise ValidationError(f"The request was rejected because the {label} is in status "
                                  f"{job.status}.")
        resources.update(ctx, type, name, change or (lambda d: d), status="Stopping")
    return job


def delete_ended(resources, ctx, type: str, name: str, label: str):
    """Delete a job that has ended; the deleted job. One still running is refused."""
    with resources.transaction():
        job = resources.get(ctx, type, name, for_update=True)
        if job.status not in TERMINAL:
            raise ValidationError(f"{label[0].upper()}{label[1:]} {name} is {job.status}; only "
                                  f"a {label} that is Completed, Failed or Stopped can be "
                                  "deleted.")
        resources.delete(ctx, type, name)
    return job
