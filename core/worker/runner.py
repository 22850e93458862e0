"""The worker loop: claim in batches, run on threads, heartbeat, shut down cleanly."""

import contextlib
import logging
import os
import queue as queue_module
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

from django.db import connections
from django.utils import timezone

from core import conf, faults, maintenance, signals
from core.drivers import Driver, get_driver
from core.drivers.rows import ClaimedJob, Outcome
from core.durable.context import JobContext
from core.durable.registry import autodiscover
from core.models import Job
from core.models import Worker as WorkerRow
from core.streams.pusher import Pusher
from core.worker import executor, isolated, signalling
from core.worker.completer import Completer, refused_cancelled, send_finished, send_started
from core.worker.sizing import ClaimSizer
from core.worker.starter import Starter

logger = logging.getLogger("queueadmin.worker")


@dataclass
class WorkerOptions:
    """How a worker runs; see ``manage.py runworker --help``."""

    #: Queues to serve; None serves every queue.
    queues: list[str] | None = field(default_factory=lambda: ["default"])
    #: Only these job types; None for all.
    job_types: list[str] | None = None
    #: Threads running jobs.
    concurrency: int = 4
    #: Most jobs claimed by one statement (None: sizing.DEFAULT_CAP). Below it the
    #: worker sizes each claim from its job and claim times (core.worker.sizing);
    #: jobs beyond the idle threads wait in a local buffer, their leases renewed.
    batch_size: int | None = None
    #: Seconds between polls when idle (None: the driver's default).
    poll_interval: float | None = None
    #: Exit when no due job is left.
    burst: bool = False
    #: Exit after claiming this many jobs.
    max_jobs: int | None = None
    worker_id: str | None = None
    #: Seconds running jobs get to finish after the first SIGTERM/SIGINT.
    grace: float = 30.0
    #: Lease seconds (None: the LEASE_SECONDS setting).
    lease: float | None = None
    #: Log one line per job at INFO.
    log_jobs: bool = True
    #: Deliver stream push subscriptions on a thread of this worker.
    push: bool = True


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


