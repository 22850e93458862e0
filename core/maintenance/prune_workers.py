"""Prune workers: record each worker that went stale as a WorkerDeath(stale) as soon as
it does, forget Worker rows whose process stopped heartbeating long ago, and drop
WorkerDeath rows older than DEATH_RETENTION."""

from datetime import timedelta

from django.db import transaction

from core import conf
from core.maintenance.base import Result, Task, TaskRun, done, plural
from core.models import DeathReason, Worker, WorkerDeath
from core.models.workers import stale_after

#: How long WorkerDeath rows are kept: a fixed 30 days, the default retention of
#: failed jobs, so the deaths stay beside the failures they explain.
DEATH_RETENTION = timedelta(days=30)
#: Worker rows removed per transaction.
CHUNK = 1000


def run(run: TaskRun) -> Result:
    """Delete Worker rows whose last heartbeat is older than WORKER_PRUNE_AFTER (each
    recorded as a stale death) and deaths older than DEATH_RETENTION."""
    expired, _ = WorkerDeath.objects.filter(at__lt=run.now - DEATH_RETENTION).delete()
    died = _record_stale(run)
    tail = f", {plural(died, 'worker')} gone stale" if died else ""
    tail += f", {plural(expired, 'old worker death')}" if expired else ""
    counts = {"died": died} if died else {}
    counts |= {"deaths": expired} if expired else {}
    after = conf.get("WORKER_PRUNE_AFTER")
    if after is None:
        return done(f"disabled (WORKER_PRUNE_AFTER is None){tail}", **counts)
    cutoff = run.now - timedelta(seconds=after)
    deleted = 0
    while True:
        removed = _prune_chunk(cutoff, run)
        deleted += removed
        if removed < CHUNK or run.out_of_time():
            break
    return done(f"deleted {plural(deleted, 'worker row')}{tail}", workers=deleted, **counts)


def _unrecorded(queryset):
    """The workers of ``queryset`` not yet recorded as a stale death."""
    recorded = WorkerDeath.objects.filter(reason=DeathReason.STALE).values("worker")
    return queryset.exclude(pk__in=recorded)


def _record(workers: list[Worker], run: TaskRun) -> None:
    WorkerDeath.objects.bulk_create(
        WorkerDeath(
            worker=worker.id,
            host=worker.host,
            pid=worker.pid,
            reason=DeathReason.STALE,
            detail={
                "last_heartbeat": worker.heartbeat_at.isoformat(),
                "started_at": worker.started_at.isoformat(),
                "running": worker.running,
                "queues": worker.queues,
            },
            at=run.now,
        )
        for worker in workers
    )


def _record_stale(run: TaskRun) -> int:
    """Record up to CHUNK workers that went stale (no heartbeat for stale_after()
    seconds) and are not recorded yet, so "workers died" counts them within a
    PRUNE_INTERVAL rather than when their row is pruned a day later."""
    cutoff = run.now - timedelta(seconds=stale_after())
    with transaction.atomic():
        stale = list(
            _unrecorded(Worker.objects.filter(heartbeat_at__lt=cutoff))
            .order_by("heartbeat_at")
            .select_for_update()[:CHUNK]
        )
        _record(stale, run)
    return len(stale)


def _prune_chunk(cutoff, run: TaskRun) -> int:
    """Delete up to CHUNK long-stale Worker rows (recording those not recorded yet as
    stale deaths); return how many."""
    with transaction.atomic():
        # Locked (PostgreSQL) so a worker that comes back meanwhile waits, then finds
        # its row gone, rather than being recorded dead while it beats.
        stale = list(
            Worker.objects.filter(heartbeat_at__lt=cutoff)
            .order_by("heartbeat_at")
            .select_for_update()[:CHUNK]
        )
        if not stale:
            return 0
        ids = [worker.pk for worker in stale]
        unrecorded = set(
            _unrecorded(Worker.objects.filter(pk__in=ids)).values_list("pk", flat=True)
        )
        _record([worker for worker in stale if worker.pk in unrecorded], run)
        Worker.objects.filter(pk__in=ids).delete()
    return len(stale)


TASK = Task(
    name="prune_workers",
    interval_setting="PRUNE_INTERVAL",
    run=run,
    description="record workers gone stale as worker deaths, delete worker rows without a "
    "heartbeat for WORKER_PRUNE_AFTER seconds and worker deaths older than 30 days",
)
