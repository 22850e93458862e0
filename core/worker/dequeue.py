"""Your own processing loop: ``dequeue`` leases jobs to the application's code, which
does the work wherever it likes (a web request, a script, a serverless function) and
then completes, fails, defers or deletes each job, heartbeating a long one.

The claim is the worker's own (priorities, pause, queue and channel limits, channels
read round-robin), so these jobs keep every policy and show up in the dashboard,
the events and the metrics like any other. Each ``dequeue`` call leases its jobs
under an owner of its own (``locked_by``); a lease that runs out makes the job
available again with the attempt counted, as a crashed worker's would.
"""

import socket
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from core import conf
from core.drivers import get_driver
from core.drivers.claim import RoundRobin
from core.drivers.rows import ClaimedJob, Outcome
from core.durable.waits import Defer, park
from core.exceptions import InvalidJobError, LockLost
from core.models import Job, JobStatus
from core.validation import Checks
from core.worker.completer import write_outcomes
from core.worker.executor import HANDLER_ERROR, completed, error_entry, failure

check = Checks(InvalidJobError)

#: Most jobs one ``dequeue`` call leases.
MAX_LIMIT = 1000
#: Seconds between two reclaims of expired leases by ``dequeue`` in one process.
RECLAIM_EVERY = 0.5

_rotation = RoundRobin()  # this process's place in the channel rotation
_reclaimed_at = 0.0
_reclaim_lock = threading.Lock()


_KEEP = object()


class JobError(Exception):
    """The error recorded when ``fail()`` is given a message instead of an exception."""


@dataclass(eq=False)
class LeasedJob:
    """A job ``dequeue`` leased to the caller: do the work, then call one of
    ``complete``, ``fail``, ``defer`` or ``delete``; ``heartbeat`` keeps a long one."""

    id: int
    job_type: str
    queue: str
    channel: str | None
    payload: Any
    #: 1 for the first attempt, 2 for the first retry...
    attempt: int
    max_attempts: int
    #: What the last ``defer(state=…)`` saved (None: nothing).
    state: Any
    #: When the lease runs out unless renewed.
    locked_until: datetime
    #: Who holds the lease (the job's ``locked_by``).
    owner: str
    #: Seconds each renewal lasts (``dequeue(lock=…)``; None: the job's own or the default).
    lock: float | None = None
    _claimed: ClaimedJob = field(repr=False, default=None)
    #: "", or how the job left the caller's hands: completed, failed, retried, deferred, deleted.
    done: str = ""

    def complete(self, output: Any = None) -> None:
        """The job completed with ``output`` (JSON)."""
        check.json("output", output)
        self._finish(completed(self._claimed, output))

    def fail(self, error: BaseException | str, *, retry: bool | None = None) -> str:
        """The attempt failed with ``error`` (an exception or a message). ``retry``
        None follows the job's retry policy (backoff, attempts left); True retries
        after the backoff delay even when the attempts are used up (one more is
        granted); False fails it for good (its dead-letter job is added). Returns the
        job's new status: pending (a retry) or failed."""
        if isinstance(error, str):
            error = JobError(error)
        elif not isinstance(error, BaseException):
            raise InvalidJobError(f"error: must be an exception or a message, got {error!r}")
        if retry is not None and not isinstance(retry, bool):
            raise InvalidJobError(f"retry: must be True, False or None, got {retry!r}")
        self._check_held()
        job = self._claimed
        granted = retry is True and job.attempts >= job.max_attempts
        if granted:
            job.max_attempts = job.attempts + 1
        elif retry is False:
            job.max_attempts = job.attempts
        outcome = failure(job, error_entry(job, error, HANDLER_ERROR))
        with transaction.atomic():
            if granted:
                Job.objects.filter(pk=self.id).update(max_attempts=job.max_attempts)
            self._finish(outcome)
        return outcome.status

    def defer(self, delay: Any = 0, *, state: Any = _KEEP) -> None:
        """Give the job back without failing it: pending again after ``delay`` (a
        duration), the attempt not counted, ``state`` saved for the next run (left
        as it is when not given)."""
        delay = check.seconds("delay", delay)
        state = self.state if state is _KEEP else check.json("state", state)
        self._check_held()
        if not park(self.id, self.owner, Defer(delay=delay, state=state), {}):
            raise self._lost()
        self.done = "deferred"  # (park told listeners)

    def heartbeat(self, lock: Any = None) -> datetime:
        """Renew the lease for ``lock`` seconds from now (None: as long as the last
        one); returns its new end. Raises LockLost if the job is no longer held."""
        if lock is not None:
            self.lock = check.seconds("lock", lock, positive=True)
        self._check_held()
        rows = get_driver().hold(self.owner, [self.id], self.lock, _lease())
        if not rows:
            raise self._lost()
        self.locked_until = rows[0][1]
        return self.locked_until

    def delete(self) -> None:
        """Delete the job and its history (done with it, nothing to record)."""
        self._check_held()
        with transaction.atomic():
            held = Job.objects.select_for_update().filter(
                pk=self.id, status=JobStatus.PROCESSING, locked_by=self.owner
            )
            if not held.exists():
                raise self._lost()
            _notify(self, "deleted", "deleted")
            Job.objects.filter(pk=self.id).delete()
        self.done = "deleted"

    def _finish(self, outcome: Outcome) -> None:
        self._check_held()
        if not write_outcomes(get_driver(), self.owner, [outcome]):
            raise self._lost()
        self.done = outcome.event

    def _check_held(self) -> None:
        if self.done:
            raise LockLost(f"job {self.id} was already {self.done} by this lease")

    def _lost(self) -> LockLost:
        status = Job.objects.filter(pk=self.id).values_list("status", flat=True).first()
        now = "deleted" if status is None else status
        return LockLost(
            f"job {self.id} is no longer leased to {self.owner} (it is {now}): its lock "
            "expired and it was reclaimed, or an operator cancelled it"
        )