class Worker:
    """A runworker process's engine; ``run()`` returns the exit code."""

    def __init__(self, options: WorkerOptions, driver: Driver | None = None) -> None:
        self.options = options
        self.driver = driver or get_driver()
        self.worker_id = options.worker_id or (
            f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        )
        self.lease = options.lease or conf.get("LEASE_SECONDS")
        self.poll_interval = (
            options.poll_interval
            or conf.get("POLL_INTERVAL")
            or (self.driver.default_poll_interval)
        )
        self.sizer = ClaimSizer(options.concurrency, options.batch_size)
        self.stopping = False
        self.wake = threading.Event()
        #: Every claimed job whose outcome is not recorded yet; ``running``: those
        #: whose handler has started.
        self.held: dict[int, Run] = {}
        self.running: dict[int, Run] = {}
        #: A thread that finds this few jobs waiting in the buffer wakes the main loop
        #: to claim more (set at each claim from the buffer's size).
        self._refill_at = 0
        self._held_lock = threading.Lock()
        self._items: queue_module.SimpleQueue[Run | None] = queue_module.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._heartbeat_stop = threading.Event()
        self.claimed_total = 0
        #: Waits between claims while the database fails: from the poll interval up.
        self._claim_backoff = faults.Backoff(first=self.poll_interval, most=5.0)
        self.completer = Completer(
            self.driver, self.worker_id, batch_size=1000, log_jobs=options.log_jobs
        )
        self.starter = Starter(
            self.driver, self.worker_id, lambda: self.stopping, self.completer.pending_ids
        )
        #: Outcomes waiting to be written above which the worker stops claiming (the
        #: database is away or slow): memory stays bounded by this.
        self.max_backlog = max(10 * self.sizer.cap, 10_000)
        self.pusher = Pusher(self.worker_id) if options.push else None

    # -- lifecycle -------------------------------------------------------------

    def run(self) -> int:
        """Serve jobs until stopped (signal, --burst, --max-jobs); return the exit code."""
        autodiscover()
        started = time.monotonic()
        self._register()
        self._install_signals()
        self.completer.start()
        self.starter.start()
        for _ in range(self.options.concurrency):
            self._spawn_thread()
        helpers = [
            threading.Thread(target=self._heartbeat_loop, name="queueadmin-heartbeat", daemon=True)
        ]
        if self.driver.supports_notify:
            helpers.append(
                threading.Thread(target=self._listen_loop, name="queueadmin-listen", daemon=True)
            )
        if self.pusher is not None:
            helpers.append(
                threading.Thread(target=self.pusher.run, name="queueadmin-push", daemon=True)
            )
        for thread in helpers:
            thread.start()
        logger.info(
            "worker id=%s queues=%s concurrency=%d claims up to %d poll=%.3fs lease=%.1fs started",
            self.worker_id,
            ",".join(self.options.queues or ["*"]),
            self.options.concurrency,
            self.sizer.cap,
            self.poll_interval,
            self.lease,
        )
        try:
            self._loop()
        finally:
            self._shutdown()
            self._heartbeat_stop.set()
            if self.pusher is not None:
                self.pusher.stop()
            for thread in helpers:
                thread.join(timeout=5)
            self._unregister()
            connections.close_all()
        elapsed = time.monotonic() - started
        counts = self.completer.counts
        logger.info(
            "worker id=%s stopped: claimed=%d completed=%d failed=%d retried=%d parked=%d "
            "dropped=%d in %.1fs (%.0f jobs/s)",
            self.worker_id,
            self.claimed_total,
            counts["completed"],
            counts["failed"],
            counts["pending"],
            counts["suspended"],
            counts["dropped"],
            elapsed,
            self.completer.processed / elapsed if elapsed else 0,
        )
        return 0

    def stop(self) -> None:
        """Stop claiming; running jobs get the grace period."""
        self.stopping = True
        self.wake.set()
        if self.pusher is not None:
            self.pusher.stop()

    def _install_signals(self) -> None:
        if threading.current_thread() is threading.main_thread():
            signalling.watch(self._on_signal)

    def _on_signal(self, signum: int) -> None:
        """The first SIGTERM/SIGINT drains; a second one exits at once."""
        if self.stopping:
            logger.warning("worker id=%s second signal: exiting now", self.worker_id)
            os._exit(1)
        logger.info(
            "worker id=%s got %s: draining (grace %.0fs)",
            self.worker_id,
            signal.Signals(signum).name,
            self.options.grace,
        )
        self.stop()

    def _register(self) -> None:
        now = timezone.now()
        WorkerRow.objects.update_or_create(
            id=self.worker_id,
            defaults={
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "queues": self.options.queues or [],
                "job_types": self.options.job_types or [],
                "concurrency": self.options.concurrency,
                "running": 0,
                "processed": 0,
                "completed": 0,
                "failed": 0,
                "started_at": now,
                "heartbeat_at": now,
            },
        )

    def _unregister(self) -> None:
        try:
            WorkerRow.objects.filter(id=self.worker_id).delete()
        except Exception:
            logger.exception("could not remove worker row %s", self.worker_id)

    # -- the main loop -----------------------------------------------------------

    def _loop(self) -> None:
        opts = self.options
        while not self.stopping:
            self.wake.clear()
            self._check_deadlines()
            limit = self._claim_size()
            claimed = 0
            if limit > 0:
                claimed = self._claim(limit)
                if claimed is None:
                    continue  # the claim failed (logged); try again
                if claimed == limit:
                    continue  # there may be more right away
            if opts.max_jobs is not None and self.claimed_total >= opts.max_jobs and not self.held:
                return
            if opts.burst and claimed == 0 and not self.held:
                # Outcomes still queued may make jobs due again (a retry at once).
                self.completer.flush()
                if self._claim(self.options.concurrency) == 0 and not self.held:
                    return
                continue
            self.wake.wait(self._idle_timeout())

    def _claim_size(self) -> int:
        """How many jobs to claim now (0: none yet), see core.worker.sizing: enough to
        keep the threads busy and the buffer at its size, claimed when a thread is idle
        or the buffer is down to half."""
        if self.completer.backlog >= self.max_backlog:
            return 0  # outcomes are not being written: claim no more meanwhile
        concurrency = self.options.concurrency
        running = list(self.running.values())
        waiting = len(self.held) - len(running)
        busy_for = 0.0
        if len(running) >= concurrency:
            now = time.monotonic()
            busy_for = min(now - (run.started or now) for run in running)
        buffer = self.sizer.buffer(busy_for)
        want = concurrency + buffer - len(self.held)
        if self.options.max_jobs is not None:
            want = min(want, self.options.max_jobs - self.claimed_total)
        self._refill_at = buffer // 2
        if want <= 0 or (len(running) + waiting >= concurrency and waiting > buffer // 2):
            return 0
        return min(want, self.sizer.cap)

    def _idle_timeout(self) -> float:
        """The poll interval, or less when a running job's deadline comes sooner."""
        timeout = self.poll_interval
        now = time.monotonic()
        for run in list(self.running.values()):
            if run.ctx is not None and run.ctx.deadline is not None:
                timeout = min(timeout, max(run.ctx.deadline - now, 0.001))
        return timeout

    def _claim(self, limit: int) -> int | None:
        """Claim up to ``limit`` jobs into the buffer; None when the database failed."""
        started = time.monotonic()
        try:
            jobs = self.driver.claim(
                self.worker_id, self.options.queues, self.options.job_types, limit, self.lease
            )
        except Exception as exc:
            # A claim whose reply was lost may have claimed jobs all the same: they are
            # not tracked, so their leases are not renewed and they are reclaimed.
            wait = self._claim_backoff.step()
            faults.log_failure(logger, f"claiming jobs failed; retrying in {wait:.2f}s", exc)
            self._reset_connection()
            self.wake.wait(wait)
            return None
        self._claim_backoff.reset()
        self.sizer.claimed(time.monotonic() - started)
        with self._held_lock:
            for job in jobs:
                self.held[job.id] = Run(job)
        for job in jobs:
            self._items.put(self.held[job.id])
        self.claimed_total += len(jobs)
        return len(jobs)

    def _reset_connection(self) -> None:
        faults.reset_connection(self.driver.using)

    def _check_deadlines(self) -> None:
        """Fail running jobs whose deadline passed (cooperative timeout)."""
        now = time.monotonic()
        for run in list(self.running.values()):
            ctx = run.ctx
            if ctx is None or ctx.deadline is None or now < ctx.deadline:
                continue
            if run.job.force_kill_on_timeout:
                continue  # its thread kills the child process itself
            if ctx.extend_on_timeout():
                continue  # the handler's on_timeout callback bought more time
            ctx.abort_event.set()
            if run.close():
                # The handler ignores should_abort(); its thread is written off
                # and replaced so the worker keeps its concurrency.
                run.written_off = True
                self._record(run, executor.timed_out(run.job))
                self._spawn_thread()

    # -- executing -------------------------------------------------------------------

    def _spawn_thread(self) -> None:
        thread = threading.Thread(
            target=self._thread_loop, name=f"queueadmin-exec-{len(self._threads)}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _thread_loop(self) -> None:
        try:
            while True:
                run = self._items.get()
                if run is None:
                    return
                if self.stopping or run.done:
                    continue  # released at shutdown
                if not self._mark(run):
                    continue
                self._execute(run)
                if run.written_off:
                    return  # a replacement thread took over this one's slot
        finally:
            connections.close_all()

    def _mark(self, run: Run) -> bool:
        """Before the handler of a job whose last worker was lost starts, record that it
        runs (see Starter); False (and forget the run) when the job is no longer ours."""
        if not run.job.lost_count or self.starter.mark(run.job):
            return True
        if run.close():
            with self._held_lock:
                self.held.pop(run.job.id, None)
            self.wake.set()
        return False

    def _execute(self, run: Run) -> None:
        job = run.job
        run.started = time.monotonic()
        self.running[job.id] = run
        if signals.job_started.has_listeners(Job):
            # Before the context exists: its deadline counts from after the receivers.
            send_started(job, self.worker_id)
        run.ctx = JobContext.for_job(job, self.worker_id)
        try:
            if job.force_kill_on_timeout and job.timeout:
                outcome = isolated.run_in_child(job, self.worker_id, run.ctx.abort_event)
            else:
                outcome = executor.run_in_thread(job, run.ctx)
        except BaseException as exc:  # a runtime fault must not lose the slot
            logger.exception("running job id=%s failed inside the worker", job.id)
            outcome = executor.failure(job, executor.error_entry(job, exc, executor.HANDLER_ERROR))
        if run.close():
            self.sizer.job_done(time.monotonic() - run.started)
            self._record(run, outcome)

    def _record(self, run: Run, outcome: Outcome) -> None:
        outcome.seconds = time.monotonic() - (run.started or time.monotonic())
        self.completer.submit(outcome, run.job)
        with self._held_lock:
            self.held.pop(run.job.id, None)
            self.running.pop(run.job.id, None)
        if self._items.qsize() <= self._refill_at or self.options.max_jobs is not None:
            self.wake.set()  # the buffer is low: claim more

    # -- helpers threads ---------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        interval = max(self.lease / 3, 0.05)
        try:
            while not self._heartbeat_stop.wait(interval):
                try:
                    runs = list(self.held.values())
                    # Only what this worker tracks: a job it lost track of runs out of
                    # lease and is reclaimed, instead of being renewed for ever.
                    tracked = [run.job.id for run in runs] + self.completer.pending_ids()
                    counts = self.completer.counts
                    cancelled = self.driver.heartbeat(
                        self.worker_id,
                        self.lease,
                        tracked,
                        running_ids=[r.job.id for r in runs if r.started is not None],
                        processed=self.completer.processed,
                        completed=counts["completed"],
                        failed=counts["failed"],
                    )
                    for job_id in cancelled:
                        run = self.held.get(job_id)
                        if run is not None and run.ctx is not None:
                            run.ctx.abort_event.set()
                    # Each due task runs on one worker only; it logs what it did.
                    done = maintenance.run_due(
                        self.worker_id, time_limit=maintenance.default_time_limit(self.lease)
                    )
                    if any(done[name].changed for name in ("reclaim", "wake") if name in done):
                        self.wake.set()  # jobs became pending
                except Exception as exc:
                    faults.log_failure(logger, "heartbeat failed", exc)
                    self._reset_connection()
        finally:
            connections.close_all()

    def _listen_loop(self) -> None:
        listener = None
        backoff = faults.Backoff(first=self.poll_interval, most=5.0)
        while not self._heartbeat_stop.is_set():
            try:
                if listener is None:
                    listener = self.driver.listen()
                    backoff.reset()
                if listener.wait(0.2):
                    self.wake.set()
            except Exception as exc:
                faults.log_failure(
                    logger, "LISTEN connection failed; polling until it is back", exc
                )
                if listener is not None:
                    with contextlib.suppress(Exception):
                        listener.close()
                listener = None
                self._heartbeat_stop.wait(backoff.step())
        if listener is not None:
            listener.close()

    # -- shutdown -----------------------------------------------------------------------

    def _shutdown(self) -> None:
        """Give running jobs the grace period, release the rest, flush outcomes."""
        deadline = time.monotonic() + self.options.grace
        while self.running:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.wake.clear()
            self._check_deadlines()
            self.wake.wait(min(remaining, self._idle_timeout(), 0.1))
        leftovers = [run for run in list(self.held.values()) if run.close()]
        for run in leftovers:
            if run.ctx is not None:
                run.ctx.abort_event.set()
        for _ in self._threads:
            self._items.put(None)
        self.starter.stop()
        self.completer.stop()
        if leftovers:
            ids = [run.job.id for run in leftovers]
            released = None
            try:
                released = self.driver.release(self.worker_id, ids)
                logger.info(
                    "worker id=%s gave back %d unfinished job(s): %s",
                    self.worker_id,
                    released,
                    ", ".join(map(str, ids[:50])),
                )
            except Exception:
                logger.exception("could not give back jobs %s; their leases will expire", ids)
            started = [run.job for run in leftovers if run.started is not None]
            if started and signals.job_finished.has_listeners(Job):
                self._announce_released(started, released, len(ids))

    def _announce_released(self, jobs: list[ClaimedJob], released: int | None, of: int) -> None:
        """job_finished for the started runs given back at shutdown: "released"; when
        the release failed, "discarded"; when it took back fewer than all ``of`` jobs,
        one query finds those an operator cancelled meanwhile."""
        cancelled: set[int] = set()
        if released is not None and released < of:
            cancelled = refused_cancelled(self.driver.using, [job.id for job in jobs])
        for job in jobs:
            if released is None:
                outcome = "discarded"
            else:
                outcome = "cancelled" if job.id in cancelled else "released"
            send_finished(job, self.worker_id, outcome)
