"""The Job table and its event history."""

import json
from typing import Any

from django.core import signing
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.urls import reverse


class JobStatus(models.TextChoices):
    """Where a job is in its lifecycle."""

    PENDING = "pending"
    PROCESSING = "processing"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: Statuses a job never leaves on its own.
FINISHED_STATUSES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)
#: Statuses from which a job may be retried.
RETRYABLE_STATUSES = FINISHED_STATUSES
#: Statuses from which a job may be cancelled (a processing job sees should_abort()).
CANCELLABLE_STATUSES = (JobStatus.PENDING, JobStatus.WAITING, JobStatus.PROCESSING)
#: Statuses in which a job may be edited.
EDITABLE_STATUSES = (JobStatus.PENDING,)


class RetryBackoff(models.TextChoices):
    """How the delay between attempts grows."""

    FIXED = "fixed"
    EXPONENTIAL = "exponential"


class EventType(models.TextChoices):
    """Kinds of entries in a job's history."""

    ADDED = "added"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    RETRIED = "retried"
    CANCELLED = "cancelled"
    EDITED = "edited"
    PROLONGED = "prolonged"
    WAITING = "waiting"
    RESUMED = "resumed"
    DEFERRED = "deferred"
    PROGRESS = "progress"
    RECLAIMED = "reclaimed"


class Job(models.Model):
    """One unit of work: a handler name, a JSON payload and how to run it."""

    id = models.BigAutoField(primary_key=True)
    job_type = models.CharField(max_length=200)
    queue = models.CharField(max_length=100, default="default")
    channel = models.CharField(max_length=200, null=True, blank=True)
    payload = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=JobStatus, default=JobStatus.PENDING)
    #: -100..100; higher runs first.
    priority = models.SmallIntegerField(default=0)
    run_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=3)
    #: Seconds before the first retry (the base of the exponential backoff).
    retry_delay = models.FloatField(default=10.0)
    retry_backoff = models.CharField(
        max_length=20, choices=RetryBackoff, default=RetryBackoff.EXPONENTIAL
    )
    #: Cap in seconds on the delay between attempts.
    retry_delay_max = models.FloatField(default=3600.0)
    #: Seconds a run may take; None for no limit.
    timeout = models.FloatField(null=True, blank=True)
    force_kill_on_timeout = models.BooleanField(default=False)
    #: Seconds each lease of this job lasts (``enqueue(lock=…)``); None: the worker's own.
    lock_timeout = models.FloatField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    output = models.JSONField(null=True, blank=True)
    #: One entry per failed attempt: attempt, at, message, type, traceback, reason.
    errors = models.JSONField(default=list, blank=True)
    #: Memoized results of ``ctx.run`` steps, by step name (and the run's waits and tokens).
    step_data = models.JSONField(default=dict, blank=True)
    #: State saved by ``ctx.defer`` for the next run (``ctx.state``).
    state = models.JSONField(null=True, blank=True)
    wait_until = models.DateTimeField(null=True, blank=True)
    wait_token = models.CharField(max_length=64, null=True, blank=True)
    #: Ids of jobs that must complete before this one runs.
    depends_on = models.JSONField(default=list, blank=True)
    dead_letter_job_type = models.CharField(max_length=200, null=True, blank=True)
    locked_by = models.CharField(max_length=200, null=True, blank=True)
    #: The lease: a processing job whose lease passed is reclaimed.
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    #: When the worker reported this attempt's handler running (its heartbeat, or before
    #: the start of a job whose last worker was lost): if the worker dies, only such a
    #: job pays the attempt; the others get it back.
    seen_running_at = models.DateTimeField(null=True, blank=True, editable=False)
    #: Times a worker was lost holding this job without having reported it running; the
    #: next worker records its start before running it, so a job that kills its worker
    #: is charged for it, and nobody else is.
    lost_count = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Exactly the claim query: pending jobs of a queue in run order
            # (those without a channel; job_channel_idx holds the others).
            models.Index(
                "queue",
                models.F("priority").desc(),
                "run_at",
                "id",
                name="job_claim_idx",
                condition=Q(status="pending", channel__isnull=True),
            ),
            # Channels' pending jobs in run order: the claim's round-robin walks
            # the distinct channels through it (a skip scan) and takes each
            # channel's next jobs.
            models.Index(
                "channel",
                models.F("priority").desc(),
                "run_at",
                "id",
                name="job_channel_idx",
                condition=Q(status="pending", channel__isnull=False),
            ),
            models.Index(fields=["status", "id"], name="job_status_idx"),
            models.Index(fields=["job_type", "id"], name="job_type_idx"),
            # Lists filtered by creation time, newest first (core.insights.ordering).
            models.Index(fields=["created_at", "id"], name="job_created_idx"),
            models.Index(
                fields=["locked_until"], name="job_lease_idx", condition=Q(status="processing")
            ),
            # The dashboard's last-hour throughput and run-time figures.
            models.Index(
                fields=["completed_at"],
                name="job_completed_idx",
                condition=Q(completed_at__isnull=False),
            ),
            models.Index(
                fields=["failed_at"], name="job_failed_idx", condition=Q(failed_at__isnull=False)
            ),
            # Pruning walks each finished status by its time (as the two above).
            models.Index(
                fields=["cancelled_at"],
                name="job_cancelled_idx",
                condition=Q(cancelled_at__isnull=False),
            ),
            # Sleeping jobs, by the time they wake.
            models.Index(fields=["wait_until"], name="job_wait_idx", condition=Q(status="waiting")),
            # Jobs held for their dependencies (core.demo.handlers.dependencies.HELD).
            models.Index(
                fields=["id"],
                name="job_held_idx",
                condition=Q(status="waiting", wait_until__isnull=True, wait_token__isnull=True),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="job_idempotency_key_uniq",
            ),
            models.CheckConstraint(
                condition=Q(priority__gte=-100, priority__lte=100),
                name="job_priority_range",
            ),
            models.CheckConstraint(
                condition=Q(progress__gte=0, progress__lte=100),
                name="job_progress_range",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.job_type} ({self.status})"

    @property
    def is_finished(self) -> bool:
        """True once the job is completed, failed or cancelled."""
        return self.status in FINISHED_STATUSES

    @property
    def can_retry(self) -> bool:
        """True when retry_job accepts this job."""
        return self.status in RETRYABLE_STATUSES

    @property
    def can_cancel(self) -> bool:
        """True when cancel_job accepts this job."""
        return self.status in CANCELLABLE_STATUSES

    @property
    def can_edit(self) -> bool:
        """True when edit_job accepts this job."""
        return self.status in EDITABLE_STATUSES

    @property
    def status_url(self) -> str:
        """A signed, unguessable path that shows this job's status without login.

        Give it to the page of the user the job works for; ``/api/status/<ref>``
        returns ``{status, progress, output, error, updated_at, finished}``.
        """
        return reverse("queueadmin_api:status", args=[status_ref(self.pk)])

    #: What ``wait`` hands over to: core.jobs.replies.wait_for, installed when it is
    #: imported (the queue API imports it), so the models need not know the drivers.
    waiter = None

    def wait(
        self,
        timeout: float | None = None,
        *,
        interval: float | None = None,
        raise_on_failure: bool = True,
    ) -> "Job":
        """Block until this job is completed, failed or cancelled; return it refreshed.

        A failed job raises JobFailed and a cancelled one JobCancelled (with ``.job``
        and ``.error``, its last error entry) unless ``raise_on_failure`` is False.
        Raises TimeoutError after ``timeout`` seconds (None waits forever). Wakes on
        the job's notification on PostgreSQL; polls on SQLite (see core.jobs.replies).
        """
        if Job.waiter is None:
            import importlib

            importlib.import_module("core.jobs.replies")  # installs Job.waiter
        return Job.waiter(self.pk, timeout, interval=interval, raise_on_failure=raise_on_failure)


