"""Reclaim: jobs whose lease ran out (their worker died) go back to pending, or fail.

Run by hand with an age (``queue_maintenance --reclaim-older-than 30``), it also
takes back processing jobs started longer ago than that, leased or not: their
lease is ended first, so the reclaim below treats them as lost (a worker still
running one can no longer record its outcome).
"""

import logging
from contextlib import nullcontext
from datetime import timedelta

from django.db import transaction

from core.drivers import get_driver
from core.maintenance.base import Result, Task, TaskRun, done, plural
from core.models import Job, JobStatus

logger = logging.getLogger("queueadmin.maintenance")


def run(run: TaskRun) -> Result:
    """Reclaim every job whose lease passed, a driver batch at a time."""
    driver = get_driver()
    reclaimed: list[tuple[int, str]] = []
    with transaction.atomic() if run.older_than is not None else nullcontext():
        if run.older_than is not None:
            # Ended a second back, so the driver's "lease passed" holds whatever its clock.
            Job.objects.filter(
                status=JobStatus.PROCESSING,
                started_at__lt=run.now - timedelta(seconds=run.older_than),
            ).update(locked_until=run.now - timedelta(seconds=1))
        while batch := driver.reclaim_expired():
            reclaimed += batch
            if run.out_of_time():
                break
    if reclaimed:
        logger.warning(
            "reclaimed %d job(s) with expired leases: %s",
            len(reclaimed),
            ", ".join(str(job_id) for job_id, _ in reclaimed[:100]),
        )
    failed = sum(1 for _, status in reclaimed if status == "failed")
    pending = len(reclaimed) - failed
    return done(
        f"reclaimed {plural(len(reclaimed), 'job')} ({pending:,} pending again, {failed:,} failed)",
        pending=pending,
        failed=failed,
    )


TASK = Task(
    name="reclaim",
    interval_setting="MAINTENANCE_INTERVAL",
    run=run,
    description="return jobs whose lease expired to pending, or fail them",
    takes_age=True,
)
