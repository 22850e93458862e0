"""Run the maintenance tasks: the due ones from a worker's heartbeat, or all of them."""

import logging
import time
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from core import conf
from core.durations import parse_duration
from core.maintenance import (
    cron,
    expire_tokens,
    locks,
    prune_events,
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
        prune_events.TASK,
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


def run_all(
    worker_id: str,
    names: list[str] | None = None,
    *,
    older_than: Mapping[str, object] | None = None,
) -> dict[str, Result]:
    """Run every task (or those named) once now, whatever their interval and
    without a time limit; a task another worker is running is skipped.

    ``older_than`` gives tasks an age in place of their settings, by name: a
    duration (seconds, ``"30d"``, a timedelta) for ``reclaim`` (processing jobs
    started longer ago), ``prune_jobs`` (finished jobs) or ``prune_events``."""
    ages = _ages(older_than or {})
    tasks = [task for name, task in TASKS.items() if not names or name in names]
    locks.rows([task.name for task in tasks])
    results: dict[str, Result] = {}
    for task in tasks:
        now = timezone.now()
        if locks.claim(task.name, worker_id, now, interval=None):
            results[task.name] = _run(task, worker_id, now, None, ages.get(task.name))
        else:
            row = locks.holder(task.name)
            holder = row.locked_by if row is not None else "?"
            results[task.name] = Result(
                ok=True, summary=f"skipped: worker {holder} is running it", skipped=True
            )
    return results


def _ages(older_than: Mapping[str, object]) -> dict[str, float]:
    """``run_all``'s ages checked: task names that take one, durations in seconds."""
    takers = sorted(name for name, task in TASKS.items() if task.takes_age)
    ages = {}
    for name, value in older_than.items():
        if name not in takers:
            raise ValueError(
                f"older_than: {name!r} takes no age; tasks that do: {', '.join(takers)}"
            )
        ages[name] = parse_duration(value, field=f"older_than[{name}]")
    return ages


def _run(
    task: Task, worker_id: str, now: datetime, limit: float | None, older_than: float | None = None
) -> Result:
    started = time.monotonic()
    run = TaskRun(
        name=task.name,
        worker_id=worker_id,
        now=now,
        deadline=None if limit is None else started + limit,
        older_than=older_than,
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