#: Salt of the signed status references (``Job.status_url``).
STATUS_SALT = "queueadmin.api.status"


def _status_signer() -> signing.Signer:
    return signing.Signer(salt=STATUS_SALT, algorithm="sha256")


def status_ref(job_id: int) -> str:
    """The signed reference of a job's status URL (its id and an HMAC of it)."""
    return _status_signer().sign(str(job_id))


def job_id_of(ref: str) -> int | None:
    """The job id a status reference was signed for, or None if we did not sign it."""
    try:
        value = _status_signer().unsign(ref)
    except signing.BadSignature:
        return None
    return int(value) if value.isascii() and value.isdigit() else None


def event_metadata(actor: Any = None, **details: Any) -> dict[str, Any]:
    """JobEvent metadata as JSON (datetimes as ISO strings), with the acting user if any."""
    if actor is not None:
        details["actor"] = str(actor)
    return json.loads(json.dumps(details, cls=DjangoJSONEncoder))


class JobEvent(models.Model):
    """One entry of a job's history: what happened, when, and details."""

    id = models.BigAutoField(primary_key=True)
    # Indexed by jobevent_job_idx (job, id). No foreign-key constraint in the database:
    # its check ran for every event row, two per job run, and cost a worker a tenth of
    # its throughput. Events are written with their job's row (the claim and outcome
    # statements hold it), and every path that deletes jobs deletes their events
    # (core.jobs.removal, the ORM's cascade). A handler's own event (progress,
    # prolonged) written in the very moment its job is deleted can outlive the job
    # until EVENT_RETENTION prunes it.
    job = models.ForeignKey(
        Job,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    type = models.CharField(max_length=20, choices=EventType)
    at = models.DateTimeField(auto_now_add=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["job", "id"], name="jobevent_job_idx")]

    def __str__(self) -> str:
        return f"{self.type} of job #{self.job_id} at {self.at:%Y-%m-%d %H:%M:%S}"
