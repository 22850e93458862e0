"""Enqueue by a person (the dashboard's "New job"): the job's ``added`` event names them.

Enqueue stores no ``added`` row (the job's ``created_at`` holds that fact); a job
someone added by hand gets one, with the actor, in the insert's transaction.
"""

import logging
from typing import Any

from django.db import transaction

from core.jobs.enqueue import enqueue
from core.models import EventType, Job, JobEvent
from core.models.jobs import event_metadata

logger = logging.getLogger("queueadmin.queue")


def enqueue_by(actor: Any, job_type: str, payload: Any = None, *, via: str, **options: Any) -> Job:
    """``enqueue`` on behalf of ``actor`` (through ``via``, e.g. "dashboard"); a job that
    already had the idempotency key comes back (``deduplicated``) with nothing written."""
    with transaction.atomic():
        job = enqueue(job_type, payload, **options)
        if not job.deduplicated:
            JobEvent.objects.create(
                job_id=job.pk, type=EventType.ADDED, metadata=event_metadata(actor, via=via)
            )
    if not job.deduplicated:
        logger.info("Job id=%s type=%s enqueued by=%s via=%s", job.pk, job.job_type, actor, via)
    return job
