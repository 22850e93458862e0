"""What every database driver provides (``Driver``), and the claim it shares."""

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, TypeVar

from django.db import connections
from django.db.models import Q

from core.drivers import claim as claiming
from core.drivers.rows import TAG_MODES, ClaimedJob, HeartbeatReply, Outcome
from core.models import Job

T = TypeVar("T")


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
        #: Where this process's claims are in the channel rotation.
        self.rotation = claiming.RoundRobin()

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

    #: JSON columns of the job table that ``contains_filter`` searches.
    searchable_columns = ("payload", "output", "errors", "tags")

    def contains_filter(self, column: str, value: dict | list) -> Q:
        """Return a filter on the JSON ``column`` for jobs whose value contains ``value``
        (an object or an array) the way PostgreSQL's ``@>`` means it: objects hold the
        keys with contained values, arrays hold an element containing each element,
        scalars are equal in JSON type and value (42 = 42.0, 42 ≠ "42", true ≠ 1)."""
        if column not in self.searchable_columns:
            raise ValueError(f"column must be one of {', '.join(self.searchable_columns)}")
        if not isinstance(value, dict | list):
            raise ValueError(f"containment needs an object or an array, not {value!r}")
        return self._contains(column, value)

    def _contains(self, column: str, value: dict | list) -> Q:
        raise NotImplementedError

    def last_error_filter(self, text: str) -> Q:
        """Return a filter for jobs whose latest error message holds ``text``, ignoring
        the case of ASCII letters (PostgreSQL folds other letters too)."""
        raise NotImplementedError

    # -- enqueue ------------------------------------------------------------------

    def insert_jobs(self, rows: list[dict[str, Any]]) -> list[tuple | None]:
        """Insert pending jobs (dicts of ``rows.INSERT_FIELDS``) with their ``added``
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
        channel: str | None = None,
    ) -> list[ClaimedJob]:
        """Move up to ``limit`` due pending jobs to processing for ``worker_id``.

        Counts the attempt, sets the lease (``lease`` seconds, or the job's own
        ``lock_timeout``) and writes the ``processing`` events. ``queues``/``job_types``
        None means any; ``channel`` takes only that channel's jobs. Paused queues are
        skipped, queue and channel limits kept, and channels served round-robin
        (core.drivers.claim); without any of those it is one statement, in run order.
        """
        return claiming.claim(
            self, self.rotation, worker_id, queues, job_types, limit, lease, channel
        )

    def mark_running(
        self, worker_id: str, job_ids: list[int], ended_ids: list[int] = ()
    ) -> list[int]:
        """Record, before their handlers start, that ``job_ids`` are running, and that the
        handlers of ``ended_ids`` returned (their outcomes not written yet); returns those
        of ``job_ids`` still processing under ``worker_id``. Committed when it returns,
        so if the worker dies, reclaim charges the attempt to the job that was running
        and to no other (the worker does this for jobs whose last worker was lost)."""
        raise NotImplementedError

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
        job_ids: list[int],
        *,
        running_ids: list[int] = (),
        processed: int = 0,
        completed: int = 0,
        failed: int = 0,
        state: str = "running",
        idle: int = 0,
        ping_ms: float | None = None,
        stuck: list[dict] = (),
    ) -> HeartbeatReply:
        """Renew the leases of the jobs the worker tracks and its Worker row, in one go.

        ``job_ids`` are the jobs the worker still tracks (claimed and not finished, or
        finished with the outcome not yet written): only their leases are renewed, so a
        job the worker lost track of (a claim whose reply never came) runs out of lease
        and is reclaimed. ``running_ids`` (of those, the ones whose handlers run now) are
        recorded as seen running, which decides whether reclaim charges an attempt if
        the worker dies. ``processed``, ``completed`` and ``failed`` are written to the
        Worker row (the counters since it started; failed: for good), with ``running``
        the number of running handlers; so are its ``state``, ``idle`` threads, the
        previous heartbeat's ``ping_ms`` and its ``stuck`` threads (see
        core.worker.pings).

        Returns those of ``job_ids`` that an operator cancelled meanwhile, and the
        row's ``order`` and ``ordered_by``, read by the same statement.
        """
        raise NotImplementedError

    def reclaim_expired(self) -> list[tuple[int, str]]:
        """Return processing jobs whose lease passed to pending, with a ``reclaimed``
        event; returns (id, new status). A job its worker had reported running pays the
        attempt (a worker_lost error; failed when the attempts are used up). Any other
        (still in the buffer, just started, or its handler had returned) gets the
        attempt back and counts one more ``lost_count``, so its next worker records its
        start before running it."""
        raise NotImplementedError

    def release(self, worker_id: str, job_ids: list[int]) -> int:
        """Give unfinished jobs back at shutdown: pending again, the attempt not counted
        (a started job's is taken back)."""
        raise NotImplementedError

    def hold(self, owner: str, job_ids: list[int], lock: float | None, lease: float) -> list[tuple]:
        """Take or renew the leases of processing jobs ``owner`` holds: each lasts
        ``lock`` seconds from now (None: the job's ``lock_timeout``, else ``lease``), and
        the job counts as running (if the lease runs out, reclaim charges the attempt).
        Returns (id, locked_until, state) of the jobs still held; the others were lost."""
        raise NotImplementedError

    def reserve_offsets(self, topic: str, partition: int, count: int) -> int:
        """Move a partition's next offset on by ``count`` in the caller's transaction and
        return the first of the reserved offsets. The partition's row stays locked
        until the commit, so publishers to one partition take turns and offsets stay
        dense and in order."""
        raise NotImplementedError

    def listen(self):
        """A Listener (wait(timeout) -> bool, close()) for wake-ups, or None."""
        return None

    #: Whether ``notify_jobs`` sends anything (PostgreSQL's NOTIFY on EVENTS_CHANNEL).
    supports_job_notifications = False

    def notify_jobs(self, rows: list[tuple[int, str, str, str]]) -> None:
        """Announce, with the caller's transaction's commit, that jobs changed: ``rows``
        are (id, queue, event, status), event one of rows.JOB_EVENTS. One notification
        per job, all in one statement; nothing is sent if the transaction rolls back.
        Code that completes, fails, defers or deletes jobs with the ORM calls this in the
        same ``transaction.atomic()`` block. A no-op on databases without NOTIFY."""

    def job_state(self, job_id: int) -> tuple[str, Any] | None:
        """The job's status and output, or None when it does not exist: the one read a
        waiter repeats (``core.jobs.replies``)."""
        return Job.objects.filter(pk=job_id).values_list("status", "output").first()

    def listen_jobs(self):
        """A dedicated connection receiving EVENTS_CHANNEL notifications (an object with
        ``events(timeout) -> list[dict]`` and ``close()``); raises NotImplementedError
        on databases without NOTIFY."""
        raise NotImplementedError(
            f"{self.vendor or 'this database'} has no job notifications: "
            "they need PostgreSQL (LISTEN/NOTIFY)"
        )

    # -- dashboard and seeding -----------------------------------------------

    def estimate_count(self, queryset) -> int:
        """The planner's estimate of how many rows ``queryset`` returns."""
        raise NotImplementedError

    def run_within(self, seconds: float, query: Callable[[], T]) -> T | None:
        """``query()``, or None if its statements take longer than ``seconds``
        (drivers without a statement timeout always run it to the end)."""
        return query()

    def frequent_values(self, column: str) -> dict[str, float]:
        """The most common values of a column of the job table and the share of rows
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
