"""Live worker processes, as their heartbeats report them."""

from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

from core import conf


def stale_after() -> float:
    """Seconds without a heartbeat after which a worker counts as dead."""
    seconds = conf.get("WORKER_STALE_SECONDS")
    return 3 * conf.get("LEASE_SECONDS") if seconds is None else seconds


class WorkerState(models.TextChoices):
    """What a worker reports it is doing."""

    RUNNING = "running", "running"
    QUIET = "quiet", "quiet"
    STOPPING = "stopping", "stopping"


class WorkerOrder(models.TextChoices):
    """An operator's order to a worker, carried by its row."""

    QUIET = "quiet", "quiet"
    STOP = "stop", "stop"


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
    #: What the worker reports it is doing: running, quiet (claims nothing new,
    #: finishes what runs) or stopping.
    state = models.CharField(
        max_length=10, choices=WorkerState.choices, default=WorkerState.RUNNING
    )
    #: An operator's order, read at the worker's next heartbeat: "" (none), quiet or stop.
    order = models.CharField(max_length=10, choices=WorkerOrder.choices, blank=True, default="")
    #: Who gave the order, and when.
    ordered_by = models.CharField(max_length=150, blank=True, default="")
    ordered_at = models.DateTimeField(null=True, blank=True)
    #: Handler threads waiting for work at the last heartbeat.
    idle = models.PositiveIntegerField(default=0)
    #: How long the last heartbeat's round trip to the database took, in milliseconds.
    ping_ms = models.FloatField(null=True, blank=True)
    #: Handler threads that have not reported for too long while their job has no
    #: timeout: [{"thread": name, "job": id, "silent_seconds": s}, ...].
    stuck = models.JSONField(default=list, blank=True)

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


class DeathReason(models.TextChoices):
    """How a worker's end was noticed."""

    #: Its heartbeat stopped; maintenance removed its row.
    STALE = "stale", "stale heartbeat"
    #: A child of ``runworker --processes`` exited without being asked to; the
    #: supervisor started another.
    EXITED = "exited", "exited unasked"


class WorkerDeath(models.Model):
    """A worker that ended without being asked to: the history behind the
    "workers died" figures."""

    worker = models.CharField(max_length=200)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    reason = models.CharField(max_length=10, choices=DeathReason.choices)
    #: What else is known: exit code or signal, last heartbeat, jobs it held.
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["at"], name="workerdeath_at_idx")]

    def __str__(self) -> str:
        return f"{self.worker} ({self.reason})"
