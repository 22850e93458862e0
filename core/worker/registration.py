"""The worker's row: written when it starts, removed when it stops cleanly."""

import logging
import os
import socket

from django.utils import timezone

from core.models import Worker, WorkerState
from core.worker.options import WorkerOptions

logger = logging.getLogger("queueadmin.worker")


def register(worker_id: str, options: WorkerOptions) -> None:
    """Write (or overwrite) the Worker row of a starting worker."""
    now = timezone.now()
    Worker.objects.update_or_create(
        id=worker_id,
        defaults={
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "queues": options.queues or [],
            "job_types": options.job_types or [],
            "concurrency": options.concurrency,
            "running": 0,
            "processed": 0,
            "completed": 0,
            "failed": 0,
            "started_at": now,
            "heartbeat_at": now,
            # A worker id used again starts afresh: no order, nothing stuck.
            "state": WorkerState.RUNNING,
            "order": "",
            "ordered_by": "",
            "ordered_at": None,
            "idle": options.concurrency,
            "ping_ms": None,
            "stuck": [],
        },
    )


def unregister(worker_id: str) -> None:
    """Remove the row of a worker that stops cleanly (a failure is logged)."""
    try:
        Worker.objects.filter(id=worker_id).delete()
    except Exception:
        logger.exception("could not remove worker row %s", worker_id)
