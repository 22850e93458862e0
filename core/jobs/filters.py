"""Job filters shared by find_jobs, cancel_jobs and edit_jobs (and the dashboard)."""

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from core.drivers import get_driver
from core.drivers.rows import TAG_MODES
from core.exceptions import InvalidJobError
from core.jobs import contents
from core.jobs.spec import check, datetime_value, tags_value
from core.models import Job, JobStatus
from core.validation import MAX_BIGINT

#: Keyword filters understood by ``filter_jobs``.
FILTERS = frozenset(
    {
        "ids",
        "status",
        "job_type",
        "queue",
        "channel",
        "tags",
        "tag_mode",
        "idempotency_key",
        "run_at_after",
        "run_at_before",
        "created_after",
        "created_before",
        "payload",
        "payload_has",
        "output",
        "output_has",
        "errors",
        "errors_has",
        "error",
        "worker",
    }
)


def _strings(name: str, value: Any) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, Iterable) or isinstance(values, bytes | dict):
        raise InvalidJobError(f"{name}: must be a string or a list of strings, got {value!r}")
    values = list(values)
    if not all(isinstance(v, str) for v in values):
        raise InvalidJobError(f"{name}: must be a string or a list of strings, got {value!r}")
    return [check.storable_text(name, v) for v in values]


def _ids(value: Any) -> list[int]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidJobError(f"ids: must be a list of job ids, got {value!r}")
    ids = list(value)
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise InvalidJobError(f"ids: must hold integers, got {value!r}")
    # An id no bigint column holds matches nothing (and no database may see it).
    return [i for i in ids if -MAX_BIGINT <= i <= MAX_BIGINT]


def filter_jobs(queryset: QuerySet[Job] | None = None, **filters: Any) -> QuerySet[Job]:
    """Narrow ``queryset`` (all jobs by default) by the keyword ``filters``.

    ``status``, ``job_type``, ``queue`` take one value or a list; ``tags`` with
    ``tag_mode`` exact/all/any/none (default all); ``*_after`` bounds are
    inclusive, ``*_before`` bounds exclusive. Inside jobs (see ``core.jobs.contents``):
    ``payload``/``output`` a JSON object they contain, ``errors`` one a recorded error
    contains, ``*_has`` key paths with values (``{"customer.id": 42}``), ``error`` text
    in the latest error message; ``worker`` the processing jobs a worker holds.
    """
    unknown = sorted(set(filters) - FILTERS)
    if unknown:
        raise InvalidJobError(
            f"unknown filter {', '.join(unknown)}; filters: {', '.join(sorted(FILTERS))}"
        )
    qs = Job.objects.all() if queryset is None else queryset
    filters = {k: v for k, v in filters.items() if v is not None}
    tag_mode = filters.pop("tag_mode", "all")
    if tag_mode not in TAG_MODES:
        raise InvalidJobError(f"tag_mode: must be one of {', '.join(TAG_MODES)}, got {tag_mode!r}")
    if "ids" in filters:
        qs = qs.filter(id__in=_ids(filters["ids"]))
    if "status" in filters:
        statuses = _strings("status", filters["status"])
        bad = sorted(set(statuses) - set(JobStatus.values))
        if bad:
            raise InvalidJobError(
                f"status: unknown {', '.join(bad)}; statuses: {', '.join(JobStatus.values)}"
            )
        qs = qs.filter(status__in=statuses)
    for name in ("job_type", "queue", "channel"):
        if name in filters:
            qs = qs.filter(**{f"{name}__in": _strings(name, filters[name])})
    if "idempotency_key" in filters:
        qs = qs.filter(idempotency_key=check.lookup("idempotency_key", filters["idempotency_key"]))
    if "tags" in filters:
        tags = tags_value(filters["tags"])
        qs = qs.filter(get_driver(qs.db).tags_filter(tags, tag_mode))
    qs = _inside(qs, filters)
    if "worker" in filters:
        workers = _strings("worker", filters["worker"])
        # As a subquery of ids: the few jobs a worker holds come first (through the
        # processing jobs' index), whatever else narrows the list, such as a status
        # tab that no held job can be in.
        held = Job.objects.filter(status=JobStatus.PROCESSING, locked_by__in=workers)
        qs = qs.filter(status=JobStatus.PROCESSING, id__in=held.values("id"))
    bounds = {
        "run_at_after": "run_at__gte",
        "run_at_before": "run_at__lt",
        "created_after": "created_at__gte",
        "created_before": "created_at__lt",
    }
    for name, lookup in bounds.items():
        if name in filters:
            qs = qs.filter(**{lookup: datetime_value(name, filters[name])})
    return qs


def _inside(qs: QuerySet[Job], filters: dict[str, Any]) -> QuerySet[Job]:
    """Narrow by what jobs hold: payload, output and errors."""
    driver = get_driver(qs.db)
    for column in contents.COLUMNS:
        objects = []
        if column in filters:
            objects += contents.containment(column, filters[column])
        if f"{column}_has" in filters:
            objects.append(contents.paths_object(f"{column}_has", filters[f"{column}_has"]))
        for value in objects:
            # errors is a list of attempts: some attempt's error holds the object.
            qs = qs.filter(driver.contains_filter(column, [value] if column == "errors" else value))
    if "error" in filters:
        qs = qs.filter(driver.last_error_filter(contents.error_text(filters["error"])))
    return qs
