"""Changes to every job matching a filter, a chunk per transaction.

``cancel_jobs``, ``edit_jobs`` and ``retry_jobs`` are part of ``core.queue``;
``change_chunk`` lets a caller (the dashboard) drive the chunks itself so no
single request runs long.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone

from core import conf
from core.durable import tokens
from core.exceptions import InvalidJobError
from core.jobs import dependencies
from core.jobs.filters import filter_jobs
from core.jobs.spec import clean_changes
from core.models import EventType, Job, JobEvent, JobStatus
from core.models.jobs import (
    CANCELLABLE_STATUSES,
    EDITABLE_STATUSES,
    RETRYABLE_STATUSES,
    event_metadata,
)


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
    qs = filter_jobs(**filters).filter(status__in=spec.allowed, id__gt=after_id)
    if up_to_id is not None:
        qs = qs.filter(id__lte=up_to_id)
    if metadata is None:
        metadata = event_metadata(actor, bulk=True)
    with transaction.atomic():
        ids = list(
            qs.order_by("id")
            .select_for_update()
            .values_list("id", flat=True)[: conf.get("BULK_CHUNK_SIZE")]
        )
        if not ids:
            return 0, None
        now = timezone.now()
        changed = Job.objects.filter(id__in=ids, status__in=spec.allowed)
        count = changed.update(**spec.values(now), updated_at=now)
        JobEvent.objects.bulk_create(
            [JobEvent(job_id=i, type=spec.event, metadata=metadata) for i in ids],
            batch_size=len(ids),
        )
        if spec.event == EventType.CANCELLED:
            tokens.time_out_tokens_of(ids)  # nobody can wake a cancelled job any more
    return count, ids[-1]


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
