"""Prune events: delete old JobEvent rows of jobs that stay (EVENT_RETENTION).

Jobs are pruned with all their events (prune_jobs); this task keeps the history
of long-lived jobs (a waiting job, a failed one kept for months) from growing
without end. EVENT_RETENTION None (the default) leaves events to prune_jobs.

The history still reads well afterwards: a job's ``added`` fact comes from its
``created_at`` (core.jobs.lookup.job_events), and the stored ``added`` rows are
kept. The events are walked by id, oldest first (the primary key: no index on
their time is needed), one chunk per transaction, stopping at the first chunk
holding nothing old enough.
"""

from datetime import timedelta

from django.db import transaction

from core import conf
from core.durations import format_duration, parse_duration
from core.maintenance.base import Result, Task, TaskRun, done, plural
from core.models import EventType, JobEvent


def retention() -> float | None:
    """EVENT_RETENTION in seconds (a duration: seconds, ``"30d"``, a timedelta), or None."""
    value = conf.get("EVENT_RETENTION")
    if value is None:
        return None
    return parse_duration(value, field="QUEUEADMIN['EVENT_RETENTION']")


def run(run: TaskRun) -> Result:
    """Delete the events older than the retention (or ``run.older_than``), by chunks."""
    age = retention() if run.older_than is None else run.older_than
    if age is None:
        return done("EVENT_RETENTION is not set: events go with their jobs", events=0)
    cutoff = run.now - timedelta(seconds=age)
    chunk = conf.get("BULK_CHUNK_SIZE")
    total, last, more = 0, 0, False
    while True:
        with transaction.atomic():
            rows = list(
                JobEvent.objects.filter(id__gt=last)
                .exclude(type=EventType.ADDED)
                .order_by("id")
                .values_list("id", "at")[:chunk]
            )
            old = [event_id for event_id, at in rows if at < cutoff]
            if old:
                total += JobEvent.objects.filter(id__in=old).delete()[0]
        if not old or len(rows) < chunk:
            break
        last = rows[-1][0]
        if run.out_of_time():
            more = True
            break
    summary = f"deleted {plural(total, 'event')} older than {format_duration(age)}"
    if more:
        summary += "; stopped at the time limit, the next run goes on"
    return done(summary, events=total)


TASK = Task(
    name="prune_events",
    interval_setting="PRUNE_INTERVAL",
    run=run,
    description="delete job events older than EVENT_RETENTION of jobs that stay",
    takes_age=True,
)
