"""Enqueue: validate jobs, insert them in bulk statements, hold those with dependencies.

Every insert writes the jobs' ``added`` events in the same statement, so a
caller's ``transaction.atomic()`` that rolls back leaves neither job nor event.
Each inserted job is announced with ``signals.job_enqueued`` once that
transaction commits (while a receiver is connected).
"""

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models.base import ModelState

from core import signals
from core.drivers import get_driver
from core.drivers.rows import any_keyed
from core.exceptions import InvalidJobError
from core.jobs import dependencies
from core.jobs.spec import clean_job, clean_spec, job_defaults
from core.models import Job, JobStatus


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
    "lost_count": 0,
}


def _job_from_row(row: dict[str, Any], job_id: int, run_at, created_at) -> Job:
    """The Job just inserted, built like Model.from_db but without a per-field loop."""
    job = Job.__new__(Job)
    state = ModelState()
    state.adding, state.db = False, DEFAULT_DB_ALIAS
    job.__dict__ = {
        **_BLANK_JOB,
        **row,
        "id": job_id,
        "run_at": run_at,
        "created_at": created_at,
        "updated_at": created_at,
        # Each job its own lists: a bulk enqueue's rows share their defaults' lists.
        "tags": [*row["tags"]],
        "depends_on": [*row["depends_on"]],
        "errors": [],
        "step_data": {},
        "deduplicated": False,
        "_state": state,
    }
    return job


def _insert(rows: list[dict[str, Any]]) -> list[Job]:
    """Insert validated rows (one statement per chunk) and return a Job per row.

    Rows whose idempotency key exists, or repeats an earlier row's, get the
    existing job (``deduplicated`` True).
    """
    _check_dependencies(rows)
    keyed = any_keyed(rows)
    unique = (
        list({row["idempotency_key"] or ("", i): row for i, row in enumerate(rows)}.values())
        if keyed
        else rows
    )
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
    if signals.job_enqueued.has_listeners(Job):
        inserted = [job for job in created if job is not None]
        if inserted:
            transaction.on_commit(lambda: _announce(inserted), using=driver.using)
    if not keyed:  # every row inserted, in input order
        return created  # type: ignore[return-value]
    return _with_existing(rows, unique, created)


def _with_existing(
    rows: list[dict[str, Any]], unique: list[dict[str, Any]], created: list[Job | None]
) -> list[Job]:
    """A Job per row in input order: the inserted ones, and for rows whose idempotency
    key was taken (``created`` None, or a repeat of an earlier row) the existing job."""
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


def _announce(jobs: list[Job]) -> None:
    """Send job_enqueued for each job (after their transaction committed)."""
    for job in jobs:
        signals.send(signals.job_enqueued, Job, job=job)


def enqueue(job_type: str, payload: Any = None, **options: Any) -> Job:
    """Add one job and return it.

    Options: queue, priority (-100..100, higher first), run_at or delay,
    max_attempts, retry_delay, retry_backoff, retry_delay_max, timeout,
    force_kill_on_timeout, tags, idempotency_key, channel, depends_on,
    dead_letter_job_type, lock_timeout (seconds each lease of the job lasts, for
    ``runworker`` and ``dequeue``). With an idempotency key that already exists the
    existing job is returned (``job.deduplicated`` is True) and nothing is
    written, also when concurrent callers race for the same key.
    """
    return _insert([clean_job(job_type, payload, **options)])[0]


def enqueue_many(specs: Iterable[Mapping[str, Any]]) -> list[Job]:
    """Add many jobs in bulk inserts and return them in input order.

    Each spec is a mapping with ``job_type``, optional ``payload`` and any
    option of ``enqueue``. Every spec is validated before anything is written.
    Specs whose idempotency key exists (or repeats an earlier spec's) yield
    the existing job.
    """
    if isinstance(specs, str | bytes | Mapping) or not isinstance(specs, Iterable):
        raise InvalidJobError(f"specs: must be a list of mappings, got {specs!r}")
    with _collector_paused():
        defaults = job_defaults()
        memo: dict = {}
        rows = []
        for index, spec in enumerate(specs):
            if not isinstance(spec, Mapping) or "job_type" not in spec:
                raise InvalidJobError(f"specs[{index}]: must be a mapping with a job_type")
            try:
                rows.append(clean_spec(spec, defaults, memo))
            except InvalidJobError as exc:
                raise InvalidJobError(f"specs[{index}]: {exc}") from None
            except TypeError as exc:  # e.g. an unexpected keyword
                raise InvalidJobError(f"specs[{index}]: {exc}") from None
        return _insert(rows) if rows else []


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a bulk enqueue builds its rows and jobs (a
    dozen containers per job, none of them in a cycle): the collections those
    allocations set off walk the whole heap of the process and cost a bulk enqueue a
    tenth of its time. Back on afterwards, unless it was off already."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
