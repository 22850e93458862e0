"""Changes to one job: retry, cancel, edit, run now, delete.

Each runs in one transaction that locks the job's row and writes its event,
so a caller's ``transaction.atomic()`` that rolls back leaves no trace.
"""

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.durable import tokens
from core.exceptions import JobNotFound, JobStateError
from core.jobs import dependencies, notifications, spec
from core.jobs.lookup import job_pk
from core.models import EventType, Job, JobEvent, JobStatus
from core.models.jobs import (
    CANCELLABLE_STATUSES,
    EDITABLE_STATUSES,
    RETRYABLE_STATUSES,
    event_metadata,
)

logger = logging.getLogger("queueadmin.queue")


def _locked_job(job_id: Any, allowed: tuple[str, ...], action: str) -> Job:
    """Fetch and lock a job inside the caller's transaction; check its status allows ``action``."""
    job = Job.objects.select_for_update().filter(pk=job_pk(job_id)).first()
    if job is None:
        raise JobNotFound(f"no job with id {job_id}")
    if job.status not in allowed:
        raise JobStateError(
            f"cannot {action} job {job.pk}: it is {job.status}; "
            f"only {', '.join(allowed)} jobs allow it"
        )
    return job


def retry_job(job_id: int, *, actor: Any = None) -> Job:
    """Run a failed, cancelled or completed job again now; returns the pending job.

    Its attempt count and error history are kept; max_attempts grows when it
    was used up, so the job gets at least one more attempt.
    """
    now = timezone.now()
    with transaction.atomic():
        job = _locked_job(job_id, RETRYABLE_STATUSES, "retry")
        previous = job.status
        job.status = JobStatus.PENDING
        job.run_at = now
        job.max_attempts = max(job.max_attempts, job.attempts + 1)
        job.progress = 0
        job.output = None
        job.locked_by = job.locked_until = None
        job.started_at = job.completed_at = job.failed_at = job.cancelled_at = None
        job.save()
        notifications.notify_jobs([job], "retried")
        JobEvent.objects.create(
            job=job,
            type=EventType.RETRIED,
            metadata=event_metadata(actor, previous_status=previous),
        )
    return job


def cancel_job(job_id: int, *, actor: Any = None) -> Job:
    """Cancel a pending, waiting or processing job; returns it.

    A processing job is marked cancelled at once; its handler sees
    ``ctx.should_abort()`` and its result is discarded.
    """
    with transaction.atomic():
        job = _locked_job(job_id, CANCELLABLE_STATUSES, "cancel")
        previous = job.status
        job.status = JobStatus.CANCELLED
        job.cancelled_at = timezone.now()
        job.save()
        notifications.notify_jobs([job], "cancelled")
        JobEvent.objects.create(
            job=job,
            type=EventType.CANCELLED,
            metadata=event_metadata(actor, previous_status=previous),
        )
    tokens.time_out_tokens_of([job.pk])  # nobody can wake it any more
    dependencies.settle()  # its dependents are cancelled too
    return job


def edit_job(job_id: int, *, actor: Any = None, **changes: Any) -> Job:
    """Change fields of a pending job; returns it. See ``spec.EDITABLE_FIELDS``."""
    values = spec.clean_changes(changes)
    with transaction.atomic():
        job = _locked_job(job_id, EDITABLE_STATUSES, "edit")
        diff = {}
        for name, value in values.items():
            old = getattr(job, name)
            if old != value:
                diff[name] = {"from": old, "to": value}
                setattr(job, name, value)
        if diff:
            job.save()
            JobEvent.objects.create(
                job=job, type=EventType.EDITED, metadata=event_metadata(actor, changes=diff)
            )
    return job


def run_job_now(job_id: int, *, actor: Any = None) -> Job:
    """Make a pending job due now (scheduled or in retry backoff); returns it."""
    return edit_job(job_id, actor=actor, run_at=timezone.now())


def delete_job(job_id: int, *, actor: Any = None) -> None:
    """Delete a job that is not processing, with its events.

    A processing job must be cancelled first, so its worker sees the abort.
    """
    with transaction.atomic():
        job = _locked_job(job_id, tuple(set(JobStatus.values) - {JobStatus.PROCESSING}), "delete")
        notifications.notify_jobs([job], "deleted", "deleted")
        job.delete()
    # Its events go with it, so the deletion is recorded in the log instead.
    logger.info("Job id=%s type=%s deleted by=%s", job_id, job.job_type, actor)
