"""Write outcomes in batches: one statement for many jobs, events in bulk."""

import logging
import queue as queue_module
import threading
import time

from django.db import close_old_connections, connections, transaction

from core.drivers import Driver
from core.drivers.rows import Outcome
from core.jobs import dependencies
from core.jobs.enqueue import enqueue_many

logger = logging.getLogger("queueadmin.worker")


#: Seconds between two checks for jobs held by dependencies (while there are
#: none, a batch costs no extra query; while there are, every batch settles them).
HELD_RECHECK = 0.5


class Completer(threading.Thread):
    """Collects outcomes from executor threads and flushes them in batches.

    A batch is written when ``batch_size`` outcomes are waiting or
    ``flush_interval`` seconds after the first one arrived, whichever is first.
    """

    def __init__(
        self,
        driver: Driver,
        worker_id: str,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.005,
    ) -> None:
        super().__init__(name="queueadmin-completer", daemon=True)
        self.driver = driver
        self.worker_id = worker_id
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self._queue: queue_module.SimpleQueue[Outcome | threading.Event | None] = (
            queue_module.SimpleQueue()
        )
        self._held, self._held_checked_at = False, float("-inf")
        #: Counts of outcomes written, by status.
        self.counts = {"completed": 0, "failed": 0, "pending": 0, "suspended": 0, "dropped": 0}

    def submit(self, outcome: Outcome) -> None:
        """Queue one outcome for the next batch."""
        self._queue.put(outcome)

    def flush(self, timeout: float = 30.0) -> bool:
        """Block until every outcome submitted so far is written."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def stop(self) -> None:
        """Flush everything queued, then end the thread."""
        self._queue.put(None)
        self.join()

    @property
    def processed(self) -> int:
        """Jobs finished (completed, failed or retried) so far."""
        return self.counts["completed"] + self.counts["failed"] + self.counts["pending"]

    def run(self) -> None:
        try:
            stopping = False
            while not stopping:
                batch: list[Outcome] = []
                flushes: list[threading.Event] = []
                stopping = self._fill(batch, flushes)
                if batch:
                    self._write(batch)
                for done in flushes:
                    done.set()
        finally:
            connections.close_all()

    def _fill(self, batch: list[Outcome], flushes: list[threading.Event]) -> bool:
        """Collect a batch: wait for a first item, then for more until the batch is
        full, the flush interval passed or a flush is asked. True means stop."""
        deadline = None
        while len(batch) < self.batch_size:
            try:
                if deadline is None:
                    item = self._queue.get()
                    deadline = time.monotonic() + self.flush_interval
                else:
                    remaining = deadline - time.monotonic()
                    if remaining > 0:
                        item = self._queue.get(timeout=remaining)
                    else:
                        item = self._queue.get_nowait()
            except queue_module.Empty:
                return False
            if item is None:
                return True
            if isinstance(item, threading.Event):
                flushes.append(item)
                return False
            batch.append(item)
        return False

    def _write(self, batch: list[Outcome]) -> None:
        for attempt in range(1, 6):
            try:
                self._write_once(batch)
                return
            except Exception:
                logger.exception("writing %d outcomes failed (try %d of 5)", len(batch), attempt)
                close_old_connections()
                connections[self.driver.using].close()
                time.sleep(min(0.2 * 2**attempt, 5))
        # The jobs stay processing; their leases expire and they are reclaimed.
        logger.error("gave up writing %d outcomes; their jobs will be reclaimed", len(batch))

    def _write_once(self, batch: list[Outcome]) -> None:
        # Parked runs were written when they parked; only count them.
        self.counts["suspended"] += sum(o.status == "suspended" for o in batch)
        batch = [o for o in batch if o.status != "suspended"]
        if not batch:
            return
        dead = [o for o in batch if o.dead_letter is not None]
        if dead:
            with transaction.atomic(using=self.driver.using):
                done = set(self.driver.finish(self.worker_id, batch))
                specs = [o.dead_letter for o in dead if o.job_id in done]
                if specs:
                    enqueue_many(specs)
        else:
            done = set(self.driver.finish(self.worker_id, batch))
        for outcome in batch:
            self.counts[outcome.status if outcome.job_id in done else "dropped"] += 1
        if self._jobs_held():  # release or cancel the dependents at once
            dependencies.settle()

    def _jobs_held(self) -> bool:
        """Whether any job is held for dependencies, asked at most every HELD_RECHECK s."""
        now = time.monotonic()
        if now - self._held_checked_at >= HELD_RECHECK:
            self._held_checked_at, self._held = now, dependencies.has_held()
        return self._held
