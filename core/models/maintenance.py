"""Maintenance tasks: when each last ran, what it did, and which worker holds it now."""

from django.db import models


class MaintenanceTask(models.Model):
    """One periodic maintenance task (core.maintenance); its row is the lock that
    lets only one worker at a time run it."""

    name = models.CharField(primary_key=True, max_length=100)
    #: When the last run started (the interval counts from there).
    last_run_at = models.DateTimeField(null=True, blank=True)
    #: What the last run did: ok, summary, seconds, counts (or the error).
    last_result = models.JSONField(null=True, blank=True)
    #: Worker running the task now; None when nobody is.
    locked_by = models.CharField(max_length=200, null=True, blank=True)
    #: The lock ends here even if its worker died mid-run.
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
