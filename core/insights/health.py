"""Is the queue healthy? The checks behind ``manage.py queue_health`` and /api/health.

Each check answers with a name, ok, one short line and a few numbers; none
of them says more than names of queues and maintenance tasks, counts and
ages (no hosts, pids, payloads or connection strings), so the report can be
served without a login. ``Check.detail`` may say more (worker ids, which
hold host names) and is printed only by the command.

Every query is cheap whatever the size of the job table: worker and
maintenance rows are few, and the queues' next jobs come from the claim
indexes (``heads``).
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from core import conf
from core.insights.heads import Heads, queue_heads
from core.models import MaintenanceTask, Queue, Worker, WorkerState
from core.models.workers import stale_after

APP_LABEL = "queueadmin"


@dataclass(frozen=True)
class Check:
    """One check's answer."""

    name: str
    ok: bool
    #: One short line for people: "reachable (2 ms)".
    message: str
    #: Counts and ages in seconds, for machines.
    numbers: dict[str, int | float | None] = field(default_factory=dict)
    #: More for the operator at a terminal (may name workers, whose ids hold host
    #: names); never in the JSON.
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        """The check without its detail: safe to serve without a login."""
        return {"name": self.name, "ok": self.ok, "message": self.message, "numbers": self.numbers}


@dataclass(frozen=True)
class Report:
    """Every check's answer, in order."""

    checks: list[Check]

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, Any]:
        """{"ok": …, "checks": [...]}."""
        return {"ok": self.ok, "checks": [check.as_json() for check in self.checks]}


def _names(names) -> str:
    names = sorted(names)
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def check_database() -> Check:
    """The database answers."""
    started = time.monotonic()
    try:
        connection.ensure_connection()
        usable = connection.is_usable()
    except Exception as exc:
        return Check("database", False, f"unreachable ({type(exc).__name__})", detail=str(exc))
    ms = round((time.monotonic() - started) * 1000, 1)
    if not usable:
        return Check("database", False, "connection not usable", {"ms": ms})
    return Check("database", True, f"reachable ({ms:g} ms)", {"ms": ms})


