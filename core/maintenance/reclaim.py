"""Reclaim: jobs whose lease ran out (their worker died) go back to pending, or fail."""

import logging

from core.drivers import get_driver
from core.maintenance.base import Result, Task, TaskRun, done, plural

logger = logging.getLogger("queueadmin.maintenance")


def run(run: TaskRun) -> Result:
    """Reclaim every job whose lease passed, a driver batch at a time."""
    driver = get_driver()
    reclaimed: list[tuple[int, str]] = []
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
)
