"""Cron: enqueue the jobs of schedules whose fire time has come."""

from core.maintenance.base import Result, Task, TaskRun, done, plural
from core.scheduling import cron


def run(run: TaskRun) -> Result:
    """One job per due schedule (exactly one per fire time, by its idempotency key)."""
    jobs = []
    while batch := cron.enqueue_due(run.now):
        jobs += batch
        if len(batch) < cron.BATCH or run.out_of_time():
            break
    return done(f"enqueued {plural(len(jobs), 'scheduled job')}", jobs=len(jobs))


TASK = Task(
    name="cron",
    interval_setting="CRON_INTERVAL",
    run=run,
    description="enqueue the jobs of due cron schedules",
)
