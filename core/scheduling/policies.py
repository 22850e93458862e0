"""Queue and channel policies: pause and resume a queue, limit its concurrency and its
start rate, limit a channel's concurrency and space its starts; and the live figures
(running jobs, recent starts) the dashboard shows beside them.

A queue or channel without a row has no policy. The claim (core.drivers) enforces
the policies; this module only writes them, each change through ``update_fields``
so the fields the claim keeps (``recent_starts``, ``last_started_at``) are never
overwritten. Every change logs one line to the ``queueadmin.queue`` logger, with its actor.
"""

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.db.models.functions import Now
from django.utils import timezone

from core.exceptions import InvalidPolicyError
from core.models import ChannelPolicy, Job, JobStatus, Queue
from core.models.policies import release_wait, starts_in_window
from core.validation import Checks, text_problem

logger = logging.getLogger("queueadmin.queue")

#: The longest rate period and release interval, in seconds (one day).
MAX_SECONDS = 86_400.0
#: The largest concurrency limit (what the column holds on every database).
MAX_LIMIT = 2_147_483_647
#: The largest rate limit: the claim keeps two periods of start times on the
#: queue's row and rewrites them at each claim, so this bounds that list. For
#: higher rates, shorten the period (1,000 per 0.1 s is 10,000 per second).
MAX_RATE_LIMIT = 1_000
#: Queue fields ``set_queue_policy`` changes.
QUEUE_FIELDS = ("max_concurrency", "rate_limit", "rate_period")


