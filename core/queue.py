"""The public queue API: enqueue jobs, look them up, and change them.

Every state change writes a JobEvent in the same transaction, so a caller's
``transaction.atomic()`` that rolls back leaves neither job nor event.
"""

import logging
import time
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models.base import ModelState
from django.utils import timezone

from core import dependencies, jobspec, tokens
from core.drivers import get_driver
from core.exceptions import InvalidJobError, JobNotFound, JobStateError
from core.filters import filter_jobs
from core.models import EventType, Job, JobEvent, JobStatus
from core.models.jobs import CANCELLABLE_STATUSES, EDITABLE_STATUSES, RETRYABLE_STATUSES

logger = logging.getLogger(__name__)

__all__ = [
    "add_cron",
    "cancel_job",
    "cancel_jobs",
    "channel_usage",
    "clear_channel_policy",
    "complete_token",
    "create_token",
    "delete_job",
    "edit_cron",
    "edit_job",
    "edit_jobs",
    "enqueue",
    "enqueue_many",
    "expire_token",
    "expire_tokens",
    "find_jobs",
    "get_channel_policy",
    "get_cron",
    "get_job",
    "get_queue_policy",
    "get_token",
    "list_crons",
    "list_queue_policies",
    "pause_cron",
    "pause_queue",
    "queue_usage",
    "remove_cron",
    "resume_cron",
    "resume_queue",
    "retry_job",
    "retry_jobs",
    "run_cron_now",
    "run_job_now",
    "set_channel_policy",
    "set_queue_policy",
    "wait",
]


def _job_id(job_id: Any) -> int:
    if isinstance(job_id, Job):
        return job_id.pk
    if isinstance(job_id, bool) or not isinstance(job_id, int | str):
        raise InvalidJobError(f"job id must be an integer, got {job_id!r}")
    try:
        return int(job_id)
    except ValueError:
        raise InvalidJobError(f"job id must be an integer, got {job_id!r}") from None


def _check_dependencies(rows: Iterable[dict[str, Any]]) -> None:
    wanted = {dep for row in rows for dep in row["depends_on"]}
    if not wanted:
        return
    found = set(Job.objects.filter(id__in=wanted).values_list("id", flat=True))
    missing = sorted(wanted - found)
    if missing:
        raise InvalidJobError(f"depends_on: no job with id {', '.join(map(str, missing))}")


#: Jobs per insert statement: rows travel as one JSON parameter, so this only
#: bounds the statement's size.
INSERT_CHUNK = 10_000

#: Values of a just-inserted job's columns that enqueue does not set.
_BLANK_JOB = {
    **dict.fromkeys(f.attname for f in Job._meta.concrete_fields),
    "status": JobStatus.PENDING,
    "attempts": 0,
    "progress": 0,
}


def _job_from_row(row: dict[str, Any], job_id: int, run_at, created_at) -> Job:
    """The Job just inserted, built like Model.from_db but without a per-field loop."""
    job = Job.__new__(Job)
    job.__dict__.update(_BLANK_JOB)
    job.__dict__.update(row)
    job.__dict__.update(
        id=job_id,
        run_at=run_at,
        created_at=created_at,
        updated_at=created_at,
        errors=[],
        step_data={},
        deduplicated=False,
    )
    job._state = ModelState()
    job._state.adding = False
    job._state.db = DEFAULT_DB_ALIAS
    return job


def _insert(rows: list[dict[str, Any]]) -> list[Job]:
    """Insert validated rows (one statement per chunk) and return a Job per row.

    Rows whose idempotency key exists, or repeats an earlier row's, get the
    existing job (``deduplicated`` True).
    """
    _check_dependencies(rows)
    unique = list({row["idempotency_key"] or ("", i): row for i, row in enumerate(rows)}.values())
    driver = get_driver()
    chunk = INSERT_CHUNK
    created: list[Job | None] = []
    # One chunk is one atomic statement (its own transaction on SQLite): no
    # BEGIN/COMMIT round trips needed around it.
    several = len(unique) > chunk
    # Jobs with dependencies are held in the insert's transaction, so no
    # worker sees them pending first.
    held = any(row["depends_on"] for row in unique)
    with transaction.atomic() if several or held else nullcontext():
        for start in range(0, len(unique), chunk):
            part = unique[start : start + chunk]
            for row, result in zip(part, driver.insert_jobs(part), strict=True):
                created.append(None if result is None else _job_from_row(row, *result))
        if held:
            dependencies.hold([job for job in created if job is not None])
    taken = [
        row["idempotency_key"] for row, job in zip(unique, created, strict=True) if job is None
    ]
    existing = (
        {job.idempotency_key: job for job in Job.objects.filter(idempotency_key__in=taken)}
        if taken
        else {}
    )
    by_key, unkeyed = {}, []
    for row, job in zip(unique, created, strict=True):
        key = row["idempotency_key"]
        if job is None:
            job = existing[key]
            job.deduplicated = True
        if key is None:
            unkeyed.append(job)
        else:
            by_key[key] = job
    fresh = iter(unkeyed)
    return [
        next(fresh) if row["idempotency_key"] is None else by_key[row["idempotency_key"]]
        for row in rows
    ]


