"""The MaintenanceTask rows as locks: claim a due task, renew it, record and release it.

Each claim is one UPDATE whose WHERE holds the whole test (not locked, or
the lock ran out; interval passed), so of two workers claiming at once only
one changes the row: PostgreSQL re-checks the WHERE after the row lock,
SQLite runs one writer at a time.
"""

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from core import conf
from core.models import MaintenanceTask


def lock_seconds() -> float:
    """How long a claim holds a task: MAINTENANCE_LOCK_SECONDS, or the heartbeat interval
    (a third of LEASE_SECONDS), so a worker that dies holding a task delays it by about
    one heartbeat."""
    seconds = conf.get("MAINTENANCE_LOCK_SECONDS")
    return float(seconds) if seconds is not None else conf.get("LEASE_SECONDS") / 3


def _lock_until(now: datetime) -> datetime:
    return now + timedelta(seconds=lock_seconds())


def rows(names: list[str]) -> dict[str, MaintenanceTask]:
    """The tasks' rows, creating missing ones (a read; a write only the first time)."""
    found = {row.name: row for row in MaintenanceTask.objects.filter(name__in=names)}
    missing = [MaintenanceTask(name=name) for name in names if name not in found]
    if missing:
        MaintenanceTask.objects.bulk_create(missing, ignore_conflicts=True)
        found.update((row.name, row) for row in missing)
    return found


def _free(now: datetime) -> Q:
    return Q(locked_until__isnull=True) | Q(locked_until__lt=now)


def _interval_passed(now: datetime, interval: float) -> Q:
    return Q(last_run_at__isnull=True) | Q(last_run_at__lte=now - timedelta(seconds=interval))


def is_due(row: MaintenanceTask, now: datetime, interval: float) -> bool:
    """What ``claim`` would decide, from a row already read (spares idle workers a write)."""
    free = row.locked_until is None or row.locked_until < now
    passed = row.last_run_at is None or row.last_run_at <= now - timedelta(seconds=interval)
    return free and passed


def claim(name: str, worker_id: str, now: datetime, interval: float | None) -> bool:
    """Lock the task for ``worker_id`` if nobody holds it and, unless ``interval``
    is None, its interval has passed; True when this call got it."""
    condition = Q(name=name) & _free(now)
    if interval is not None:
        condition &= _interval_passed(now, interval)
    claimed = MaintenanceTask.objects.filter(condition).update(
        locked_by=worker_id, locked_until=_lock_until(now)
    )
    return claimed == 1


def extend(name: str, worker_id: str) -> None:
    """Push the lock of a long run further out."""
    MaintenanceTask.objects.filter(name=name, locked_by=worker_id).update(
        locked_until=_lock_until(timezone.now())
    )


def release(name: str, worker_id: str, started: datetime, result: dict) -> None:
    """Record the run (its start counts for the interval) and its result (as JSON),
    and free the task."""
    MaintenanceTask.objects.filter(name=name, locked_by=worker_id).update(
        last_run_at=started, last_result=result, locked_by=None, locked_until=None
    )


def holder(name: str) -> MaintenanceTask | None:
    """The task's row, to say who holds it."""
    return MaintenanceTask.objects.filter(name=name).first()
