"""The order of job lists and where their next page starts.

Lists are newest first by id, except under a creation-time filter
(``created_after``/``created_before``): those are newest first by ``created_at``
(then id), read through ``job_created_idx``. Ordered by id, a bound such as "created
before today" would walk past every job created since before finding the first match.
A cursor stays a job id either way; under the time order its ``created_at`` is read
back by primary key.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from core.insights.paging import keyset_page
from core.models import Job

BY_ID = ("-id",)
BY_CREATED = ("-created_at", "-id")
#: The filters that put a list in creation-time order.
TIME_FILTERS = ("created_after", "created_before")


def newest_first(filters: Mapping[str, Any]) -> tuple[str, ...]:
    """The newest-first order of a list with these ``filters``."""
    return BY_CREATED if any(filters.get(name) for name in TIME_FILTERS) else BY_ID


def _created_at(job_id: int, older: bool) -> datetime | None:
    """The cursor job's ``created_at``; when it is gone (deleted between two pages),
    the nearest job's on the side the page goes to."""
    created = Job.objects.filter(pk=job_id).values_list("created_at", flat=True).first()
    if created is not None:
        return created
    near = Job.objects.filter(id__lt=job_id) if older else Job.objects.filter(id__gt=job_id)
    return near.order_by("-id" if older else "id").values_list("created_at", flat=True).first()


def cursor_values(order: tuple[str, ...], job_id: int, *, older: bool = True) -> list | None:
    """The keyset cursor of ``order`` for the job ``job_id``; None when nothing is left
    on that side."""
    if order == BY_ID:
        return [job_id]
    created = _created_at(job_id, older)
    return None if created is None else [created, job_id]


def reverse(order: tuple[str, ...]) -> tuple[str, ...]:
    """``order`` turned around (oldest first)."""
    return tuple(f[1:] if f.startswith("-") else f"-{f}" for f in order)


def page(
    qs: QuerySet[Job],
    order: tuple[str, ...],
    cursor: int | None,
    size: int,
    *,
    older: bool = True,
) -> tuple[list[Job], bool]:
    """Up to ``size`` jobs of ``qs`` past the job ``cursor`` (None: from the start):
    older ones in ``order`` (newest first), or with ``older=False`` the newer ones,
    nearest first. And whether more follow."""
    values = None if cursor is None else cursor_values(order, cursor, older=older)
    if cursor is not None and values is None:
        return [], False
    return keyset_page(qs, order if older else reverse(order), values, size)
