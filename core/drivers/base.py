"""What every database driver provides, and the rows it hands the worker."""

import json
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import connections
from django.db.models import Q

T = TypeVar("T")

#: How a tag filter matches a job's tags.
TAG_MODES = ("exact", "all", "any", "none")
#: Channel the PostgreSQL driver NOTIFYs on enqueue.
NOTIFY_CHANNEL = "queueadmin_jobs"


@dataclass(slots=True)
class ClaimedJob:
    """A job as claimed for one attempt: just what running it needs."""

    id: int
    job_type: str
    queue: str
    payload: Any
    attempts: int
    max_attempts: int
    retry_delay: float
    retry_backoff: str
    retry_delay_max: float
    timeout: float | None
    force_kill_on_timeout: bool
    dead_letter_job_type: str | None


@dataclass(slots=True)
class Outcome:
    """The result of one attempt, to be written in a batch.

    status is completed, failed (for good) or pending (a retry after ``delay``
    seconds); ``event`` is the JobEvent type to record with ``meta``.
    """

    job_id: int
    status: str
    event: str
    output: Any = None
    error: dict[str, Any] | None = None
    delay: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)
    #: enqueue_many spec of the dead-letter job to add if this failure is written.
    dead_letter: dict[str, Any] | None = None


#: Columns ``enqueue`` writes, in the order the insert statements read them.
INSERT_FIELDS = (
    "job_type",
    "queue",
    "channel",
    "payload",
    "priority",
    "run_at",
    "max_attempts",
    "retry_delay",
    "retry_backoff",
    "retry_delay_max",
    "timeout",
    "force_kill_on_timeout",
    "tags",
    "idempotency_key",
    "depends_on",
    "dead_letter_job_type",
)

CLAIM_COLUMNS = (
    "id, job_type, queue, payload, attempts, max_attempts, retry_delay, retry_backoff, "
    "retry_delay_max, timeout, force_kill_on_timeout, dead_letter_job_type"
)


def match_inserted(rows: list[dict[str, Any]], returned: list[tuple]) -> list[tuple | None]:
    """Align RETURNING rows (id, idempotency_key, run_at, created_at) with the input.

    Ids grow in insert order, so sorted ids follow the inserted rows in input
    order; rows whose key is missing from the result hit an existing key.
    """
    returned = sorted(returned, key=lambda r: r[0])
    inserted_keys = {r[1] for r in returned if r[1] is not None}
    it = iter(returned)
    out: list[tuple | None] = []
    for row in rows:
        key = row["idempotency_key"]
        if key is not None and key not in inserted_keys:
            out.append(None)
        else:
            job_id, _, run_at, created_at = next(it)
            out.append((job_id, run_at, created_at))
    return out


def claimed_from_row(row: tuple) -> ClaimedJob:
    """Build a ClaimedJob from a row of CLAIM_COLUMNS (JSON arrives as text)."""
    payload = row[3]
    return ClaimedJob(
        id=row[0],
        job_type=row[1],
        queue=row[2],
        payload=json.loads(payload) if isinstance(payload, str) else payload,
        attempts=row[4],
        max_attempts=row[5],
        retry_delay=row[6],
        retry_backoff=row[7],
        retry_delay_max=row[8],
        timeout=row[9],
        force_kill_on_timeout=bool(row[10]),
        dead_letter_job_type=row[11],
    )


