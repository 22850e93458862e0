"""Prune workers: forget Worker rows whose process stopped heartbeating long ago."""

from datetime import timedelta

from core import conf
from core.maintenance.base import Result, Task, TaskRun, done, plural
from core.models import Worker


def run(run: TaskRun) -> Result:
    """Delete Worker rows whose last heartbeat is older than WORKER_PRUNE_AFTER."""
    after = conf.get("WORKER_PRUNE_AFTER")
    if after is None:
        return done("disabled (WORKER_PRUNE_AFTER is None)")
    cutoff = run.now - timedelta(seconds=after)
    deleted, _ = Worker.objects.filter(heartbeat_at__lt=cutoff).delete()
    return done(f"deleted {plural(deleted, 'worker row')}", workers=deleted)


TASK = Task(
    name="prune_workers",
    interval_setting="PRUNE_INTERVAL",
    run=run,
    description="delete worker rows without a heartbeat for WORKER_PRUNE_AFTER seconds",
)
