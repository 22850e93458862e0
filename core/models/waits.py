"""Wait tokens: a job parked until a person (or another system) completes one."""

import secrets

from django.db import models
from django.db.models import Q


def new_token_id() -> str:
    """A random, unguessable token id (32 url-safe characters)."""
    return secrets.token_urlsafe(24)


class TokenStatus(models.TextChoices):
    """Where a wait token is in its life."""

    WAITING = "waiting"
    COMPLETED = "completed"
    TIMED_OUT = "timed_out"


class WaitToken(models.Model):
    """A token a job waits for; completing it wakes the job with its data."""

    id = models.CharField(primary_key=True, max_length=64, default=new_token_id, editable=False)
    job = models.ForeignKey("queueadmin.Job", on_delete=models.CASCADE, related_name="tokens")
    status = models.CharField(max_length=20, choices=TokenStatus, default=TokenStatus.WAITING)
    #: The data given when the token was completed.
    output = models.JSONField(null=True, blank=True)
    #: When the token times out if nobody completes it; None waits forever.
    timeout_at = models.DateTimeField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # A job's tokens are found through the foreign key's own index.
        indexes = [
            # The dashboard's Tokens page: by status, newest first.
            models.Index(
                "status",
                models.F("created_at").desc(),
                models.F("id").desc(),
                name="waittoken_list_idx",
            ),
            models.Index(
                fields=["timeout_at"], name="waittoken_timeout_idx", condition=Q(status="waiting")
            ),
        ]

    def __str__(self) -> str:
        return f"token {self.id[:8]}… of job #{self.job_id} ({self.status})"
