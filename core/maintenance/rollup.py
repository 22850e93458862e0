"""Rollup: write the per-minute job statistics (JobStat) behind the charts and the
run-time histogram, and prune them after STATS_RETENTION_SECONDS.

Each run rolls up every closed minute since the last one it wrote (a minute is
closed ``GRACE`` after it ends, so outcomes committed late still land in it), at
most STATS_CATCHUP_SECONDS back, one statement per minute that the driver
aggregates in the database from the ``completed_at``/``failed_at`` range indexes:
the job table is never scanned. Re-rolling a minute replaces its counts
(``roll_minute``). The pending depth is sampled once per run, by a grouped count,
onto the latest minute it rolled up; minutes caught up late have none. The hours
those minutes belong to are then re-summed into JobStatHour (``roll_hour``), which
the 7-day charts and the Prometheus histogram read.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Max, Sum

from core import conf
from core.drivers import get_driver
from core.drivers.stats import FINISHED_COLUMNS
from core.maintenance.base import Result, Task, TaskRun, done, plural
from core.models import Job, JobStat, JobStatHour, JobStatus

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
#: A minute is rolled up this long after it ended (outcomes stamped just before the
#: minute's end may commit a little after it).
GRACE = timedelta(seconds=10)
#: Seconds the pending-depth count may take (PostgreSQL) before this run skips it.
DEPTH_SECONDS = 2.0


def floor_minute(moment: datetime) -> datetime:
    """The start of the minute holding ``moment``."""
    return moment.replace(second=0, microsecond=0)


def roll_minute(minute: datetime) -> int:
    """Write (replace) the JobStat rows of ``minute`` from the jobs finished in it;
    returns the rows written. Its pending depth, if sampled, is kept."""
    minute = floor_minute(minute)
    with transaction.atomic():
        # Rows whose jobs are gone (a re-run after a delete) must not keep old counts.
        JobStat.objects.filter(minute=minute).update(**dict.fromkeys(FINISHED_COLUMNS, 0))
        return get_driver().rollup_minute(minute, minute + MINUTE)


def roll_hour(hour: datetime) -> int:
    """Write (replace) the JobStatHour rows of ``hour`` as the sums of its JobStat
    minutes (depth: the highest minute); returns the rows written."""
    hour = hour.replace(minute=0, second=0, microsecond=0)
    minutes = JobStat.objects.filter(minute__gte=hour, minute__lt=hour + HOUR).exclude(job_type="")
    # Annotations may not reuse a field's name.
    sums = {f"sum_{name}": Sum(name) for name in FINISHED_COLUMNS}
    grouped = minutes.order_by().values("queue", "job_type").annotate(**sums, top=Max("depth"))
    rows = [
        JobStatHour(
            hour=hour,
            queue=row["queue"],
            job_type=row["job_type"],
            depth=row["top"] or 0,
            **{name: row[f"sum_{name}"] or 0 for name in FINISHED_COLUMNS},
        )
        for row in grouped
    ]
    with transaction.atomic():
        JobStatHour.objects.filter(hour=hour).delete()
        JobStatHour.objects.bulk_create(rows)
    return len(rows)


def sample_depth(minute: datetime) -> int | None:
    """Store the pending jobs per queue and job type now as ``minute``'s depth; returns
    the pending jobs counted, or None when counting took too long (nothing stored)."""
    pending = Job.objects.filter(status=JobStatus.PENDING).order_by()
    grouped = pending.values_list("queue", "job_type").annotate(n=Count("id"))
    counts = get_driver().run_within(DEPTH_SECONDS, lambda: list(grouped))
    if counts is None:
        return None
    minute = floor_minute(minute)
    with transaction.atomic():
        JobStat.objects.filter(minute=minute).exclude(depth=0).update(depth=0)
        JobStat.objects.bulk_create(
            [JobStat(minute=minute, queue=q, job_type=t, depth=n) for q, t, n in counts],
            update_conflicts=True,
            unique_fields=["minute", "queue", "job_type"],
            update_fields=["depth"],
        )
    return sum(n for _, _, n in counts)


def pending_minutes(now: datetime) -> list[datetime]:
    """The closed minutes not rolled up yet, oldest first, within the catch-up window."""
    end = floor_minute(now - GRACE)
    start = floor_minute(now - timedelta(seconds=conf.get("STATS_CATCHUP_SECONDS")))
    last = JobStat.objects.aggregate(last=Max("minute"))["last"]
    if last is not None:
        start = max(start, last + MINUTE)
    minutes = []
    while start < end:
        minutes.append(start)
        start += MINUTE
    return minutes


def prune(now: datetime) -> int:
    """Delete the JobStat rows older than STATS_RETENTION_SECONDS; returns how many."""
    cutoff = now - timedelta(seconds=conf.get("STATS_RETENTION_SECONDS"))
    minutes, _ = JobStat.objects.filter(minute__lt=cutoff).delete()
    hours, _ = JobStatHour.objects.filter(hour__lt=cutoff - HOUR).delete()
    return minutes + hours


def run(run: TaskRun) -> Result:
    """Roll up the closed minutes, sample the depth onto the last, prune old rows."""
    minutes = pending_minutes(run.now)
    rolled = rows = 0
    for minute in minutes:
        rows += roll_minute(minute)
        rolled += 1
        if rolled < len(minutes) and run.out_of_time():
            break
    depth = sample_depth(minutes[rolled - 1]) if rolled else None
    for hour in sorted({minute.replace(minute=0) for minute in minutes[:rolled]}):
        roll_hour(hour)
    pruned = prune(run.now)
    summary = f"rolled up {plural(rolled, 'minute')} ({plural(rows, 'row')}), "
    if rolled < len(minutes):
        summary += "stopped at the time limit, the next run goes on; "
    if rolled and depth is None:
        summary += "depth not sampled (count too slow); "
    summary += f"pruned {plural(pruned, 'row')}"
    return done(summary, minutes=rolled, rows=rows, pruned=pruned)


TASK = Task(
    name="rollup",
    interval_setting="STATS_ROLLUP_INTERVAL",
    run=run,
    description="roll finished jobs up into per-minute statistics; prune old ones",
)
