"""How many jobs a worker claims at once: sized from what it observes (Little's law).

A worker keeps its threads busy and, beside them, a buffer of claimed jobs worth
``horizon`` seconds of work, so the next claim's round trip overlaps with work
instead of leaving threads idle. The jobs a worker can finish per second are
``concurrency / job_seconds``; the buffer it needs is that rate times the horizon
(Little's law, L = λW). The horizon is the larger of ``MIN_HORIZON`` and a few claim
round trips, so a slow or distant database gets a deeper buffer.

- Short jobs (no-ops take well under a millisecond) are claimed in large batches,
  up to ``cap`` per claim.
- Long jobs are not hoarded: with 1-second jobs on 4 threads the buffer is
  4 x 0.1 = 0.4 jobs, so the worker claims only for its idle threads. A job never
  waits in a buffer much longer than the horizon while other workers could run it.
- Before the first job finishes nothing is known: the worker claims only for its
  idle threads. While every thread is busy, the shortest of their running times is
  a lower bound of the current job time, so a change to long jobs shrinks the
  buffer at once, before any of them finishes.
"""

import math

#: Seconds of work kept claimed beside the running jobs, at least.
MIN_HORIZON = 0.1
#: The horizon is at least this many claim round trips.
ROUND_TRIPS = 3
#: Most jobs claimed by one statement unless ``--batch-size`` says otherwise.
DEFAULT_CAP = 1000
#: Weight of the newest observation in the moving averages.
ALPHA = 0.05


class ClaimSizer:
    """Tracks job and claim times of one worker and sizes its claims."""

    def __init__(self, concurrency: int, cap: int | None = None) -> None:
        self.concurrency = concurrency
        #: Most jobs per claim (``--batch-size``), or DEFAULT_CAP.
        self.cap = cap or DEFAULT_CAP
        #: Moving average of a job's time on its thread, seconds (None: none finished).
        self.job_seconds: float | None = None
        #: Moving average of a claim's round trip, seconds.
        self.claim_seconds = 0.0

    def job_done(self, seconds: float) -> None:
        """Record the time one job held its thread."""
        if self.job_seconds is None:
            self.job_seconds = seconds
        else:
            self.job_seconds += ALPHA * (seconds - self.job_seconds)

    def claimed(self, seconds: float) -> None:
        """Record one claim's round trip."""
        self.claim_seconds += 0.2 * (seconds - self.claim_seconds)

    def horizon(self) -> float:
        return max(MIN_HORIZON, ROUND_TRIPS * self.claim_seconds)

    def buffer(self, busy_for: float = 0.0) -> int:
        """Jobs to keep claimed beside the running ones. ``busy_for``: while every
        thread is busy, the shortest time any of them has been running its job."""
        if self.job_seconds is None:
            return 0
        seconds = max(self.job_seconds, busy_for, 1e-6)
        return min(self.cap, math.floor(self.concurrency / seconds * self.horizon()))

    def target(self, busy_for: float = 0.0) -> int:
        """Jobs to hold in all (running and buffered)."""
        return self.concurrency + self.buffer(busy_for)
