"""Run the maintenance tasks: the due ones from a worker's heartbeat, or all of them."""

import logging
import time
from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from core import conf
from core.maintenance import (
    cron,
    expire_tokens,
    locks,
    prune_jobs,
    prune_streams,
    prune_workers,
    reclaim,
    rollup,
    wake,
)
from core.maintenance.base import Result, Task, TaskRun

logger = logging.getLogger("queueadmin.maintenance")

#: Every task, by name, in the order a worker runs them.
TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        reclaim.TASK,
        wake.TASK,
        expire_tokens.TASK,
        prune_jobs.TASK,
        prune_workers.TASK,
        prune_streams.TASK,
        cron.TASK,
        rollup.TASK,
    )
}


def default_time_limit(lease: float | None = None) -> float:
    """Seconds one task may run inside a heartbeat: MAINTENANCE_TIME_LIMIT, or a
    third of ``lease`` (default LEASE_SECONDS) so the worker's leases stay renewed."""
    limit = conf.get("MAINTENANCE_TIME_LIMIT")
    if limit is not None:
        return float(limit)
    return (lease if lease is not None else conf.get("LEASE_SECONDS")) / 3


def run_due(
    worker_id: str, now: datetime | None = None, *, time_limit: float | None = None
) -> dict[str, Result]:
    """Run, as ``worker_id``, each task whose interval has passed and that no
    other worker holds; return the results of those it ran, by name.

    A task that raises is logged, recorded as failed and released, and the
    others still run; only a failure of the lock rows themselves raises.
    ``time_limit`` (seconds per task) defaults to ``default_time_limit()``.
    """
    now = now or timezone.now()
    limit = default_time_limit() if time_limit is None else time_limit
    results: dict[str, Result] = {}
    rows = locks.rows(list(TASKS))
    for task in TASKS.values():
        interval = task.interval
        if not locks.is_due(rows[task.name], now, interval):
            continue
        if locks.claim(task.name, worker_id, now, interval):
            results[task.name] = _run(task, worker_id, now, limit)
    return results


def run_all(worker_id: str, names: list[str] | None = None) -> dict[str, Result]:
    """Run every task (or those named) once now, whatever their interval and
    without a time limit; a task another worker is running is skipped."""
    tasks = [task for name, task in TASKS.items() if not names or name in names]
    locks.rows([task.name for task in tasks])
    results: dict[str, Result] = {}
    for task in tasks:
        now = timezone.now()
        if locks.claim(task.name, worker_id, now, interval=None):
            results[task.name] = _run(task, worker_id, now, None)
        else:
            row = locks.holder(task.name)
            holder = row.locked_by if row is not None else "?"
            results[task.name] = Result(
                ok=True, summary=f"skipped: worker {holder} is running it", skipped=True
            )
    return results


def _run(task: Task, worker_id: str, now: datetime, limit: float | None) -> Result:
    started = time.monotonic()
    run = TaskRun(
        name=task.name,
        worker_id=worker_id,
        now=now,
        deadline=None if limit is None else started + limit,
    )
    try:
        # Inside a caller's transaction, a savepoint keeps a failed task from
        # spoiling it, so the release below can still be written.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            result = task.run(run)
    except Exception as exc:
        logger.exception("maintenance task=%s worker=%s failed", task.name, worker_id)
        result = Result(ok=False, summary=f"failed: {type(exc).__name__}: {exc}")
    result = replace(result, seconds=time.monotonic() - started)
    locks.release(task.name, worker_id, now, result.as_json())
    if result.changed:
        logger.info("maintenance task=%s worker=%s %s", task.name, worker_id, result)
    else:
        logger.debug("maintenance task=%s worker=%s %s", task.name, worker_id, result)
    return result
