"""What the rollup and chart tests share: jobs finished at a chosen moment with chosen
run and wait times, and a run of the rollup task at a chosen time."""

from datetime import datetime, timedelta

from core import queue
from core.maintenance import rollup
from core.maintenance.base import TaskRun
from core.models import Job


def finished(
    at: datetime,
    job_type: str = "test.echo",
    queue_name: str = "default",
    *,
    run: float = 0.0,
    wait: float = 0.0,
    status: str = "completed",
) -> Job:
    """A job that ``status`` (completed or failed) at ``at`` after ``run`` seconds running
    and ``wait`` seconds between its run_at and its start."""
    job = queue.enqueue(job_type, queue=queue_name)
    started = at - timedelta(seconds=run)
    stamp = "completed_at" if status == "completed" else "failed_at"
    Job.objects.filter(pk=job.pk).update(
        status=status,
        started_at=started,
        run_at=started - timedelta(seconds=wait),
        **{stamp: at},
    )
    return job


def run_rollup(now: datetime, deadline: float | None = None):
    """One run of the rollup task as a worker would make it at ``now``; its Result."""
    return rollup.run(TaskRun(name="rollup", worker_id="tester", now=now, deadline=deadline))
