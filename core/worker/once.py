"""One batch: claim at most one batch of jobs, run it here, write its outcomes, return.

``run_once`` (exported as ``core.queue.run_once``) is what ``runworker --once`` does,
in the calling process: the jobs run on threads, with heartbeats renewing their
leases, exactly as in a worker, and the call returns once every outcome is written.
"""

import time
from dataclasses import dataclass, field

from core.exceptions import InvalidJobError
from core.validation import Checks
from core.worker.options import WorkerOptions
from core.worker.runner import Worker

check = Checks(InvalidJobError)


@dataclass(frozen=True)
class OnceResult:
    """What one batch did."""

    #: Jobs claimed (at most one batch).
    claimed: int = 0
    #: Attempts that completed their job.
    completed: int = 0
    #: Attempts that failed their job for good.
    failed: int = 0
    #: Attempts that failed and left their job pending for a retry.
    retried: int = 0
    #: Attempts that parked their job (durable sleep, token wait, defer).
    parked: int = 0
    #: Outcomes that could not be written (the job is reclaimed later).
    dropped: int = 0
    #: Ids of the jobs claimed.
    ids: list[int] = field(default_factory=list)
    #: Seconds the call took, until the last outcome was written.
    seconds: float = 0.0

    def summary(self) -> str:
        """One line, as ``runworker --once`` prints it."""
        return (
            f"claimed={self.claimed} completed={self.completed} failed={self.failed} "
            f"retried={self.retried} parked={self.parked} dropped={self.dropped} "
            f"in {self.seconds:.3f}s"
        )


class _Once(Worker):
    """A worker that leaves the calling process's signal handling alone."""

    def _install_signals(self) -> None:
        pass


def run_once(
    queues: list[str] | None = None,
    job_types: list[str] | None = None,
    limit: int | None = None,
    *,
    concurrency: int = 4,
    lease: float | None = None,
    worker_id: str | None = None,
    grace: float = 30.0,
) -> OnceResult:
    """Claim at most one batch (at most ``limit`` jobs; None: as many as a worker with
    ``concurrency`` threads claims at once) from ``queues`` (None: every queue) and
    ``job_types`` (None: all), run it on ``concurrency`` threads of this process,
    write the outcomes and return what was done."""
    if queues is not None:
        queues = check.names("queues", queues, check.name, one=False)
    if job_types is not None:
        job_types = check.names("job_types", job_types, one=False)
    for name, value in (("limit", limit), ("concurrency", concurrency)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"{name}: must be a whole number of 1 or more, got {value!r}")
    options = WorkerOptions(
        queues=queues,
        job_types=job_types,
        concurrency=concurrency,
        once=True,
        max_jobs=limit,
        lease=lease,
        worker_id=worker_id,
        grace=grace,
        push=False,
    )
    return run_worker(_Once(options))


def run_worker(worker: Worker) -> OnceResult:
    """Run a ``once`` worker to its end and report its batch."""
    started = time.monotonic()
    worker.run()
    counts = worker.completer.counts
    return OnceResult(
        claimed=worker.claimed_total,
        completed=counts["completed"],
        failed=counts["failed"],
        retried=counts["pending"],
        parked=counts["suspended"],
        dropped=counts["dropped"],
        ids=list(worker.claimed_ids),
        seconds=time.monotonic() - started,
    )
