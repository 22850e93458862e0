"""When a ``--burst`` worker may exit: only once no due job is left that it could run.

A claim that finds nothing does not mean nothing is left: a queue's rate limit or
max concurrency, or a channel's release interval or max concurrency, may hold due
jobs back for a while. ``BurstEnd`` then reads (read-only, with the ORM) when the
soonest of them may start (``next_start_in``), waits that long (woken early by a
NOTIFY or a finished job) and claims again, for at most ``burst_wait`` seconds
without claiming anything; after that the worker exits with ``LEFT_JOBS`` as its
exit code, saying how many due jobs it left.

Jobs of paused queues, jobs scheduled in the future and jobs waiting (durable
waits, dependencies) do not keep a burst worker running.
"""

import logging
import time
from typing import Any

from django.db.models.functions import Now

from core.models import Job, JobStatus, Queue
from core.scheduling.policies import channel_usage, queue_usage

logger = logging.getLogger("queueadmin.worker")

#: Exit code of a burst worker that gave up on due jobs still held back after
#: ``burst_wait`` seconds (the supervisor treats it as finished, not as a death).
LEFT_JOBS = 75  # EX_TEMPFAIL (sysexits.h): try again later
#: Shortest and longest wait between two looks while due jobs are held back (a
#: concurrency limit held by another worker has no known end: it is polled).
MIN_WAIT, MAX_WAIT = 0.01, 0.5
#: Queue and channel pairs looked at to find the soonest start.
MAX_PAIRS = 200


def due_jobs(queues: list[str] | None, job_types: list[str] | None):
    """The due pending jobs a worker serving ``queues``/``job_types`` could run, but
    for the policies that may hold them back (paused queues left out)."""
    due = Job.objects.filter(status=JobStatus.PENDING, run_at__lte=Now())
    if queues is not None:
        due = due.filter(queue__in=queues)
    if job_types is not None:
        due = due.filter(job_type__in=job_types)
    paused = Queue.objects.filter(paused=True).values("name")
    return due.exclude(queue__in=paused)


def next_start_in(queues: list[str] | None, job_types: list[str] | None) -> float | None:
    """Seconds until the soonest due job held back by a policy may start (0: it may
    now, or its end is unknown), or None when no due job is left."""
    due = due_jobs(queues, job_types)
    pairs = list(due.order_by().values_list("queue", "channel").distinct()[:MAX_PAIRS])
    if not pairs:
        return None
    queue_waits = queue_usage({q for q, _ in pairs})
    channel_waits = channel_usage({c for _, c in pairs if c is not None})
    soonest = None
    for queue, channel in pairs:
        wait = queue_waits[queue].next_start_in
        if channel is not None:
            wait = max(wait, channel_waits[channel].next_start_in)
        soonest = wait if soonest is None else min(soonest, wait)
    return soonest


class BurstEnd:
    """Decides, for a burst runner.Worker whose claim came back empty, whether to exit."""

    def __init__(self, worker: Any, burst_wait: float) -> None:
        self.worker = worker
        #: Seconds a burst worker waits for held-back jobs without claiming any.
        self.burst_wait = burst_wait
        self._since: float | None = None
        self._seen = 0
        #: The exit code (0, or LEFT_JOBS when it gave up on held-back jobs).
        self.exit_code = 0

    def finished(self) -> bool:
        """True when the worker may exit; otherwise claim or wait first (it holds
        nothing, and its last claim got nothing)."""
        worker = self.worker
        if worker.claimed_total != self._seen:  # it claimed since: the wait starts over
            self._seen, self._since = worker.claimed_total, None
        # Outcomes still queued may make jobs due again (a retry at once).
        worker.completer.flush()
        got = worker._claim(worker.options.concurrency)
        if got is None:
            return False  # the claim failed (logged, backed off): try again
        if got or worker.held:
            return False
        try:
            wait = next_start_in(worker.options.queues, worker.options.job_types)
        except Exception as exc:
            logger.warning("burst: could not read what holds due jobs back: %s", exc)
            worker.reset_connection()
            wait = MAX_WAIT
        if wait is None:
            return True
        now = time.monotonic()
        if self._since is None:
            self._since = now
        if now - self._since >= self.burst_wait:
            left = self._count_left()
            logger.warning(
                "worker id=%s burst: %s due jobs still held back by queue or channel "
                "policies after waiting %gs; exiting with code %d",
                worker.worker_id,
                left,
                self.burst_wait,
                LEFT_JOBS,
            )
            self.exit_code = LEFT_JOBS
            return True
        remaining = self.burst_wait - (now - self._since)
        # A known start time (rate window, release interval), a moment after it; an
        # unknown one (a concurrency limit another worker holds) is polled.
        wait = wait + MIN_WAIT if wait > 0 else worker.poll_interval
        worker.wake.wait(min(max(wait, MIN_WAIT), MAX_WAIT, remaining))
        return False

    def _count_left(self) -> int | str:
        try:
            return due_jobs(self.worker.options.queues, self.worker.options.job_types).count()
        except Exception:
            return "some"
