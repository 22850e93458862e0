"""Records for the health checks' tests: workers, due jobs, maintenance runs."""

from datetime import timedelta

from django.utils import timezone

from core import maintenance, queue
from core.models import Job, MaintenanceTask, Worker

#: Maintenance task names and intervals, as the command and the API view pass them.
INTERVALS = {name: task.interval for name, task in maintenance.TASKS.items()}


def add_worker(name: str = "w1", heartbeat_age: float = 0.0, **fields) -> Worker:
    """A worker row whose last heartbeat was ``heartbeat_age`` seconds ago."""
    now = timezone.now()
    values = {"host": "secret-host.internal", "pid": 4242, "concurrency": 4, "started_at": now}
    values.update(fields)
    return Worker.objects.create(
        id=name, heartbeat_at=now - timedelta(seconds=heartbeat_age), **values
    )


def due_job(queue_name: str = "default", waited: float = 0.0, **options) -> Job:
    """A pending job of ``queue_name`` due ``waited`` seconds ago (negative: not yet due)."""
    job_type, payload = options.pop("job_type", "test.echo"), options.pop("payload", {"n": 1})
    job = queue.enqueue(job_type, payload, queue=queue_name, **options)
    run_at = timezone.now() - timedelta(seconds=waited)
    Job.objects.filter(pk=job.pk).update(run_at=run_at)
    return job


def maintenance_ran(ago: float = 0.0, names=None) -> None:
    """Record each maintenance task (or those named) as last run ``ago`` seconds ago."""
    at = timezone.now() - timedelta(seconds=ago)
    for name in names or INTERVALS:
        MaintenanceTask.objects.update_or_create(name=name, defaults={"last_run_at": at})


def healthy() -> Worker:
    """Everything a passing report needs: a live worker for every queue, maintenance on time."""
    maintenance_ran()
    return add_worker()
