"""The shapes drivers take and return: jobs to insert, claimed jobs, outcomes."""

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: How a tag filter matches a job's tags.
TAG_MODES = ("exact", "all", "any", "none")
#: Channel the PostgreSQL driver NOTIFYs on enqueue.
NOTIFY_CHANNEL = "queueadmin_jobs"
#: Channel the PostgreSQL driver NOTIFYs when a job finishes, fails, is deferred or
#: retried, cancelled or deleted: one JSON payload per job, {"id", "queue", "event",
#: "status"}, sent with the commit that makes it true (see core.jobs.notifications).
EVENTS_CHANNEL = "queueadmin_events"
#: The ``event`` values sent on EVENTS_CHANNEL.
JOB_EVENTS = ("completed", "failed", "retried", "deferred", "cancelled", "deleted")


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
    #: Times a worker was lost while holding this job without knowing whether its
    #: handler was running: the worker records this job's start before running it.
    lost_count: int = 0
    #: The job's channel (None: none).
    channel: str | None = None
    #: Seconds each lease of this job lasts (None: the worker's lease).
    lock_timeout: float | None = None


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
    #: Seconds the attempt held its thread (for the worker's log line).
    seconds: float = 0.0


@dataclass(slots=True)
class HeartbeatReply:
    """What a heartbeat reads back: cancelled jobs and the operator's order."""

    #: Of the tracked jobs, those an operator cancelled meanwhile.
    cancelled: list[int] = field(default_factory=list)
    #: The worker row's order ("" none, "quiet", "stop"); None when the row is gone.
    order: str | None = None
    #: Who gave the order.
    ordered_by: str = ""


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
    "lock_timeout",
)

#: The INSERT_FIELDS that vary from job to job of one bulk insert (see insert_kinds).
_PER_ROW_FIELDS = ("payload", "idempotency_key", "run_at")
#: The lists among the rest, last in a kind.
_KIND_LISTS = ("tags", "depends_on")
#: The INSERT_FIELDS the jobs of one bulk insert mostly share, in the order the insert
#: statements read a kind (see insert_kinds).
KIND_FIELDS = (
    *(f for f in INSERT_FIELDS if f not in _PER_ROW_FIELDS + _KIND_LISTS),
    *_KIND_LISTS,
)
_KIND_SCALARS = operator.itemgetter(*KIND_FIELDS[: -len(_KIND_LISTS)])
_FIRST = operator.itemgetter(0)


def any_keyed(rows: list[dict[str, Any]]) -> bool:
    """Whether any row has an idempotency key (only then may an insert hit one)."""
    return any(row["idempotency_key"] is not None for row in rows)


def insert_kinds(
    rows: list[dict[str, Any]], run_at: Callable[[Any], Any]
) -> tuple[list[list], list[list]]:
    """The drivers' two JSON parameters of a bulk insert: its kinds, each distinct set
    of KIND_FIELDS values once, and for each row in order ``[kind, payload,
    idempotency_key, run_at]`` (its kind's index, its run_at passed through ``run_at``).

    A statement reads a job's shared options from its kind instead of from every row:
    half of SQLite's and a tenth of PostgreSQL's work per row, and less JSON to write.
    """
    index: dict[tuple, int] = {}
    kinds: list[list] = []
    values: list[list] = []
    for row in rows:
        scalars, tags, depends_on = _KIND_SCALARS(row), row["tags"], row["depends_on"]
        # Lists as tuples, to be hashable (a 3-tuple never equals the 12 scalars).
        key = (scalars, tuple(tags), tuple(depends_on)) if tags or depends_on else scalars
        kind = index.get(key)
        if kind is None:
            kind = index[key] = len(kinds)
            kinds.append([*scalars, tags, depends_on])
        values.append([kind, row["payload"], row["idempotency_key"], run_at(row["run_at"])])
    return kinds, values


CLAIM_COLUMNS = (
    "id, job_type, queue, payload, attempts, max_attempts, retry_delay, retry_backoff, "
    "retry_delay_max, timeout, force_kill_on_timeout, dead_letter_job_type, lost_count, "
    "channel, lock_timeout"
)


def match_inserted(rows: list[dict[str, Any]], returned: list[tuple]) -> list[tuple | None]:
    """Align RETURNING rows (id, idempotency_key, run_at, created_at, …) with the input.

    Ids grow in insert order, so sorted ids follow the inserted rows in input
    order; rows whose key is missing from the result hit an existing key.
    """
    returned = sorted(returned, key=_FIRST)
    if len(returned) == len(rows):  # no key was taken: every row inserted
        return [(r[0], r[2], r[3]) for r in returned]
    inserted_keys = {r[1] for r in returned if r[1] is not None}
    it = iter(returned)
    out: list[tuple | None] = []
    for row in rows:
        key = row["idempotency_key"]
        if key is not None and key not in inserted_keys:
            out.append(None)
        else:
            job_id, _, run_at, created_at = next(it)[:4]
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
        lost_count=row[12],
        channel=row[13],
        lock_timeout=row[14],
    )
