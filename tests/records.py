"""Rows that tests in several packages set up or read back: a job forced into a status, a
job parked on a wait token, a cron schedule; a job's event types, the policy tables."""

from core import queue
from core.durable import tokens
from core.models import ChannelPolicy, Job, Queue, WaitToken
from core.scheduling import cron


def set_status(job, status, **fields):
    """Force ``job`` into ``status`` (and ``fields``), past the queue API's checks."""
    Job.objects.filter(pk=job.pk).update(status=status, **fields)


def waiting_job(job_type="orders.approve", *, timeout=60, tags=("approval",)) -> WaitToken:
    """A job parked on a fresh token, as a worker would leave it; returns the token."""
    job = queue.enqueue(job_type, {"order": 7})
    token = tokens.create_token(job.id, timeout=timeout, tags=list(tags))
    Job.objects.filter(pk=job.pk).update(
        status="waiting", wait_token=token.id, wait_until=token.timeout_at
    )
    return token


def schedule(name="nightly", expression="30 1 * * *", job_type="reports.build", **kwargs):
    """A cron schedule; ``payload`` and the job options go in ``kwargs``."""
    return cron.add_cron(name, expression, job_type, kwargs.pop("payload", None), **kwargs)


def event_types(job) -> list[str]:
    """The types of ``job``'s events, oldest first, as its history shows them (the
    ``added`` event is made from ``created_at``)."""
    job = Job.objects.get(pk=job.pk)
    return [event.type for event in reversed(queue.job_events(job))]


def policy_snapshot():
    """Every queue and channel policy row: equal before and after means nothing was written."""
    return (
        list(Queue.objects.order_by("name").values()),
        list(ChannelPolicy.objects.order_by("name").values()),
    )


def cron_form(**overrides) -> dict:
    """The dashboard's cron schedule form, filled in (None drops a field)."""
    data = {
        "name": "every-five",
        "expression": "*/5 * * * *",
        "timezone": "UTC",
        "job_type": "test.echo",
        "payload": "",
        "queue": "default",
        "priority": "0",
        "tags": "",
        "timeout": "",
        "max_attempts": "3",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