class _Unset:
    """The default of ``set_queue_policy``'s options: leave the field as it is."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


# -- validation ---------------------------------------------------------------------------

check = Checks(InvalidPolicyError)


def queue_name(value: Any) -> str:
    """A valid queue name (the rules of a job's ``queue``), or InvalidPolicyError."""
    return check.name("queue", value, Queue._meta.get_field("name").max_length)


def channel_name(value: Any) -> str:
    """A valid channel name (the rules of a job's ``channel``), or InvalidPolicyError."""
    return check.name("channel", value, ChannelPolicy._meta.get_field("name").max_length)


def limit_value(field: str, value: Any) -> int | None:
    """A concurrency or rate limit: an integer from 1 up, or None for no limit."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise check.fail(
            field, f"must be a whole number of at least 1, or None for no limit, got {value!r}"
        )
    return check.integer(field, value, 1, MAX_RATE_LIMIT if field == "rate_limit" else MAX_LIMIT)


def seconds_value(field: str, value: Any) -> float:
    """A positive number of seconds up to one day (or a timedelta or a duration such as "5m")."""
    return check.seconds(field, value, most=MAX_SECONDS)


def optional_seconds(field: str, value: Any) -> float | None:
    """As ``seconds_value``; None means none."""
    return None if value is None else seconds_value(field, value)


def channel_fields(max_concurrency: Any, release_interval: Any) -> dict[str, Any]:
    """A channel policy's validated fields; at least one of them must be set."""
    fields = {
        "max_concurrency": limit_value("max_concurrency", max_concurrency),
        "release_interval": optional_seconds("release_interval", release_interval),
    }
    if fields["max_concurrency"] is None and fields["release_interval"] is None:
        raise check.fail(
            "max_concurrency",
            "set max_concurrency or release_interval (or both); "
            "to remove a channel's policy use clear_channel_policy",
        )
    return fields


def _key(field: str, value: Any) -> str:
    """A name to look up: any non-empty string a database can take (a lookup cannot
    write anything)."""
    if not isinstance(value, str) or not value:
        raise check.fail(field, f"must be a non-empty string, got {value!r}")
    return check.storable_text(field, value)


def _text(values: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())


# -- queues -------------------------------------------------------------------------------


def _set_paused(name: Any, paused: bool, actor: Any) -> Queue:
    name = queue_name(name)
    with transaction.atomic():
        row, created = Queue.objects.select_for_update().get_or_create(
            name=name, defaults={"paused": paused}
        )
        if not created and row.paused != paused:
            row.paused = paused
            row.save(update_fields=["paused", "updated_at"])
    logger.info("queue name=%s %s by=%s", name, "paused" if paused else "resumed", actor)
    return row


def pause_queue(name: str, *, actor: Any = None) -> Queue:
    """Stop starting jobs of the queue (running ones finish); its limits are kept."""
    return _set_paused(name, True, actor)


def resume_queue(name: str, *, actor: Any = None) -> Queue:
    """Start jobs of the queue again."""
    return _set_paused(name, False, actor)


def set_queue_policy(
    name: str,
    *,
    max_concurrency: Any = UNSET,
    rate_limit: Any = UNSET,
    rate_period: Any = UNSET,
    actor: Any = None,
) -> Queue:
    """Change the given limits of a queue (None removes a limit); other fields stay.

    ``max_concurrency``: jobs of the queue running at once across all workers.
    ``rate_limit``: starts allowed in any ``rate_period`` seconds (default 1).
    """
    name = queue_name(name)
    changes: dict[str, Any] = {}
    if max_concurrency is not UNSET:
        changes["max_concurrency"] = limit_value("max_concurrency", max_concurrency)
    if rate_limit is not UNSET:
        changes["rate_limit"] = limit_value("rate_limit", rate_limit)
    if rate_period is not UNSET:
        changes["rate_period"] = seconds_value("rate_period", rate_period)
    if not changes:
        raise InvalidPolicyError(
            "nothing to set: give max_concurrency, rate_limit or rate_period (None removes a limit)"
        )
    with transaction.atomic():
        row, created = Queue.objects.select_for_update().get_or_create(name=name, defaults=changes)
        if not created:
            for field, value in changes.items():
                setattr(row, field, value)
            row.save(update_fields=[*changes, "updated_at"])
    logger.info("queue name=%s policy set by=%s: %s", name, actor, _text(changes))
    return row


def get_queue_policy(name: str) -> Queue | None:
    """The queue's policy row, or None when it has none."""
    return Queue.objects.filter(name=_key("queue", name)).first()


def list_queue_policies() -> list[Queue]:
    """Every queue policy row, by name."""
    return list(Queue.objects.order_by("name"))


# -- channels -----------------------------------------------------------------------------


def set_channel_policy(
    name: str,
    *,
    max_concurrency: int | None = None,
    release_interval: float | str | timedelta | None = None,
    actor: Any = None,
) -> ChannelPolicy:
    """Create or replace a channel's policy: at most ``max_concurrency`` of its jobs
    running, at least ``release_interval`` seconds between two starts."""
    name = channel_name(name)
    fields = channel_fields(max_concurrency, release_interval)
    with transaction.atomic():
        row, created = ChannelPolicy.objects.select_for_update().get_or_create(
            name=name, defaults=fields
        )
        if not created:
            for field, value in fields.items():
                setattr(row, field, value)
            row.save(update_fields=[*fields, "updated_at"])
    logger.info("channel name=%s policy set by=%s: %s", name, actor, _text(fields))
    return row


def clear_channel_policy(name: str, *, actor: Any = None) -> bool:
    """Remove a channel's policy; True if it had one.

    Any name is looked up (a policy written around the API can be removed too).
    """
    name = _key("channel", name)
    deleted, _ = ChannelPolicy.objects.filter(name=name).delete()
    outcome = "cleared" if deleted else "clear: it had none"
    logger.info("channel name=%s policy %s by=%s", name, outcome, actor)
    return bool(deleted)


def get_channel_policy(name: str) -> ChannelPolicy | None:
    """The channel's policy row, or None when it has none."""
    return ChannelPolicy.objects.filter(name=_key("channel", name)).first()


# -- live usage ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Usage:
    """A queue's or channel's live figures beside its policy."""

    #: Its jobs in status processing, on every worker.
    running: int = 0
    #: Queues: starts within the last ``rate_period`` seconds (kept while a rate limit is set).
    starts: int = 0
    #: Seconds until the rate limit (queues) or release interval (channels) allows a start;
    #: 0 when one may start now.
    next_start_in: float = 0.0
    #: The policy row, or None when there is none.
    policy: Queue | ChannelPolicy | None = None

    @property
    def paused(self) -> bool:
        return bool(getattr(self.policy, "paused", False))

    @property
    def max_concurrency(self) -> int | None:
        return getattr(self.policy, "max_concurrency", None)

    @property
    def rate_limit(self) -> int | None:
        return getattr(self.policy, "rate_limit", None)

    @property
    def full(self) -> bool:
        """At its concurrency limit: no new start until a running job finishes."""
        return self.max_concurrency is not None and self.running >= self.max_concurrency

    @property
    def rate_reached(self) -> bool:
        """A queue that used up its starts in the current window."""
        return self.rate_limit is not None and self.starts >= self.rate_limit


def _unique(names: Iterable[str]) -> list[str]:
    # A name no database can take has no policy nor jobs: it is left out.
    return list(dict.fromkeys(n for n in names if isinstance(n, str) and not text_problem(n)))


def _running(column: str, names: list[str]) -> dict[str, int]:
    """Processing jobs per value of ``column`` among ``names``: one grouped query."""
    rows = (
        Job.objects.filter(status=JobStatus.PROCESSING, **{f"{column}__in": names})
        .order_by()
        .values_list(column)
        .annotate(n=Count("id"))
    )
    return dict(rows)


def _db_now(rows: Iterable[Any]) -> datetime:
    """The database clock read with the rows (``db_now``), else this process's."""
    for row in rows:
        return row.db_now
    return timezone.now()


def _starts(queue: Queue) -> list:
    return queue.recent_starts if isinstance(queue.recent_starts, list) else []


def queue_usage(names: Iterable[str], running: Mapping[str, int] | None = None) -> dict[str, Usage]:
    """Running jobs and starts in the current rate window of each queue in ``names``
    (two queries, whatever the number of names; one when the caller already counted
    the ``running`` jobs of each queue, as the Queues page's status table does)."""
    names = _unique(names)
    if not names:
        return {}
    rows = {q.name: q for q in Queue.objects.filter(name__in=names).annotate(db_now=Now())}
    if running is None:
        running = _running("queue", names)
    now = _db_now(rows.values()).timestamp()
    usage = {}
    for name in names:
        row = rows.get(name)
        starts = starts_in_window(_starts(row), row.rate_period, now) if row is not None else []
        wait = 0.0
        if row is not None and row.rate_limit is not None and len(starts) >= row.rate_limit:
            # The window frees a start when its oldest surplus start leaves it.
            wait = max(0.0, starts[len(starts) - row.rate_limit] + row.rate_period - now)
        usage[name] = Usage(running.get(name, 0), len(starts), wait, row)
    return usage


def channel_usage(names: Iterable[str]) -> dict[str, Usage]:
    """Running jobs of each channel in ``names`` and the seconds until its release
    interval allows the next start (two queries, whatever the number of names)."""
    names = _unique(names)
    if not names:
        return {}
    rows = {c.name: c for c in ChannelPolicy.objects.filter(name__in=names).annotate(db_now=Now())}
    running = _running("channel", names)
    now = _db_now(rows.values())
    usage = {}
    for name in names:
        row = rows.get(name)
        wait = 0.0 if row is None else release_wait(row.last_started_at, row.release_interval, now)
        usage[name] = Usage(running.get(name, 0), 0, wait, row)
    return usage