def enqueue(job_type: str, payload: Any = None, **options: Any) -> Job:
    """Add one job and return it.

    Options: queue, priority (-100..100, higher first), run_at or delay,
    max_attempts, retry_delay, retry_backoff, retry_delay_max, timeout,
    force_kill_on_timeout, tags, idempotency_key, channel, depends_on,
    dead_letter_job_type. With an idempotency key that already exists the
    existing job is returned (``job.deduplicated`` is True) and nothing is
    written, also when concurrent callers race for the same key.
    """
    return _insert([jobspec.clean_job(job_type, payload, **options)])[0]


def enqueue_many(specs: Iterable[Mapping[str, Any]]) -> list[Job]:
    """Add many jobs in bulk inserts and return them in input order.

    Each spec is a mapping with ``job_type``, optional ``payload`` and any
    option of ``enqueue``. Every spec is validated before anything is written.
    Specs whose idempotency key exists (or repeats an earlier spec's) yield
    the existing job.
    """
    defaults = jobspec.job_defaults()
    rows = []
    for index, spec in enumerate(specs):
        if not isinstance(spec, Mapping) or "job_type" not in spec:
            raise InvalidJobError(f"specs[{index}]: must be a mapping with a job_type")
        try:
            rows.append(jobspec.clean_job(defaults=defaults, **spec))
        except InvalidJobError as exc:
            raise InvalidJobError(f"specs[{index}]: {exc}") from None
        except TypeError as exc:  # e.g. an unexpected keyword
            raise InvalidJobError(f"specs[{index}]: {exc}") from None
    return _insert(rows) if rows else []


def wait(job_id: int, timeout: float | None = None, *, interval: float = 0.01) -> Job:
    """Block until the job is completed, failed or cancelled; return it refreshed.

    Raises TimeoutError after ``timeout`` seconds (None waits forever). Polls,
    starting at ``interval`` seconds and backing off to a quarter second.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    pk = _job_id(job_id)
    while True:
        job = get_job(pk)
        if job.is_finished:
            return job
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"job {pk} is still {job.status} after {timeout:g}s")
        pause = interval if deadline is None else min(interval, max(deadline - time.monotonic(), 0))
        time.sleep(pause)
        interval = min(interval * 1.5, 0.25)


def get_job(job_id: int) -> Job:
    """Return the job with this id, or raise JobNotFound."""
    try:
        return Job.objects.get(pk=_job_id(job_id))
    except Job.DoesNotExist:
        raise JobNotFound(f"no job with id {job_id}") from None


def find_jobs(
    *, limit: int = 100, cursor: int | None = None, newest_first: bool = True, **filters: Any
) -> list[Job]:
    """Return up to ``limit`` jobs matching ``filters``, ordered by id.

    Keyset pagination: pass the id of the last job of a page as ``cursor`` to
    get the next page. Filters: see ``core.filters.filter_jobs``.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise InvalidJobError(f"limit: must be an integer from 1 to 10000, got {limit!r}")
    qs = filter_jobs(**filters)
    if cursor is not None:
        cursor = _job_id(cursor)
        qs = qs.filter(id__lt=cursor) if newest_first else qs.filter(id__gt=cursor)
    return list(qs.order_by("-id" if newest_first else "id")[:limit])


