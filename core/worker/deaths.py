"""Worker deaths: a child process that exited unasked (seen by the supervisor, recorded
as a WorkerDeath), and the ``worker_died`` signal sent for it and for handler threads
that die outside a job."""

import logging
import signal
import socket
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from core import signals
from core.models import DeathReason, Worker, WorkerDeath

logger = logging.getLogger("queueadmin.worker")


def exit_detail(code: int) -> dict:
    """How a process ended, from its Popen return code (negative: killed by a signal)."""
    if code >= 0:
        return {"exit_code": code}
    try:
        return {"signal": signal.Signals(-code).name}
    except ValueError:
        return {"signal": -code}


def record_exit(pid: int, code: int, slot: int, started_at: datetime) -> WorkerDeath | None:
    """Record WorkerDeath(exited) for the child ``pid`` started at ``started_at`` and
    remove the Worker row it left (its jobs' leases expire and are reclaimed as
    usual); None, with the error logged, when the database cannot be reached."""
    host = socket.gethostname()
    detail = {**exit_detail(code), "slot": slot}
    try:
        with transaction.atomic():
            # The same pid on this host, registered after the child was started: it.
            rows = list(
                Worker.objects.filter(
                    host=host, pid=pid, started_at__gte=started_at - timedelta(seconds=1)
                )
            )
            row = rows[0] if rows else None
            if row is not None:
                detail["last_heartbeat"] = row.heartbeat_at.isoformat()
                detail["running"] = row.running
            death = WorkerDeath.objects.create(
                worker=row.id if row else f"{host}:{pid}",
                host=host,
                pid=pid,
                reason=DeathReason.EXITED,
                detail=detail,
                at=timezone.now(),
            )
            Worker.objects.filter(pk__in=[r.pk for r in rows]).delete()
        return death
    except Exception:
        logger.exception("could not record the death of worker process pid=%d", pid)
        return None


def exit_reason(code: int) -> str:
    """``exit_detail`` as a short text: "exited with code 1", "killed by SIGKILL"."""
    detail = exit_detail(code)
    if "exit_code" in detail:
        return f"exited with code {detail['exit_code']}"
    return f"killed by {detail['signal']}"


def send_died(
    worker_id: str,
    kind: str,
    reason: str,
    *,
    exitcode: int | None = None,
    signal_name: str | int | None = None,
    thread: str | None = None,
) -> None:
    """Send ``worker_died`` (see core.signals) while a receiver is connected."""
    if signals.worker_died.has_listeners(Worker):
        signals.send(
            signals.worker_died,
            Worker,
            worker_id=worker_id,
            kind=kind,
            reason=reason,
            exitcode=exitcode,
            signal_name=signal_name,
            thread=thread,
        )
