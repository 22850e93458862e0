"""Maintenance on a thread of its own, started by each heartbeat.

A maintenance task may run for seconds (a minute's rollup at 20,000 jobs/s is one
long statement); on the heartbeat's thread it would hold back the lease renewals of
every running job. Here it only delays the next maintenance run.
"""

import logging
import threading
from typing import Any

from django.db import connections

from core import faults, maintenance

logger = logging.getLogger("queueadmin.worker")


class Upkeep:
    """Runs the due maintenance tasks for a runner.Worker whenever ``poke()`` asks."""

    def __init__(self, worker: Any) -> None:
        self.worker = worker
        self._due = threading.Event()
        self._stopped = threading.Event()
        #: Maintenance runs done (for tests and the curious).
        self.runs = 0

    def poke(self) -> None:
        """Ask for a run (the heartbeat does, each beat); a run under way is not doubled."""
        self._due.set()

    def stop(self) -> None:
        """End ``run()`` after the task under way."""
        self._stopped.set()
        self._due.set()

    def run(self) -> None:
        """Wait for pokes and run the due tasks until stopped."""
        try:
            while True:
                self._due.wait()
                self._due.clear()
                if self._stopped.is_set():
                    return
                self.run_once()
        finally:
            connections.close_all()

    def run_once(self) -> None:
        """Run the due tasks now; wake the claim loop when jobs became pending."""
        worker = self.worker
        try:
            # Each due task runs on one worker only; it logs what it did.
            done = maintenance.run_due(
                worker.worker_id, time_limit=maintenance.default_time_limit(worker.lease)
            )
        except Exception as exc:
            faults.log_failure(logger, "maintenance failed", exc)
            worker.reset_connection()
            return
        finally:
            self.runs += 1
        if any(done[name].changed for name in ("reclaim", "wake") if name in done):
            worker.wake.set()  # jobs became pending