def _notify(job: LeasedJob, event: str, status: str) -> None:
    """Tell listeners (PostgreSQL NOTIFY, at the commit) what became of ``job``."""
    get_driver().notify_jobs([(job.id, job.queue, event, status)])


def _lease() -> float:
    return float(conf.get("LEASE_SECONDS"))


def _owner() -> str:
    return f"dequeue:{socket.gethostname()[:100]}:{uuid.uuid4().hex[:12]}"


def _reclaim_expired(driver) -> None:
    """Make jobs whose lease ran out available again (at most every RECLAIM_EVERY
    seconds per process; a worker's maintenance does it too)."""
    global _reclaimed_at
    with _reclaim_lock:
        now = time.monotonic()
        if now - _reclaimed_at < RECLAIM_EVERY:
            return
        _reclaimed_at = now
    driver.reclaim_expired()


def dequeue(
    queue: str | Iterable[str] | None = None,
    *,
    channel: str | None = None,
    job_types: str | Iterable[str] | None = None,
    limit: int = 1,
    lock: Any = None,
) -> list[LeasedJob]:
    """Lease up to ``limit`` due jobs of ``queue`` (a name, a list, or None: the
    DEFAULT_QUEUE setting; ``"*"``: every queue), in the order and under the policies
    ``runworker`` keeps. ``channel`` takes only that channel's jobs, ``job_types`` only
    those types. Each lease lasts ``lock`` seconds (a duration; None: the job's own
    ``lock_timeout``, else the LEASE_SECONDS setting). Returns [] when nothing is due.

    Not inside a transaction: the lease must be committed before the work starts.
    """
    if queue == "*":
        queues = None
    else:
        queues = check.names(
            "queue", conf.get("DEFAULT_QUEUE") if queue is None else queue, check.name
        )
    types = None if job_types is None else check.names("job_types", job_types)
    channel = None if channel is None else check.name("channel", channel, 200)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidJobError(f"limit: must be an integer from 1 to {MAX_LIMIT}, got {limit!r}")
    lock = None if lock is None else check.seconds("lock", lock, positive=True)
    driver = get_driver()
    if transaction.get_connection(driver.using).in_atomic_block:
        raise InvalidJobError("dequeue: call it outside transaction.atomic()")
    _reclaim_expired(driver)
    owner = _owner()
    claimed = driver.claim(owner, queues, types, limit, lock or _lease(), channel=channel)
    if not claimed:
        return []
    # The leases as asked, and the jobs counted as running: if a lease runs out,
    # reclaim charges the attempt, as for a crashed worker's running job.
    leases = driver.hold(owner, [job.id for job in claimed], lock, _lease())
    held = {job_id: (until, state) for job_id, until, state in leases}
    return [
        LeasedJob(
            id=job.id,
            job_type=job.job_type,
            queue=job.queue,
            channel=job.channel,
            payload=job.payload,
            attempt=job.attempts,
            max_attempts=job.max_attempts,
            state=held[job.id][1],
            locked_until=held[job.id][0],
            owner=owner,
            lock=lock,
            _claimed=job,
        )
        for job in claimed
        if job.id in held
    ]
