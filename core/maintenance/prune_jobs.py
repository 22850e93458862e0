"""Prune jobs: delete old finished jobs with their events and wait tokens.

Completed and cancelled jobs go PRUNE_COMPLETED_AFTER seconds after they
finished, failed ones PRUNE_FAILED_AFTER seconds after they failed (by
``completed_at``/``cancelled_at``/``failed_at``). Only finished jobs are
touched, BULK_CHUNK_SIZE per transaction, each chunk's events and tokens
deleted by one statement each, before the jobs.

A finished job that a job still held for its dependencies names in
``depends_on`` is kept: ``dependencies.settle`` treats a dependency it
cannot find as unfinished, so deleting it would hold that job for ever.
"""

from collections import Counter
from datetime import datetime, timedelta

from django.db import transaction

from core import conf
from core.jobs import dependencies
from core.maintenance.base import Result, Task, TaskRun, done, plural
from core.models import Job, JobEvent, JobStatus, WaitToken

#: (status, the timestamp it is pruned by, the setting giving the age)
RULES = (
    (JobStatus.COMPLETED, "completed_at", "PRUNE_COMPLETED_AFTER"),
    (JobStatus.CANCELLED, "cancelled_at", "PRUNE_COMPLETED_AFTER"),
    (JobStatus.FAILED, "failed_at", "PRUNE_FAILED_AFTER"),
)


def run(run: TaskRun) -> Result:
    """Delete every job past its age, a chunk per transaction, until done or out of time."""
    chunk = conf.get("BULK_CHUNK_SIZE")
    kept = _dependencies_of_held_jobs()
    totals: Counter[str] = Counter()
    more = False
    for status, stamp, setting in RULES:
        after = conf.get(setting)
        if after is None:
            continue
        cutoff = run.now - timedelta(seconds=after)
        # At least one chunk per status and run, so each makes progress.
        last_id, full = 0, True
        while full:
            last_id, full = _prune_chunk(status, stamp, cutoff, last_id, chunk, kept, totals)
            run.keep_lock()
            if full and run.out_of_time():
                more = True
                break
    summary = (
        f"deleted {plural(totals['jobs'], 'job')}, {plural(totals['events'], 'event')}, "
        f"{plural(totals['tokens'], 'token')}"
    )
    if more:
        summary += "; stopped at the time limit, the next run goes on"
    return done(summary, jobs=totals["jobs"], events=totals["events"], tokens=totals["tokens"])


def _dependencies_of_held_jobs() -> set[int]:
    kept: set[int] = set()
    for depends_on in (
        Job.objects.filter(dependencies.HELD).values_list("depends_on", flat=True).iterator()
    ):
        kept.update(depends_on)
    return kept


def _prune_chunk(
    status: str,
    stamp: str,
    cutoff: datetime,
    after_id: int,
    size: int,
    kept: set[int],
    totals: Counter[str],
) -> tuple[int, bool]:
    """Delete one chunk of jobs with ids above ``after_id``; return the last id
    looked at and whether the chunk was full (there may be more)."""
    with transaction.atomic():
        # Locked, so a retry_job racing this chunk waits and then finds the job gone.
        ids = list(
            Job.objects.select_for_update(skip_locked=True)
            .filter(status=status, **{f"{stamp}__lt": cutoff}, id__gt=after_id)
            .order_by("id")
            .values_list("id", flat=True)[:size]
        )
        if not ids:
            return after_id, False
        doomed = [job_id for job_id in ids if job_id not in kept]
        if doomed:
            # One DELETE each, no rows loaded: nothing points at these tables.
            events, _ = JobEvent.objects.filter(job_id__in=doomed).delete()
            tokens, _ = WaitToken.objects.filter(job_id__in=doomed).delete()
            # The jobs through the ORM (ids only), so other tables' on_delete rules
            # (a cron schedule's last_job) apply; its cascade finds no events left.
            _, by_model = Job.objects.filter(id__in=doomed).only("id").delete()
            totals["jobs"] += by_model.get(Job._meta.label, 0)
            totals["events"] += events
            totals["tokens"] += tokens
    return ids[-1], len(ids) == size


TASK = Task(
    name="prune_jobs",
    interval_setting="PRUNE_INTERVAL",
    run=run,
    description="delete old completed, cancelled and failed jobs with their events and tokens",
)
