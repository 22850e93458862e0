"""A plain sentence saying why a job is not running yet."""

from datetime import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timesince import timeuntil

from core.insights.humanize import duration
from core.models import Job, JobStatus, Worker
from core.scheduling.policies import channel_usage, queue_usage

#: Jobs counted ahead of a due job before the sentence says "more than".
AHEAD_LIMIT = 1_000


def _when(moment: datetime, now: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{date_format(local, 'Y-m-d H:i:s')} (in {timeuntil(moment, now)})"


def _ahead(job: Job, now: datetime) -> str:
    before = Q(priority__gt=job.priority) | Q(priority=job.priority, run_at__lt=job.run_at)
    before |= Q(priority=job.priority, run_at=job.run_at, id__lt=job.id)
    qs = Job.objects.filter(before, status=JobStatus.PENDING, queue=job.queue, run_at__lte=now)
    n = qs.order_by()[: AHEAD_LIMIT + 1].count()
    if n == 0:
        return "it is next in line"
    if n > AHEAD_LIMIT:
        return f"more than {AHEAD_LIMIT:,} jobs are ahead of it"
    return f"{n:,} job{'s' if n != 1 else ''} {'are' if n != 1 else 'is'} ahead of it"


def _policy(job: Job) -> str | None:
    """Why the queue's or the channel's policy holds the job back now, or None.

    Two queries for the queue and two for the channel, whatever the policies.
    """
    queue = queue_usage([job.queue])[job.queue]
    name = f"“{job.queue}”"
    if queue.paused:
        return f"Its queue {name} is paused: no job of it starts until the queue is resumed."
    if queue.full:
        return (
            f"Its queue {name} is at its concurrency limit: {queue.running:,} of "
            f"{queue.max_concurrency:,} jobs running; one must finish before another starts."
        )
    if queue.rate_reached:
        period = duration(queue.policy.rate_period)
        return (
            f"Its queue {name} reached its rate limit: {queue.starts:,} starts in the last "
            f"{period} (limit {queue.rate_limit:,} per {period}); the next start is possible "
            f"in {duration(queue.next_start_in)}."
        )
    if not job.channel:
        return None
    channel = channel_usage([job.channel])[job.channel]
    name = f"“{job.channel}”"
    if channel.full:
        return (
            f"Its channel {name} is at its concurrency limit: {channel.running:,} of "
            f"{channel.max_concurrency:,} jobs running; one must finish before another starts."
        )
    if channel.next_start_in > 0:
        return (
            f"Its channel {name} waits out its release interval of "
            f"{duration(channel.policy.release_interval)} between starts: the next start "
            f"is possible in {duration(channel.next_start_in)}."
        )
    return None


def why_not_running(job: Job, now: datetime | None = None) -> str | None:
    """Why a pending or waiting job has not started; None for other statuses."""
    now = now or timezone.now()
    if job.status not in (JobStatus.WAITING, JobStatus.PENDING):
        return None
    if job.status == JobStatus.WAITING and job.wait_token:
        return "It is waiting for a token to be completed."
    if job.status == JobStatus.WAITING and job.wait_until:
        return f"It is sleeping until {_when(job.wait_until, now)}."
    if job.depends_on:
        unfinished = list(
            Job.objects.filter(id__in=job.depends_on)
            .exclude(status=JobStatus.COMPLETED)
            .order_by("id")
            .values_list("id", flat=True)
        )
        if unfinished:
            ids = ", ".join(f"#{i}" for i in unfinished)
            return f"It is waiting on job{'s' if len(unfinished) > 1 else ''} {ids} to complete."
    if job.status == JobStatus.WAITING:
        return "It is waiting."
    if job.run_at > now:
        if job.attempts:
            return (
                f"It is in retry backoff after attempt {job.attempts} of {job.max_attempts} "
                f"failed; the next attempt is due at {_when(job.run_at, now)}."
            )
        return f"It is scheduled for {_when(job.run_at, now)}."
    alive = list(Worker.objects.alive(now))
    if not any(worker.serves(job.queue, job.job_type) for worker in alive):
        return (
            f"No live worker serves the queue “{job.queue}” and job type “{job.job_type}”; "
            f"start one with: manage.py runworker --queue {job.queue}"
        )
    held = _policy(job)
    if held:
        return held
    return f"It is due and waiting for a free worker: {_ahead(job, now)}."
