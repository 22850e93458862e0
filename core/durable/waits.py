"""Durable waits: a handler parks its job (sleep, token, defer) and frees its worker.

A handler asks to wait by raising one of the requests below (``ctx.wait_for``,
``ctx.wait_for_token``, ``ctx.defer`` do it); the executor parks the job in
one transaction and the worker slot is free at once. The job runs again from
the top later, its finished steps replayed from ``step_data``.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.drivers import get_driver
from core.models import EventType, Job, JobEvent, JobStatus, TokenStatus, WaitToken
from core.models.jobs import event_metadata
from core.validation import MAX_SECONDS


class Suspend(BaseException):
    """Ends this run of the handler without success or failure.

    A BaseException so a handler's ``except Exception`` does not swallow it.
    """


@dataclass
class Sleep(Suspend):
    """Park the job until ``until``; ``key`` records the wait in step_data."""

    until: datetime
    key: str


@dataclass
class AwaitToken(Suspend):
    """Park the job until the token is completed or times out."""

    token_id: str


@dataclass
class Defer(Suspend):
    """End the run without failing; run again after ``delay`` with ``state``."""

    delay: float
    state: Any


def park(job_id: int, worker_id: str, request: Suspend, step_data: dict) -> bool:
    """Write a suspended run: the job waits (or is pending later), its lease is
    freed and the attempt is not counted. False if the job is no longer this
    worker's (cancelled, say)."""
    now = timezone.now()
    with transaction.atomic():
        job = (
            Job.objects.select_for_update()
            .filter(pk=job_id, status=JobStatus.PROCESSING, locked_by=worker_id)
            .first()
        )
        if job is None:
            return False
        job.attempts = max(job.attempts - 1, 0)  # a wait is not a failed attempt
        job.locked_by = job.locked_until = None
        job.step_data = step_data
        meta: dict[str, Any]
        if isinstance(request, Sleep):
            job.status = JobStatus.WAITING
            job.wait_until, job.wait_token = request.until, None
            event, meta = EventType.WAITING, {"until": request.until, "reason": "sleep"}
        elif isinstance(request, AwaitToken):
            token = WaitToken.objects.select_for_update().get(pk=request.token_id)
            if token.status == TokenStatus.WAITING:
                job.status = JobStatus.WAITING
                job.wait_until, job.wait_token = token.timeout_at, token.id
            else:  # completed or timed out between the check and now: run again
                job.status, job.run_at, job.wait_token = JobStatus.PENDING, now, None
            event = EventType.WAITING
            meta = {"reason": "token", "token": token.id[:8], "timeout_at": token.timeout_at}
        elif isinstance(request, Defer):
            job.status = JobStatus.PENDING
            # Capped like every other delay, so no date overflows (NaN: now).
            delay = min(request.delay, MAX_SECONDS) if request.delay > 0 else 0.0
            job.run_at = now + timedelta(seconds=delay)
            job.state = request.state
            job.step_data = {}  # the next run is a fresh one: its steps run again
            job.wait_until = job.wait_token = None
            event, meta = EventType.DEFERRED, {"delay": request.delay}
        else:
            raise TypeError(f"unknown suspend request {request!r}")
        job.save()
        JobEvent.objects.create(job=job, type=event, metadata=event_metadata(**meta))
        if isinstance(request, Defer):  # announced with this commit (PostgreSQL)
            get_driver().notify_jobs([(job.pk, job.queue, "deferred", job.status)])
    return True


def wake_due(now: datetime | None = None) -> list[int]:
    """Make sleeping jobs whose time came pending again; return their ids."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Job.objects.select_for_update(skip_locked=True)
            .filter(status=JobStatus.WAITING, wait_until__lte=now, wait_token__isnull=True)
            .values_list("id", flat=True)[:1000]
        )
        if ids:
            resume(ids, now, reason="time")
    return ids


def resume(ids: list[int], now: datetime, reason: str, actor: Any = None) -> None:
    """Waiting jobs back to pending now (inside the caller's transaction)."""
    Job.objects.filter(id__in=ids, status=JobStatus.WAITING).update(
        status=JobStatus.PENDING,
        run_at=now,
        wait_until=None,
        wait_token=None,
        updated_at=now,
    )
    metadata = event_metadata(actor, reason=reason)
    JobEvent.objects.bulk_create(
        [JobEvent(job_id=i, type=EventType.RESUMED, metadata=metadata) for i in ids]
    )