def _locked_job(job_id: Any, allowed: tuple[str, ...], action: str) -> Job:
    """Fetch and lock a job inside the caller's transaction; check its status allows ``action``."""
    job = Job.objects.select_for_update().filter(pk=_job_id(job_id)).first()
    if job is None:
        raise JobNotFound(f"no job with id {job_id}")
    if job.status not in allowed:
        raise JobStateError(
            f"cannot {action} job {job.pk}: it is {job.status}; "
            f"only {', '.join(allowed)} jobs allow it"
        )
    return job


def retry_job(job_id: int, *, actor: Any = None) -> Job:
    """Run a failed, cancelled or completed job again now; returns the pending job.

    Its attempt count and error history are kept; max_attempts grows when it
    was used up, so the job gets at least one more attempt.
    """
    now = timezone.now()
    with transaction.atomic():
        job = _locked_job(job_id, RETRYABLE_STATUSES, "retry")
        previous = job.status
        job.status = JobStatus.PENDING
        job.run_at = now
        job.max_attempts = max(job.max_attempts, job.attempts + 1)
        job.progress = 0
        job.output = None
        job.locked_by = job.locked_until = None
        job.started_at = job.completed_at = job.failed_at = job.cancelled_at = None
        job.save()
        JobEvent.objects.create(
            job=job,
            type=EventType.RETRIED,
            metadata=jobspec.event_metadata(actor, previous_status=previous),
        )
    return job


def cancel_job(job_id: int, *, actor: Any = None) -> Job:
    """Cancel a pending, waiting or processing job; returns it.

    A processing job is marked cancelled at once; its handler sees
    ``ctx.should_abort()`` and its result is discarded.
    """
    with transaction.atomic():
        job = _locked_job(job_id, CANCELLABLE_STATUSES, "cancel")
        previous = job.status
        job.status = JobStatus.CANCELLED
        job.cancelled_at = timezone.now()
        job.save()
        JobEvent.objects.create(
            job=job,
            type=EventType.CANCELLED,
            metadata=jobspec.event_metadata(actor, previous_status=previous),
        )
    tokens.time_out_tokens_of([job.pk])  # nobody can wake it any more
    dependencies.settle()  # its dependents are cancelled too
    return job


def edit_job(job_id: int, *, actor: Any = None, **changes: Any) -> Job:
    """Change fields of a pending job; returns it. See ``jobspec.EDITABLE_FIELDS``."""
    values = jobspec.clean_changes(changes)
    with transaction.atomic():
        job = _locked_job(job_id, EDITABLE_STATUSES, "edit")
        diff = {}
        for name, value in values.items():
            old = getattr(job, name)
            if old != value:
                diff[name] = {"from": old, "to": value}
                setattr(job, name, value)
        if diff:
            job.save()
            JobEvent.objects.create(
                job=job, type=EventType.EDITED, metadata=jobspec.event_metadata(actor, changes=diff)
            )
    return job


def run_job_now(job_id: int, *, actor: Any = None) -> Job:
    """Make a pending job due now (scheduled or in retry backoff); returns it."""
    return edit_job(job_id, actor=actor, run_at=timezone.now())


def delete_job(job_id: int, *, actor: Any = None) -> None:
    """Delete a job that is not processing, with its events.

    A processing job must be cancelled first, so its worker sees the abort.
    """
    with transaction.atomic():
        job = _locked_job(job_id, tuple(set(JobStatus.values) - {JobStatus.PROCESSING}), "delete")
        job.delete()
    # Its events go with it, so the deletion is recorded in the log instead.
    logger.info("Job id=%s type=%s deleted by=%s", job_id, job.job_type, actor)


# Bulk changes live in core.bulk; they are part of this API.
from core.bulk import cancel_jobs, edit_jobs, retry_jobs  # noqa: E402
from core.cron import (  # noqa: E402
    add_cron,
    edit_cron,
    get_cron,
    list_crons,
    pause_cron,
    remove_cron,
    resume_cron,
    run_cron_now,
)
from core.policies import (  # noqa: E402
    channel_usage,
    clear_channel_policy,
    get_channel_policy,
    get_queue_policy,
    list_queue_policies,
    pause_queue,
    queue_usage,
    resume_queue,
    set_channel_policy,
    set_queue_policy,
)
from core.tokens import (  # noqa: E402
    complete_token,
    create_token,
    expire_token,
    expire_tokens,
    get_token,
)
