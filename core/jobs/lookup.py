"""Look jobs up: by id, by filter (keyset pages), and wait for one to finish."""

from typing import Any

from core.exceptions import InvalidJobError, JobNotFound
from core.jobs import replies
from core.jobs.filters import filter_jobs
from core.models import EventType, Job, JobEvent
from core.validation import MAX_BIGINT


def job_pk(job_id: Any) -> int:
    """A job's id from a Job, an int or a numeric string; InvalidJobError otherwise
    (also for an integer no id column holds)."""
    if isinstance(job_id, Job):
        return job_id.pk
    if isinstance(job_id, bool) or not isinstance(job_id, int | str):
        raise InvalidJobError(f"job id must be an integer, got {job_id!r}")
    try:
        pk = int(job_id)
    except ValueError:
        raise InvalidJobError(f"job id must be an integer, got {job_id!r}") from None
    if not -MAX_BIGINT <= pk <= MAX_BIGINT:
        raise InvalidJobError(f"job id must be an integer up to {MAX_BIGINT}, got {job_id!r}")
    return pk


def job_events(job: Job, limit: int | None = None) -> list[JobEvent]:
    """``job``'s history, newest first (at most ``limit`` stored events), its ``added``
    event included. Enqueue stores no ``added`` row (the job's ``created_at`` holds that
    fact), so one is made from it when the history reaches the job's beginning and no
    stored one is there (jobs enqueued before, demo seed data)."""
    stored = job.events.order_by("-id")
    events = list(stored if limit is None else stored[:limit])
    if (limit is None or len(events) < limit) and not any(
        event.type == EventType.ADDED for event in events
    ):
        events.append(JobEvent(job=job, type=EventType.ADDED, at=job.created_at, metadata={}))
    return events


def get_job(job_id: int) -> Job:
    """Return the job with this id, or raise JobNotFound."""
    try:
        return Job.objects.get(pk=job_pk(job_id))
    except Job.DoesNotExist:
        raise JobNotFound(f"no job with id {job_id}") from None


def find_jobs(
    *, limit: int = 100, cursor: int | None = None, newest_first: bool = True, **filters: Any
) -> list[Job]:
    """Return up to ``limit`` jobs matching ``filters``, ordered by id.

    Keyset pagination: pass the id of the last job of a page as ``cursor`` to
    get the next page. Filters: see ``core.jobs.filters.filter_jobs``.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise InvalidJobError(f"limit: must be an integer from 1 to 10000, got {limit!r}")
    qs = filter_jobs(**filters)
    if cursor is not None:
        cursor = job_pk(cursor)
        qs = qs.filter(id__lt=cursor) if newest_first else qs.filter(id__gt=cursor)
    return list(qs.order_by("-id" if newest_first else "id")[:limit])


def wait(
    job_id: int,
    timeout: float | None = None,
    *,
    interval: float | None = None,
    raise_on_failure: bool = True,
) -> Job:
    """Block until the job is completed, failed or cancelled; return it refreshed.

    A failed job raises JobFailed, a cancelled one JobCancelled, unless
    ``raise_on_failure`` is False. Raises TimeoutError after ``timeout`` seconds (None
    waits forever), JobNotFound if there is no such job. Wakes on the job's
    notification on PostgreSQL, polls on SQLite (see ``core.jobs.replies``).
    """
    return replies.wait_for(
        job_pk(job_id), timeout, interval=interval, raise_on_failure=raise_on_failure
    )
