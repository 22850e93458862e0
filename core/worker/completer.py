"""Write outcomes in batches: one statement for many jobs, events in bulk; then send
``job_finished`` for each (while a receiver is connected)."""

import logging
import queue as queue_module
import threading
import time

from django.db import close_old_connections, connections, transaction

from core import signals
from core.drivers import Driver
from core.drivers.rows import ClaimedJob, Outcome
from core.jobs import dependencies
from core.jobs.enqueue import enqueue_many
from core.models import Job, JobStatus

logger = logging.getLogger("queueadmin.worker")


#: Seconds between two checks for jobs held by dependencies (while there are
#: none, a batch costs no extra query; while there are, every batch settles them).
HELD_RECHECK = 0.5

#: job_finished's outcome for a written Outcome, by its status (suspended runs by event).
_FINISHED = {"completed": "completed", "failed": "failed", "pending": "retrying"}
_PARKED = {"sleep": "waiting", "awaittoken": "waiting", "defer": "deferred"}


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
        self._queue: queue_module.SimpleQueue[
            tuple[Outcome, ClaimedJob] | threading.Event | None
        ] = queue_module.SimpleQueue()
        self._held, self._held_checked_at = False, float("-inf")
        #: Counts of outcomes written, by status.
        self.counts = {"completed": 0, "failed": 0, "pending": 0, "suspended": 0, "dropped": 0}

    def submit(self, outcome: Outcome, job: ClaimedJob) -> None:
        """Queue one outcome of the attempt of ``job`` for the next batch."""
        self._queue.put((outcome, job))

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
                batch: list[tuple[Outcome, ClaimedJob]] = []
                flushes: list[threading.Event] = []
                stopping = self._fill(batch, flushes)
                if batch:
                    self._write(batch)
                for done in flushes:
                    done.set()
        finally:
            connections.close_all()

    def _fill(
        self, batch: list[tuple[Outcome, ClaimedJob]], flushes: list[threading.Event]
    ) -> bool:
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

    def _write(self, batch: list[tuple[Outcome, ClaimedJob]]) -> None:
        outcomes = [outcome for outcome, _ in batch]
        written: set[int] | None = None
        for attempt in range(1, 6):
            try:
                written = self._write_once(outcomes)
                break
            except Exception:
                logger.exception("writing %d outcomes failed (try %d of 5)", len(batch), attempt)
                close_old_connections()
                connections[self.driver.using].close()
                time.sleep(min(0.2 * 2**attempt, 5))
        else:
            # The jobs stay processing; their leases expire and they are reclaimed.
            logger.error("gave up writing %d outcomes; their jobs will be reclaimed", len(batch))
        if signals.job_finished.has_listeners(Job):
            self._announce(batch, written)

    def _write_once(self, batch: list[Outcome]) -> set[int]:
        """Write the batch; return the ids of the jobs whose outcome was written."""
        # Parked runs were written when they parked; only count them.
        self.counts["suspended"] += sum(o.status == "suspended" for o in batch)
        batch = [o for o in batch if o.status != "suspended"]
        if not batch:
            return set()
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
        return done

    def _announce(self, batch: list[tuple[Outcome, ClaimedJob]], written: set[int] | None) -> None:
        """Send job_finished for each attempt of the batch, now that it is written.

        ``written`` holds the jobs whose outcome was written (None: the write gave
        up). Only when a write was refused (rare) does one query tell a cancelled
        job from one that was reclaimed.
        """
        outcomes: list[tuple[Outcome, ClaimedJob, str]] = []
        refused: list[int] = []
        for outcome, job in batch:
            if outcome.status == "suspended":
                name = _PARKED.get(outcome.event, "")  # "" when it could not park
            elif written is not None and outcome.job_id in written:
                name = _FINISHED[outcome.status]
            else:
                name = ""
            if not name:
                refused.append(outcome.job_id)
            outcomes.append((outcome, job, name))
        cancelled = refused_cancelled(self.driver.using, refused) if written is not None else set()
        for outcome, job, name in outcomes:
            if name:
                output = outcome.output if name == "completed" else None
                error = outcome.error if name in ("retrying", "failed") else None
            else:
                name = "cancelled" if outcome.job_id in cancelled else "discarded"
                output = error = None
            send_finished(job, self.worker_id, name, output, error)

    def _jobs_held(self) -> bool:
        """Whether any job is held for dependencies, asked at most every HELD_RECHECK s."""
        now = time.monotonic()
        if now - self._held_checked_at >= HELD_RECHECK:
            self._held_checked_at, self._held = now, dependencies.has_held()
        return self._held


def refused_cancelled(using: str, ids: list[int]) -> set[int]:
    """Which of the jobs whose outcome was refused an operator cancelled (one query)."""
    if not ids:
        return set()
    try:
        return set(
            Job.objects.using(using)
            .filter(id__in=ids, status=JobStatus.CANCELLED)
            .values_list("id", flat=True)
        )
    except Exception:
        logger.exception("could not read the status of jobs %s", ids[:50])
        return set()


def _attempt(job: ClaimedJob, worker_id: str) -> dict:
    """The keyword arguments job_started and job_finished share."""
    return {
        "job_id": job.id,
        "job_type": job.job_type,
        "queue": job.queue,
        "attempt": job.attempts,
        "worker_id": worker_id,
    }


def send_started(job: ClaimedJob, worker_id: str) -> None:
    """Send job_started for one attempt of ``job`` (see core.signals)."""
    signals.send(signals.job_started, Job, **_attempt(job, worker_id))


def send_finished(job: ClaimedJob, worker_id: str, outcome: str, output=None, error=None) -> None:
    """Send job_finished for one attempt of ``job`` (see core.signals)."""
    signals.send(
        signals.job_finished,
        Job,
        **_attempt(job, worker_id),
        outcome=outcome,
        output=output,
        error=error,
    )
