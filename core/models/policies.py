"""Queue and channel policies: pause, concurrency limits, rate limits, release intervals.

A queue or channel without a row has no policy and costs the claim nothing.
The claim (core.drivers) enforces every policy in the database, under a lock
of the policy's row, so limits hold across any number of workers and hosts.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import models


def starts_in_window(starts: Iterable, period: float, now: float) -> list[float]:
    """The start times (epoch seconds) within the rate window (now - period, now],
    oldest first; also later ones, recorded by claims with a later clock."""
    since = now - period
    return sorted(
        float(t)
        for t in starts
        if isinstance(t, int | float) and not isinstance(t, bool) and t > since
    )


def release_wait(last_started_at: datetime | None, interval: float | None, now: datetime) -> float:
    """Seconds until a channel's release interval allows its next start (0: now)."""
    if interval is None or last_started_at is None:
        return 0.0
    return max(0.0, interval - (now - last_started_at).total_seconds())


class Queue(models.Model):
    """A queue's policy: paused, at most ``max_concurrency`` jobs running across all
    workers, at most ``rate_limit`` starts in any ``rate_period`` seconds."""

    name = models.CharField(primary_key=True, max_length=100)
    paused = models.BooleanField(default=False)
    max_concurrency = models.PositiveIntegerField(
        null=True, blank=True, help_text="Jobs running at once across all workers; empty: no limit."
    )
    rate_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Starts allowed per rate period; empty: no limit."
    )
    rate_period = models.FloatField(default=1.0, help_text="Seconds.")
    #: Start times (epoch seconds, database clock) within the last two rate periods,
    #: kept by the claim to enforce the rate limit as a sliding window.
    recent_starts = models.JSONField(default=list, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_limited(self) -> bool:
        return self.max_concurrency is not None or self.rate_limit is not None


class ChannelPolicy(models.Model):
    """A channel's policy: at most ``max_concurrency`` of its jobs running at once,
    and at least ``release_interval`` seconds between two starts."""

    name = models.CharField(primary_key=True, max_length=200)
    max_concurrency = models.PositiveIntegerField(null=True, blank=True)
    release_interval = models.FloatField(
        null=True, blank=True, help_text="Minimum seconds between two starts; empty: none."
    )
    #: When the claim last started one of the channel's jobs (database clock).
    last_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "channel policies"

    def __str__(self) -> str:
        return self.name
