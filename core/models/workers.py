"""Live worker processes, as their heartbeats report them."""

from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

from core import conf


def stale_after() -> float:
    """Seconds without a heartbeat after which a worker counts as dead."""
    seconds = conf.get("WORKER_STALE_SECONDS")
    return 3 * conf.get("LEASE_SECONDS") if seconds is None else seconds


class WorkerQuerySet(models.QuerySet):
    """Worker lookups by liveness."""

    def alive(self, now: datetime | None = None) -> "WorkerQuerySet":
        """Workers whose last heartbeat is recent enough."""
        cutoff = (now or timezone.now()) - timedelta(seconds=stale_after())
        return self.filter(heartbeat_at__gte=cutoff)


class Worker(models.Model):
    """One `runworker` process: where it runs, what it serves, when it last beat."""

    id = models.CharField(primary_key=True, max_length=200)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    #: Queue names served; empty means every queue.
    queues = models.JSONField(default=list, blank=True)
    job_types = models.JSONField(default=list, blank=True)
    concurrency = models.PositiveIntegerField()
    #: Jobs running at the last heartbeat.
    running = models.PositiveIntegerField(default=0)
    #: Jobs finished (completed or failed) since start, at the last heartbeat.
    processed = models.PositiveBigIntegerField(default=0)
    #: Of those, jobs completed and jobs failed for good (the rest were retried);
    #: counters since the worker started, for /api/metrics.
    completed = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()

    objects = WorkerQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["heartbeat_at"], name="worker_heartbeat_idx")]

    def __str__(self) -> str:
        return self.id

    def is_stale(self, now: datetime | None = None) -> bool:
        """True when the heartbeat is too old: the process is probably gone."""
        age = ((now or timezone.now()) - self.heartbeat_at).total_seconds()
        return age > stale_after()

    def serves(self, queue: str, job_type: str) -> bool:
        """True when this worker claims jobs of ``queue`` and ``job_type``."""
        queue_ok = not self.queues or "*" in self.queues or queue in self.queues
        return queue_ok and (not self.job_types or job_type in self.job_types)
