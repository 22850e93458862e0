"""Prune jobs: delete old finished jobs with their events and wait tokens.

Completed and cancelled jobs go PRUNE_COMPLETED_AFTER seconds after they
finished, failed ones PRUNE_FAILED_AFTER seconds after they failed (by
``completed_at``/``cancelled_at``/``failed_at``). Only finished jobs are
touched, at most BULK_CHUNK_SIZE per transaction, each chunk's events and tokens
deleted by one statement each, before the jobs.

Workers keep claiming and completing while it runs: a chunk that held its
transaction longer than CHUNK_SECONDS halves the next chunk (a quick one doubles
it back), and after each chunk the task pauses as long as the chunk took (at
most CHUNK_SECONDS), so writers queued on the lock (SQLite's one writer) get it
between two chunks instead of waiting for the whole prune.

A finished job that a job still held for its dependencies names in
``depends_on`` is kept: ``dependencies.settle`` treats a dependency it
cannot find as unfinished, so deleting it would hold that job for ever.
"""

import time
from collections import Counter
from datetime import datetime, timedelta

from django.db import transaction

from core import conf
from core.jobs import dependencies
from core.jobs.removal import delete_with_history
from core.maintenance.base import Result, Task, TaskRun, done, plural
from core.models import Job, JobStatus

#: (status, the timestamp it is pruned by, the setting giving the age)
RULES = (
    (JobStatus.COMPLETED, "completed_at", "PRUNE_COMPLETED_AFTER"),
    (JobStatus.CANCELLED, "cancelled_at", "PRUNE_COMPLETED_AFTER"),
    (JobStatus.FAILED, "failed_at", "PRUNE_FAILED_AFTER"),
)
#: Longest one chunk should hold its transaction, and the longest pause after one.
CHUNK_SECONDS = 0.2


def run(run: TaskRun) -> Result:
    """Delete every job past its age (the settings', or ``run.older_than`` for every
    finished status), a chunk per transaction, until done or out of time."""
    largest = chunk = conf.get("BULK_CHUNK_SIZE")
    kept = dependencies.waited_on()
    totals: Counter[str] = Counter()
    more = False
    for status, stamp, setting in RULES:
        after = conf.get(setting) if run.older_than is None else run.older_than
        if after is None:
            continue
        cutoff = run.now - timedelta(seconds=after)
        # At least one chunk per status and run, so each makes progress.
        last, full = None, True
        while full:
            began = time.monotonic()
            last, full = _prune_chunk(status, stamp, cutoff, last, chunk, kept, totals)
            took = time.monotonic() - began
            chunk = _next_size(chunk, took, largest)
            if full:
                time.sleep(min(took, CHUNK_SECONDS))
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


def _next_size(size: int, took: float, largest: int) -> int:
    """The next chunk's size: half after a slow chunk, double after a quick one."""
    if took > CHUNK_SECONDS:
        # Not below a tenth: a chunk's query can be slow whatever its size.
        return max(1, largest // 10, size // 2)
    if took < CHUNK_SECONDS / 4:
        return min(largest, size * 2)
    return size


def _prune_chunk(
    status: str,
    stamp: str,
    cutoff: datetime,
    after: tuple[datetime, int] | None,
    size: int,
    kept: set[int],
    totals: Counter[str],
) -> tuple[tuple[datetime, int] | None, bool]:
    """Delete one chunk of jobs past ``after`` in (``stamp``, id) order; return the
    last (stamp, id) looked at and whether the chunk was full (there may be more).

    Walking the finishing time (the job_completed_idx / job_failed_idx range below
    the cutoff) rather than the ids makes a run with little to prune cheap however
    many finished jobs are younger than the cutoff."""
    jobs = Job.objects.filter(status=status, **{f"{stamp}__lt": cutoff})
    if after is not None:
        at, job_id = after
        jobs = jobs.filter(**{f"{stamp}__gte": at}).exclude(**{stamp: at, "id__lte": job_id})
    with transaction.atomic():
        # Locked, so a retry_job racing this chunk waits and then finds the job gone.
        rows = list(
            jobs.select_for_update(skip_locked=True)
            .order_by(stamp, "id")
            .values_list(stamp, "id")[:size]
        )
        if not rows:
            return after, False
        totals.update(delete_with_history((job_id for _, job_id in rows), kept))
    return rows[-1], len(rows) == size


TASK = Task(
    name="prune_jobs",
    interval_setting="PRUNE_INTERVAL",
    run=run,
    description="delete old completed, cancelled and failed jobs with their events and tokens",
    takes_age=True,
)
