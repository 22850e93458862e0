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

from django.db import connections

from core import conf, faults, signals
from core.drivers import Driver, get_driver
from core.drivers.rows import Outcome
from core.durable.context import JobContext
from core.durable.registry import autodiscover
from core.models import Job, WorkerState
from core.streams.pusher import Pusher
from core.worker import executor, hooks, isolated, registration, signalling
from core.worker.burst import BurstEnd
from core.worker.completer import Completer, send_started
from core.worker.giveback import give_back
from core.worker.heartbeat import Heartbeat
from core.worker.options import WorkerOptions
from core.worker.pings import ThreadPing
from core.worker.runs import Run
from core.worker.sizing import ClaimSizer
from core.worker.starter import Starter
from core.worker.threads import HandlerThreads
from core.worker.upkeep import Upkeep

logger = logging.getLogger("queueadmin.worker")


class Worker(HandlerThreads):
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
        #: An operator's "quiet" order: claim nothing new, finish what is held.
        self.quiet = False
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
        self._listen_stop = threading.Event()
        #: One per live handler thread: what it runs (core.worker.pings).
        self.pings: list[ThreadPing] = []
        self.heartbeat = Heartbeat(
            self, liveness_file=options.liveness_file or conf.get("LIVENESS_FILE")
        )
        self.upkeep = Upkeep(self)
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
        #: When a burst worker may exit (core.worker.burst), and its exit code.
        self.burst_end = BurstEnd(self, options.burst_wait)
        #: The per-thread setup (core.worker.hooks; None: none), loaded by run().
        self.setup: hooks.ThreadSetup | None = None
        #: With ``once``: the ids of the jobs its one claim got.
        self.claimed_ids: list[int] = []
        self._claimed_once = False

    # -- lifecycle -------------------------------------------------------------

    def run(self) -> int:
        """Serve jobs until stopped (signal, --burst, --max-jobs, --once); return the exit
        code (0, or core.worker.burst.LEFT_JOBS)."""
        autodiscover()
        hooks.check()  # a wrong WORKER_SETUP or JOB_DESCRIBER path stops it here
        setup = hooks.setup_function()
        self.setup = hooks.ThreadSetup(setup) if setup is not None else None
        started = time.monotonic()
        self._register()
        self._install_signals()
        self.completer.start()
        self.starter.start()
        for _ in range(self.options.concurrency):
            self._spawn_thread()
        helpers = [
            threading.Thread(target=self.heartbeat.run, name="queueadmin-heartbeat", daemon=True),
            threading.Thread(target=self.upkeep.run, name="queueadmin-maintenance", daemon=True),
        ]
        if self.driver.supports_notify:
            helpers.append(
                threading.Thread(target=self._listen_loop, name="queueadmin-listen", daemon=True)
            )
        if self.heartbeat.liveness_file:
            self.heartbeat.touch()  # registered: the database answered
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
            self._await_setup()
            self._loop()
        finally:
            self._shutdown()
            self.heartbeat.stop()
            self.upkeep.stop()
            self._listen_stop.set()
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
        return self.burst_end.exit_code

    def stop(self) -> None:
        """Stop claiming; running jobs get the grace period."""
        self.stopping = True
        self.wake.set()
        self.heartbeat.soon()  # report state=stopping
        if self.pusher is not None:
            self.pusher.stop()

    @property
    def state(self) -> str:
        """What the heartbeat reports: running, quiet or stopping."""
        if self.stopping:
            return WorkerState.STOPPING
        return WorkerState.QUIET if self.quiet else WorkerState.RUNNING

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
        registration.register(self.worker_id, self.options)

    def _unregister(self) -> None:
        registration.unregister(self.worker_id)

    # -- the main loop -----------------------------------------------------------

    def _loop(self) -> None:
        opts = self.options
        while not self.stopping:
            self.wake.clear()
            self._check_deadlines()
            if self.quiet:
                self.wake.wait(self._idle_timeout())  # claims nothing until resumed
                continue
            if opts.once and self._claimed_once:
                if not self.held:
                    return  # its one batch ran; _shutdown writes what is left
                self.wake.wait(self._idle_timeout())
                continue
            limit = self._claim_size()
            claimed = 0
            if limit > 0:
                claimed = self._claim(limit)
                if claimed is None:
                    continue  # the claim failed (logged); try again
                self._claimed_once = True
                if claimed == limit and not opts.once:
                    continue  # there may be more right away
            if opts.max_jobs is not None and self.claimed_total >= opts.max_jobs and not self.held:
                return
            if opts.burst and claimed == 0 and not self.held:
                # Exits only when no due job is left it could run (core.worker.burst).
                if self.burst_end.finished():
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
            self.reset_connection()
            self.wake.wait(wait)
            return None
        self._claim_backoff.reset()
        self.sizer.claimed(time.monotonic() - started)
        with self._held_lock:
            for job in jobs:
                self.held[job.id] = Run(job)
        for job in jobs:
            self._items.put(self.held[job.id])
        if self.options.once:
            self.claimed_ids.extend(job.id for job in jobs)
        if any(job.lock_timeout is not None for job in jobs):
            self.heartbeat.soon()  # its next wait fits the shortest lock now held
        self.claimed_total += len(jobs)
        return len(jobs)

    def reset_connection(self) -> None:
        """Drop the database connection of this thread after a failure."""
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

    def _mark(self, run: Run) -> bool:
        """Before the handler of a job whose last worker was lost starts, record that it
        runs (see Starter); False (and forget the run) when the job is no longer ours."""
        if not run.job.lost_count or self.starter.mark(run.job):
            return True
        if run.close():
            with self._held_lock:
                if self.held.get(run.job.id) is run:
                    del self.held[run.job.id]
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
        run.ctx.resources = hooks.current_resources()
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
            # By identity: a job parked by this run may already be claimed again (a
            # defer or sleep ending at once), its new Run under the same id.
            if self.held.get(run.job.id) is run:
                del self.held[run.job.id]
            if self.running.get(run.job.id) is run:
                del self.running[run.job.id]
        if (
            self._items.qsize() <= self._refill_at
            or self.options.max_jobs is not None
            or not self.held
        ):
            self.wake.set()  # the buffer is low: claim more

    # -- helpers threads ---------------------------------------------------------------

    def _listen_loop(self) -> None:
        listener = None
        backoff = faults.Backoff(first=self.poll_interval, most=5.0)
        while not self._listen_stop.is_set():
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
                self._listen_stop.wait(backoff.step())
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
        self._join_threads()
        self.starter.stop()
        self.completer.stop()
        if leftovers:
            give_back(self.driver, self.worker_id, leftovers)