class Driver:
    """Vendor-specific queries behind the queue API and the worker."""

    #: Name of the Django database vendor this driver serves.
    vendor = ""
    #: Whether idle workers can be woken by a notification instead of polling.
    supports_notify = False
    #: Seconds between polls when nothing wakes the worker sooner.
    default_poll_interval = 1.0
    #: Whether the planner can estimate a query's row count (for big dashboard counts).
    supports_estimates = False

    def __init__(self, using: str = "default") -> None:
        self.using = using
        from core.drivers.claiming import RoundRobin

        #: Where this process's claims are in the channel rotation.
        self.rotation = RoundRobin()

    @property
    def connection(self):
        return connections[self.using]

    # -- filters -----------------------------------------------------------

    def tags_filter(self, tags: list[str], mode: str) -> Q:
        """Return a filter on ``Job.tags`` for ``tags`` under ``mode`` (see TAG_MODES).

        exact: the job's tags are exactly this set; all: it has every one;
        any: it has at least one; none: it has none of them.
        """
        if mode not in TAG_MODES:
            raise ValueError(f"tag mode must be one of {', '.join(TAG_MODES)}, not {mode!r}")
        if not tags and mode != "exact":
            # Every job has all of no tags and none of them; no job has any of them.
            return Q(pk__in=[]) if mode == "any" else Q()
        return getattr(self, f"_tags_{mode}")(tags)

    def _tags_exact(self, tags: list[str]) -> Q:
        raise NotImplementedError

    def _tags_all(self, tags: list[str]) -> Q:
        raise NotImplementedError

    def _tags_any(self, tags: list[str]) -> Q:
        raise NotImplementedError

    def _tags_none(self, tags: list[str]) -> Q:
        return ~self._tags_any(tags)

    # -- enqueue ------------------------------------------------------------------

    def insert_jobs(self, rows: list[dict[str, Any]]) -> list[tuple | None]:
        """Insert pending jobs (dicts of jobspec.INSERT_FIELDS) with their ``added``
        events, and wake the workers of their queues.

        Returns, per row in order, (id, run_at, created_at), or None where the
        idempotency key already existed (nothing inserted for it). Rows must
        not repeat an idempotency key. ``run_at`` None means now.
        """
        raise NotImplementedError

    # -- the worker's statements ---------------------------------------------

    def claim(
        self,
        worker_id: str,
        queues: list[str] | None,
        job_types: list[str] | None,
        limit: int,
        lease: float,
    ) -> list[ClaimedJob]:
        """Move up to ``limit`` due pending jobs to processing for ``worker_id``.

        Counts the attempt, sets the lease and writes the ``processing``
        events. ``queues``/``job_types`` None means any. Paused queues are
        skipped, queue and channel limits kept, and channels served
        round-robin (core.drivers.claiming); without any of those it is one
        statement, in run order.
        """
        from core.drivers import claiming

        return claiming.claim(self, self.rotation, worker_id, queues, job_types, limit, lease)

    def finish(self, worker_id: str, outcomes: list[Outcome]) -> list[int]:
        """Write many outcomes and their events; return the ids actually changed.

        A job no longer processing under ``worker_id`` (cancelled, reclaimed) is
        left alone.
        """
        raise NotImplementedError

    def heartbeat(
        self,
        worker_id: str,
        lease: float,
        running_ids: list[int],
        processed: int,
        completed: int = 0,
        failed: int = 0,
    ) -> list[int]:
        """Renew the leases of all of the worker's jobs and its Worker row, in one go.

        ``processed``, ``completed`` and ``failed`` are the worker's counters since it
        started (failed: for good, not retried), written to its Worker row.

        Returns those of ``running_ids`` that an operator cancelled meanwhile.
        """
        raise NotImplementedError

    def reclaim_expired(self) -> list[tuple[int, str]]:
        """Return processing jobs whose lease passed to pending (or failed when
        attempts are used up), with a ``reclaimed`` event; returns (id, new status)."""
        raise NotImplementedError

    def release(self, worker_id: str, job_ids: list[int]) -> int:
        """Give unfinished jobs back at shutdown: pending again, the attempt not counted."""
        raise NotImplementedError

    def listen(self):
        """A Listener (wait(timeout) -> bool, close()) for wake-ups, or None."""
        return None

    # -- dashboard and seeding -----------------------------------------------

    def estimate_count(self, queryset) -> int:
        """The planner's estimate of how many rows ``queryset`` returns."""
        raise NotImplementedError

    def run_within(self, seconds: float, query: Callable[[], T]) -> T | None:
        """``query()``, or None if its statements take longer than ``seconds``
        (drivers without a statement timeout always run it to the end)."""
        return query()

    def frequent_values(self, column: str) -> dict[str, float]:
        """The most common values of a ``core_job`` column and the share of rows
        holding each, from planner statistics (empty without them)."""
        return {}

    def copy_rows(self, table: str, columns: list[str], rows) -> int:
        """Load ``rows`` (tuples of Python values; JSON columns as text) into ``table``
        as fast as the database allows; returns how many were written."""
        raise NotImplementedError

    def analyze(self) -> None:
        """Refresh the planner statistics of the queue tables (after a bulk load;
        outside a transaction PostgreSQL also vacuums them)."""

    def reserve_ids(self, table: str, count: int) -> int:
        """Claim ``count`` consecutive ids of ``table`` past every used one (its largest id
        and its id sequence) for rows inserted with explicit ids; returns the first."""
        raise NotImplementedError

    def reset_sequence(self, table: str) -> None:
        """Move the id sequence of ``table`` past its largest id (never backwards), so
        rows inserted afterwards without an id don't clash with explicit ids."""
        raise NotImplementedError

    def bulk_load(self, table: str):
        """A context manager around loading many rows into ``table`` in the caller's
        transaction, making it as fast as it safely can (PostgreSQL lifts the table's
        foreign keys and re-adds them, checking every row, on the way out)."""
        return nullcontext()


#: Move a partition's next offset on by n; returns the new next offset. One
#: statement on both databases; the row stays locked until the commit, so
#: publishers to one partition take turns and offsets stay dense and ordered.
RESERVE_OFFSETS = """
UPDATE core_partition SET next_offset = next_offset + %s
 WHERE topic_id = %s AND number = %s
RETURNING next_offset
"""


def reserve_offsets(cursor, topic: str, partition: int, count: int) -> int:
    """The first of ``count`` offsets reserved in ``topic``'s ``partition``."""
    cursor.execute(RESERVE_OFFSETS, [count, topic, partition])
    return cursor.fetchone()[0] - count