@cache
def _migrations_on_disk() -> dict[str, tuple[str, ...]]:
    """queueadmin's migrations (name → the names it replaces), read from disk once."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {
        name: tuple(replaced for app, replaced in migration.replaces if app == APP_LABEL)
        for (app, name), migration in loader.disk_migrations.items()
        if app == APP_LABEL
    }


def check_migrations() -> Check:
    """Every queueadmin migration on disk is applied (one query on django_migrations)."""
    applied = {
        name for app, name in MigrationRecorder(connection).applied_migrations() if app == APP_LABEL
    }
    missing = sorted(
        name
        for name, replaces in _migrations_on_disk().items()
        if name not in applied and not (replaces and set(replaces) <= applied)
    )
    numbers = {"unapplied": len(missing)}
    if missing:
        return Check(
            "migrations",
            False,
            f"{len(missing)} to apply: run migrate ({_names(missing)})",
            numbers,
        )
    return Check("migrations", True, "applied", numbers)


def _serves(worker: Worker, queue: str, job_type: str | None) -> bool:
    if job_type is not None:
        return worker.serves(queue, job_type)
    return any(worker.serves(queue, kind) for kind in worker.job_types or [""])


def check_workers(
    workers: list[Worker], heads: Heads, policies: set[str], paused: set[str]
) -> Check:
    """Every served queue (one with a Queue row in ``policies`` or a pending job, unless
    ``paused``) has a live, running worker that claims from it (a quiet or stopping
    worker claims nothing new)."""
    running = [w for w in workers if w.state == WorkerState.RUNNING]
    queues = (heads.queues | policies) - paused
    unserved = sorted(
        queue
        for queue in queues
        if not any(_serves(w, queue, (heads.due.get(queue) or (None, None))[1]) for w in running)
    )
    numbers = {"queues": len(queues), "unserved": len(unserved), "live_workers": len(workers)}
    if not workers:
        return Check("workers", False, "no live worker", numbers)
    if unserved:
        message = f"no live worker serves {_names(unserved)}"
        return Check("workers", False, message, numbers)
    return Check("workers", True, f"{len(queues)} queue(s), {len(workers)} live worker(s)", numbers)


def check_pending(heads: Heads, now: datetime, paused: set[str]) -> Check:
    """The next job of every queue (claim order) has not been due for too long; the
    jobs of ``paused`` queues wait on purpose."""
    limit = float(conf.get("HEALTH_MAX_PENDING_AGE"))
    lags = {queue: heads.lag(queue, now) for queue in heads.due if queue not in paused}
    oldest = max(lags, key=lags.get, default=None)
    age = round(lags[oldest], 3) if oldest is not None else 0.0
    numbers = {"age_seconds": age, "max_age_seconds": limit, "due_queues": len(lags)}
    if oldest is None:
        return Check("pending", True, "no due pending job", numbers)
    message = f"oldest due job waited {age:.0f} s in {oldest} (limit {limit:g} s)"
    return Check("pending", age <= limit, message, numbers)


def check_maintenance(intervals: Mapping[str, float], now: datetime) -> Check:
    """Each maintenance task ran within its interval plus WORKER_STALE_SECONDS (or is
    running now): ``intervals`` maps task names to their seconds."""
    grace = stale_after()
    rows = {row.name: row for row in MaintenanceTask.objects.filter(name__in=list(intervals))}
    late = []
    for name, interval in intervals.items():
        row = rows.get(name)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            continue  # a worker runs it now
        if row is None or row.last_run_at is None:
            late.append(name)
            continue
        age = (now - row.last_run_at).total_seconds()
        if age > interval + grace:
            late.append(name)
    numbers = {"tasks": len(intervals), "late": len(late), "grace_seconds": grace}
    if late:
        return Check("maintenance", False, f"not run lately: {_names(late)}", numbers)
    return Check("maintenance", True, f"{len(intervals)} task(s) on time", numbers)


def check_stuck(workers: list[Worker]) -> Check:
    """No live worker reports a handler thread silent for too long."""
    stuck = [w for w in workers if w.stuck]
    threads = sum(len(w.stuck) for w in stuck)
    numbers = {"workers": len(stuck), "threads": threads}
    if not stuck:
        return Check("stuck_threads", True, "none", numbers)
    detail = "; ".join(
        f"{w.id}: " + ", ".join(f"{s.get('thread')} on job {s.get('job')}" for s in w.stuck)
        for w in stuck
    )
    message = f"{threads} thread(s) stuck in {len(stuck)} worker(s)"
    return Check("stuck_threads", False, message, numbers, detail=detail)


def _guarded(name: str, run: Callable[[], Check]) -> Check:
    try:
        return run()
    except Exception as exc:  # a failing check fails, it does not break the report
        return Check(name, False, f"error ({type(exc).__name__})", detail=str(exc))


#: The checks, in the order they are reported.
NAMES = ("database", "migrations", "workers", "pending", "maintenance", "stuck_threads")


def run(intervals: Mapping[str, float], now: datetime | None = None) -> Report:
    """Every check; ``intervals`` maps maintenance task names to their seconds
    (``core.maintenance.TASKS``, which this layer may not import)."""
    database = check_database()
    if not database.ok:
        skipped = [Check(name, False, "skipped: no database") for name in NAMES[1:]]
        return Report([database, *skipped])
    now = now or timezone.now()
    state: dict[str, Any] = {}

    def live() -> list[Worker]:
        if "workers" not in state:
            fields = ("id", "queues", "job_types", "state", "stuck", "heartbeat_at")
            state["workers"] = list(Worker.objects.alive(now).only(*fields))
        return state["workers"]

    def heads() -> Heads:
        if "heads" not in state:
            state["heads"] = queue_heads(now)
        return state["heads"]

    def queues() -> tuple[set[str], set[str]]:
        if "queues" not in state:
            rows = list(Queue.objects.values_list("name", "paused"))
            state["queues"] = ({n for n, _ in rows}, {n for n, paused in rows if paused})
        return state["queues"]

    return Report(
        [
            database,
            _guarded("migrations", check_migrations),
            _guarded("workers", lambda: check_workers(live(), heads(), *queues())),
            _guarded("pending", lambda: check_pending(heads(), now, queues()[1])),
            _guarded("maintenance", lambda: check_maintenance(intervals, now)),
            _guarded("stuck_threads", lambda: check_stuck(live())),
        ]
    )
