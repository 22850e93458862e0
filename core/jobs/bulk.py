"""Changes to every job matching a filter, a chunk per transaction.

``cancel_jobs``, ``edit_jobs``, ``retry_jobs`` and ``delete_jobs`` are part of
``core.queue``; ``change_chunk`` lets a caller (the dashboard) drive the chunks
itself so no single request runs long.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone

from core import conf
from core.drivers import get_driver
from core.durable import tokens
from core.exceptions import InvalidJobError
from core.jobs import dependencies, notifications
from core.jobs.filters import filter_jobs
from core.jobs.removal import delete_with_history
from core.jobs.spec import clean_changes
from core.models import EventType, Job, JobEvent, JobStatus
from core.models.jobs import (
    CANCELLABLE_STATUSES,
    EDITABLE_STATUSES,
    RETRYABLE_STATUSES,
    event_metadata,
)

logger = logging.getLogger("queueadmin.queue")


@dataclass(frozen=True)
class BulkAction:
    """What a bulk action changes: which statuses it touches and the new values."""

    #: Statuses a job must be in to be changed.
    allowed: tuple[str, ...]
    #: New column values, given the time of the chunk.
    values: Callable[[datetime], dict[str, Any]]
    #: JobEvent type written for each changed job.
    event: str
    #: Past tense for messages ("cancelled 3 jobs").
    done: str
    #: Imperative for confirmations ("cancel 3 jobs").
    verb: str
    #: True for the delete action: jobs and their events go (``event`` and ``values``
    #: are unused; the deletion is recorded in the log).
    deletes: bool = False


def _retry_values(now: datetime) -> dict[str, Any]:
    return {
        "status": JobStatus.PENDING,
        "run_at": now,
        "max_attempts": Greatest(F("max_attempts"), F("attempts") + 1),
        "progress": 0,
        "output": None,
        "locked_by": None,
        "locked_until": None,
        "started_at": None,
        "completed_at": None,
        "failed_at": None,
        "cancelled_at": None,
    }


#: Statuses a job may be deleted in: a processing job must be cancelled first, so its
#: worker sees the abort (as ``delete_job``).
DELETABLE_STATUSES: tuple[str, ...] = tuple(
    s for s in JobStatus.values if s != JobStatus.PROCESSING
)


#: The actions ``change_chunk`` knows, by name.
ACTIONS: dict[str, BulkAction] = {
    "cancel": BulkAction(
        CANCELLABLE_STATUSES,
        lambda now: {"status": JobStatus.CANCELLED, "cancelled_at": now},
        EventType.CANCELLED,
        "cancelled",
        "cancel",
    ),
    "retry": BulkAction(
        RETRYABLE_STATUSES,
        _retry_values,
        EventType.RETRIED,
        "retried",
        "retry",
    ),
    "run_now": BulkAction(
        EDITABLE_STATUSES,
        lambda now: {"run_at": now},
        EventType.EDITED,
        "made due now",
        "run now",
    ),
    "delete": BulkAction(
        DELETABLE_STATUSES,
        lambda now: {},
        "",
        "deleted",
        "delete",
        deletes=True,
    ),
}


def _require_filters(filters: Mapping[str, Any], func: str) -> None:
    # An empty list is no filter: tags=[] under tag_mode "all" matches every job.
    if not any(v is not None and v != [] for k, v in filters.items() if k != "tag_mode"):
        raise InvalidJobError(
            f"{func} needs at least one filter (to touch every job, pass status=...)"
        )


def _action(name: str) -> BulkAction:
    try:
        return ACTIONS[name]
    except KeyError:
        raise InvalidJobError(
            f"unknown bulk action {name!r}; actions: {', '.join(ACTIONS)}"
        ) from None


def matching(action: str, filters: Mapping[str, Any]) -> QuerySet[Job]:
    """The jobs ``action`` would change: matching ``filters`` and in an allowed status."""
    return filter_jobs(**filters).filter(status__in=_action(action).allowed)


def change_chunk(
    action: str | BulkAction,
    filters: Mapping[str, Any],
    *,
    actor: Any = None,
    after_id: int = 0,
    up_to_id: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> tuple[int, int | None]:
    """Apply ``action`` to the next chunk of matching jobs with id > ``after_id``
    (and ≤ ``up_to_id``); return (jobs changed, the chunk's last id, or None when
    no job was left)."""
    spec = _action(action) if isinstance(action, str) else action
    _require_filters(filters, "a bulk change")
    if spec.deletes:
        return _delete_chunk(filters, after_id, up_to_id, actor, metadata)
    qs = filter_jobs(**filters).filter(status__in=spec.allowed, id__gt=after_id)
    if up_to_id is not None:
        qs = qs.filter(id__lte=up_to_id)
    if metadata is None:
        metadata = event_metadata(actor, bulk=True)
    with transaction.atomic():
        ids = _lock_chunk(qs)
        if not ids:
            return 0, None
        now = timezone.now()
        changed = Job.objects.filter(id__in=ids, status__in=spec.allowed)
        _announce(spec.event, changed)
        count = changed.update(**spec.values(now), updated_at=now)
        JobEvent.objects.bulk_create(
            [JobEvent(job_id=i, type=spec.event, metadata=metadata) for i in ids],
            batch_size=len(ids),
        )
        if spec.event == EventType.CANCELLED:
            tokens.time_out_tokens_of(ids)  # nobody can wake a cancelled job any more
    return count, ids[-1]


#: The notification sent for each job a bulk action changes, by its event: (event, status).
_NOTIFIED = {
    EventType.CANCELLED: ("cancelled", JobStatus.CANCELLED),
    EventType.RETRIED: ("retried", JobStatus.PENDING),
}


def _announce(event: str, changed: QuerySet[Job]) -> None:
    """Notify, with the chunk's commit, the jobs of ``changed`` (locked) a cancel or a
    retry is about to change (see core.jobs.notifications)."""
    if event in _NOTIFIED and get_driver().supports_job_notifications:
        name, status = _NOTIFIED[event]
        notifications.notify_jobs(changed.values_list("id", "queue"), name, status)


def _change_all(spec: BulkAction, filters: Mapping[str, Any], metadata: dict[str, Any]) -> int:
    total, last_id = 0, 0
    while True:
        count, last_id = change_chunk(spec, filters, after_id=last_id, metadata=metadata)
        if last_id is None:
            return total
        total += count


def cancel_jobs(*, actor: Any = None, **filters: Any) -> int:
    """Cancel every pending, waiting or processing job matching ``filters``; return the count."""
    _require_filters(filters, "cancel_jobs")
    count = _change_all(ACTIONS["cancel"], filters, event_metadata(actor, bulk=True))
    dependencies.settle()  # their dependents are cancelled too
    return count


def retry_jobs(*, actor: Any = None, **filters: Any) -> int:
    """Make every failed, cancelled or completed job matching ``filters`` pending now;
    return the count (attempts and errors are kept, as with retry_job)."""
    _require_filters(filters, "retry_jobs")
    return _change_all(ACTIONS["retry"], filters, event_metadata(actor, bulk=True))


def edit_jobs(filters: Mapping[str, Any], *, actor: Any = None, **changes: Any) -> int:
    """Apply ``changes`` to every pending job matching ``filters``; return the count."""
    if not isinstance(filters, Mapping):
        raise InvalidJobError(f"edit_jobs: filters must be a mapping, got {filters!r}")
    _require_filters(filters, "edit_jobs")
    values = clean_changes(changes)
    spec = BulkAction((JobStatus.PENDING,), lambda now: values, EventType.EDITED, "edited", "edit")
    meta = event_metadata(
        actor, changes={name: {"to": value} for name, value in values.items()}, bulk=True
    )
    return _change_all(spec, filters, meta)


def _lock_chunk(qs: QuerySet[Job]) -> list[int]:
    """Lock and return the ids of the next BULK_CHUNK_SIZE jobs of ``qs`` in id order
    (inside the caller's transaction)."""
    return list(
        qs.order_by("id")
        .select_for_update()
        .values_list("id", flat=True)[: conf.get("BULK_CHUNK_SIZE")]
    )


def _delete_chunk(
    filters: Mapping[str, Any],
    after_id: int,
    up_to_id: int | None,
    actor: Any,
    metadata: dict[str, Any] | None,
) -> tuple[int, int | None]:
    """Delete the next chunk of matching jobs that are not processing, with their events
    and tokens; return (jobs deleted, the chunk's last id, or None when none was left)."""
    # The allowed statuses as a list, as the other actions: with a status filter the
    # planner then walks the (status, id) index instead of the primary key.
    qs = filter_jobs(**filters).filter(status__in=DELETABLE_STATUSES, id__gt=after_id)
    if up_to_id is not None:
        qs = qs.filter(id__lte=up_to_id)
    kept = dependencies.waited_on()
    with transaction.atomic():
        # Locked (a worker's claim skips locked rows), and the delete below checks the
        # status again: a job claimed meanwhile is left to its worker.
        ids = _lock_chunk(qs)
        if not ids:
            return 0, None
        gone = delete_with_history(ids, kept, statuses=DELETABLE_STATUSES, notify=True)
        deleted, events = gone["jobs"], gone["events"]
    who = actor if actor is not None else (metadata or {}).get("actor")
    # One line per chunk (not per job): a delete of millions stays readable.
    logger.info(
        "Jobs deleted count=%s events=%s ids=%s..%s skipped=%s by=%s filters=%s",
        deleted,
        events,
        ids[0],
        ids[-1],
        len(ids) - deleted,
        who,
        _describe(filters),
    )
    return deleted, ids[-1]


def _describe(filters: Mapping[str, Any]) -> str:
    """Filters for a log line: the set ones, ``ids`` shortened."""
    parts = []
    for name, value in filters.items():
        if value is None or value == []:
            continue
        if name == "ids" and len(value) > 5:
            value = f"[{len(value)} ids]"
        parts.append(f"{name}={value}")
    return ",".join(parts)


def delete_jobs(*, actor: Any = None, **filters: Any) -> int:
    """Delete every job matching ``filters`` that is not processing, with its events and
    tokens; return the count. Jobs that a job held for its dependencies waits on are kept."""
    _require_filters(filters, "delete_jobs")
    metadata = event_metadata(actor, bulk=True)
    return _change_all(ACTIONS["delete"], filters, metadata)
