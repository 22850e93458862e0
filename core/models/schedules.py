"""Cron schedules: a job template enqueued at each fire time of an expression."""

from django.db import models
from django.db.models import Q


class CronStatus(models.TextChoices):
    """Whether a schedule fires."""

    ACTIVE = "active"
    PAUSED = "paused"


class CronSchedule(models.Model):
    """A named cron expression in a timezone and the job it enqueues each time."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=200, unique=True)
    expression = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC")
    job_type = models.CharField(max_length=200)
    payload = models.JSONField(null=True, blank=True)
    #: Validated enqueue options of the job (queue, priority, tags, timeout, retries...).
    options = models.JSONField(default=dict, blank=True)
    #: False: a fire time is skipped while the previous job is still unfinished.
    allow_overlap = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=CronStatus, default=CronStatus.ACTIVE)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_enqueued_at = models.DateTimeField(null=True, blank=True)
    last_job = models.ForeignKey(
        "queueadmin.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: Fire times skipped because the previous job was unfinished.
    skipped = models.PositiveIntegerField(default=0)
    last_skipped_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["next_run_at"], name="cron_due_idx", condition=Q(status="active"))
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.expression} {self.timezone})"
