"""Run: one claimed job inside a worker, from claim to outcome."""

import threading

from core.drivers.rows import ClaimedJob
from core.durable.context import JobContext


class Run:
    """One claimed job inside this worker, from claim to outcome."""

    __slots__ = ("ctx", "done", "job", "started", "written_off")

    #: Guards ``done`` (one lock for all: closing is rare and short, and a lock per
    #: run would cost more than the rest of its bookkeeping).
    _closing = threading.Lock()

    def __init__(self, job: ClaimedJob) -> None:
        self.job = job
        self.ctx: JobContext | None = None
        self.started: float | None = None
        self.done = False
        #: Timed out while its handler still runs: its thread is replaced.
        self.written_off = False

    def close(self) -> bool:
        """Claim the right to record this run's outcome; False if someone already did."""
        with self._closing:
            if self.done:
                return False
            self.done = True
            return True
