"""Live worker processes, as their heartbeats report them."""

from django.db import models


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
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["heartbeat_at"], name="worker_heartbeat_idx")]

    def __str__(self) -> str:
        return self.id
