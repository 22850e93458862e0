"""Write outcomes in batches: one statement for many jobs, events in bulk; then send
``job_finished`` for each (while a receiver is connected).

An outcome is never dropped while the process lives: while the database is away the
batch is retried with back-off until it answers (the worker stops claiming once
``Worker.max_backlog`` outcomes wait, so memory stays bounded), and the jobs stay
tracked, so the heartbeat keeps their leases. Only at shutdown, or for an outcome the
database refuses for good, does the completer give up: then the job's lease runs out
and it is reclaimed (at least once).
"""

import json
import logging
import queue as queue_module
import threading
import time

from django.db import connections, transaction

from core import faults, signals
from core.drivers import Driver
from core.drivers.rows import ClaimedJob, Outcome
from core.jobs import dependencies
from core.jobs.enqueue import enqueue_many
from core.models import Job, JobStatus
from core.worker import executor, hooks

logger = logging.getLogger("queueadmin.worker")
#: One line per job at INFO, once its outcome is written (silenced by runworker -v 0).
job_logger = logging.getLogger("queueadmin.worker.jobs")


#: Seconds between two checks for jobs held by dependencies (while there are
#: none, a batch costs no extra query; while there are, every batch settles them).
HELD_RECHECK = 0.5

#: Seconds a stopping completer keeps retrying a batch while the database is away.
STOP_RETRY_SECONDS = 10.0

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
        log_jobs: bool = False,
    ) -> None:
        super().__init__(name="queueadmin-completer", daemon=True)
        self.driver = driver
        self.worker_id = worker_id
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.log_jobs = log_jobs
        self._queue: queue_module.SimpleQueue[
            tuple[Outcome, ClaimedJob] | threading.Event | None
        ] = queue_module.SimpleQueue()
        self._held, self._held_checked_at = False, float("-inf")
        #: Counts of outcomes written, by status.
        self.counts = {"completed": 0, "failed": 0, "pending": 0, "suspended": 0, "dropped": 0}
        #: Jobs whose outcome is submitted and not yet written (the heartbeat renews them).
        self._pending: set[int] = set()
        self._pending_lock = threading.Lock()
        self._stopping = False

    def submit(self, outcome: Outcome, job: ClaimedJob) -> None:
        """Queue one outcome of the attempt of ``job`` for the next batch."""
        with self._pending_lock:
            self._pending.add(job.id)
        self._queue.put((outcome, job))

    def pending_ids(self) -> list[int]:
        """The jobs whose outcome waits to be written."""
        with self._pending_lock:
            return list(self._pending)

    @property
    def backlog(self) -> int:
        """How many outcomes wait to be written."""
        return len(self._pending)

    def flush(self, timeout: float = 30.0) -> bool:
        """Block until every outcome submitted so far is written."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def stop(self) -> None:
        """Flush everything queued, then end the thread (giving up on the database after
        STOP_RETRY_SECONDS)."""
        self._stopping = True
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
                    try:
                        self._write(batch)
                    except Exception as exc:  # a bug: forget the batch, its leases lapse
                        faults.log_failure(logger, "writing outcomes failed", exc)
                        with self._pending_lock:
                            self._pending.difference_update(job.id for _, job in batch)
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
                    waited_from = time.monotonic()
                    item = self._queue.get()
                    now = time.monotonic()
                    # A lone outcome after a quiet spell (an idle worker's job) is written
                    # at once: waiting for company would only delay whoever waits for it
                    # (core.queue.call). Under load the queue is never empty here.
                    quiet = now - waited_from >= self.flush_interval and self._queue.empty()
                    deadline = now if quiet else now + self.flush_interval
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
        # Parked runs were written when they parked; only count them.
        self.counts["suspended"] += sum(o.status == "suspended" for o, _ in batch)
        pairs = [(o, job) for o, job in batch if o.status != "suspended"]
        written = self._write_until_done(pairs) if pairs else set()
        with self._pending_lock:
            self._pending.difference_update(job.id for _, job in batch)
        if written:
            try:
                if self._jobs_held():  # release or cancel the dependents at once
                    dependencies.settle()
            except Exception as exc:  # every heartbeat settles them too
                faults.log_failure(logger, "settling dependent jobs failed", exc)
        if self.log_jobs and job_logger.isEnabledFor(logging.INFO):
            _log(batch)
        if signals.job_finished.has_listeners(Job):
            self._announce(batch, written)

    def _write_until_done(self, pairs: list[tuple[Outcome, ClaimedJob]]) -> set[int] | None:
        """Write the outcomes; return the ids written (None: given up at shutdown).

        While the database is away, retry with back-off for as long as the worker
        lives; an error a retry cannot fix is narrowed down to the outcomes causing it,
        which are written as failures of their attempts instead."""
        backoff = faults.Backoff()
        given_up_at = None
        while True:
            try:
                written = self._write_once([o for o, _ in pairs])
                break
            except Exception as exc:
                faults.reset_connection(self.driver.using)
                if not faults.is_outage(exc):
                    faults.log_failure(logger, f"writing {len(pairs)} outcomes failed", exc)
                    written = self._write_one_by_one(pairs)
                    break
                faults.log_failure(logger, f"writing {len(pairs)} outcomes failed; retrying", exc)
                if self._stopping:
                    given_up_at = given_up_at or time.monotonic() + STOP_RETRY_SECONDS
                    if time.monotonic() >= given_up_at:
                        # The jobs stay processing; their leases expire and they are reclaimed.
                        logger.error(
                            "gave up writing %d outcomes at shutdown; their jobs will be reclaimed",
                            len(pairs),
                        )
                        self.counts["dropped"] += len(pairs)
                        return None
                time.sleep(backoff.step())
        for outcome, _ in pairs:
            self.counts[outcome.status if outcome.job_id in written else "dropped"] += 1
        return written

    def _write_one_by_one(self, pairs: list[tuple[Outcome, ClaimedJob]]) -> set[int]:
        """After an error a retry cannot fix: write each outcome alone; one the database
        refuses becomes a failure of its attempt (the reason in its error)."""
        written: set[int] = set()
        for outcome, job in pairs:
            try:
                written |= self._write_once([outcome])
                continue
            except Exception as exc:
                faults.reset_connection(self.driver.using)
                error = executor.error_entry(job, exc, executor.HANDLER_ERROR)
                error["message"] = f"the database refused the attempt's outcome: {exc}"
            try:
                written |= self._write_once([executor.failure(job, error)])
            except Exception as exc:
                faults.reset_connection(self.driver.using)
                faults.log_failure(logger, f"job id={job.id}: its outcome cannot be written", exc)
        return written

    def _write_once(self, batch: list[Outcome]) -> set[int]:
        """Write the batch; return the ids of the jobs whose outcome was written."""
        return write_outcomes(self.driver, self.worker_id, batch)

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


def write_outcomes(driver: Driver, worker_id: str, batch: list[Outcome]) -> set[int]:
    """Write outcomes of jobs ``worker_id`` holds, and in the same transaction the
    dead-letter jobs of the failures written; return the ids whose outcome was written
    (a job no longer held is left alone)."""
    dead = [o for o in batch if o.dead_letter is not None]
    if not dead:
        return set(driver.finish(worker_id, batch))
    with transaction.atomic(using=driver.using):
        done = set(driver.finish(worker_id, batch))
        specs = [o.dead_letter for o in dead if o.job_id in done]
        if specs:
            enqueue_many(specs)
    return done


_JOB_LINE = "job id=%s type=%s queue=%s attempt=%d/%d outcome=%s%s duration=%.3fs%s"


def _log(batch: list[tuple[Outcome, ClaimedJob]]) -> None:
    """The batch's job lines (from this one thread: no contention for the handlers),
    each with the job describer's text (core.worker.hooks) when there is one.

    One record per job, as ``job_logger.info`` would make it, but made once per batch
    and copied for the next jobs with their own arguments: what a record collects
    besides them (the time, this thread's and process's names, the caller) is the
    same for the whole batch, written at one moment, and collecting it was about a
    third of a line's cost."""
    template = kind = None
    for outcome, job in batch:
        text = hooks.describe(job)
        args = (
            job.id,
            job.job_type,
            job.queue,
            job.attempts,
            job.max_attempts,
            outcome.event,
            f" reason={outcome.error['reason']}" if outcome.error else "",
            outcome.seconds,
            f" desc={json.dumps(text, ensure_ascii=False)}" if text else "",
        )
        if template is None:
            record = job_logger.makeRecord(
                job_logger.name, logging.INFO, __file__, _LINE, _JOB_LINE, args, None, "_log"
            )
            template, kind = dict(record.__dict__), type(record)  # the record factory's
        else:
            record = kind.__new__(kind)
            record.__dict__ = {**template, "args": args}
        job_logger.handle(record)


#: The line _log's records name as their caller.
_LINE = _log.__code__.co_firstlineno


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
