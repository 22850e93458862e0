"""The worker's heartbeat thread: one statement renews leases, reports health and reads
the operator's order; then stuck-thread warnings, the liveness file, and a poke for
maintenance (which runs on a thread of its own, core.worker.upkeep).

Every third of the lease the heartbeat writes the worker's counters, its state
(running, quiet, stopping), its idle threads, the previous heartbeat's round trip
(``ping_ms``) and its stuck threads (see ``pings``), and reads back the ``order`` an
operator left on its row: "quiet" stops claiming, "stop" drains as SIGTERM does, ""
after quiet resumes. An order that changes the state is reported by an immediate
extra heartbeat, so the dashboard sees it taken.
"""

import logging
import threading
import time
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from core import conf, faults
from core.drivers.rows import HeartbeatReply
from core.models import WorkerOrder
from core.worker import liveness, pings

logger = logging.getLogger("queueadmin.worker")


def stuck_seconds() -> float:
    """The STUCK_SECONDS setting, checked: a positive number of seconds."""
    value = conf.get("STUCK_SECONDS")
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ImproperlyConfigured(
            f'QUEUEADMIN["STUCK_SECONDS"] must be a positive number of seconds, got {value!r}'
        )
    return float(value)


class Heartbeat:
    """Beats for a runner.Worker on a thread of its own (``run``) until ``stop()``."""

    def __init__(self, worker: Any, liveness_file: str | None = None) -> None:
        self.worker = worker
        self.interval = max(worker.lease / 3, 0.05)
        #: Seconds of silence after which a thread running a job without timeout is stuck.
        self.stuck_after = stuck_seconds()
        self.liveness_file = liveness_file
        #: Milliseconds the last heartbeat's database round trip took (written by the next).
        self.ping_ms: float | None = None
        #: The last order taken ("" none).
        self.order = ""
        #: Jobs already warned about as stuck (one warning each).
        self._warned: set[int] = set()
        self._stopped = threading.Event()
        self._due = threading.Event()

    def run(self) -> None:
        """Beat every third of the lease (sooner when asked) until stopped."""
        try:
            while True:
                self._due.wait(self.next_interval())
                self._due.clear()
                if self._stopped.is_set():
                    return
                self.beat()
        finally:
            connections.close_all()

    def next_interval(self) -> float:
        """A third of the shortest lease held: the worker's, or a job's own
        ``lock_timeout`` when one it holds is shorter."""
        locks = [
            run.job.lock_timeout
            for run in list(self.worker.held.values())
            if run.job.lock_timeout is not None
        ]
        return max(min(self.interval, min(locks) / 3), 0.05) if locks else self.interval

    def soon(self) -> None:
        """Beat now rather than at the next interval (to report a new state)."""
        self._due.set()

    def stop(self) -> None:
        """End ``run()`` after the beat under way."""
        self._stopped.set()
        self._due.set()

    def beat(self) -> bool:
        """One heartbeat; False when the database could not be reached."""
        worker = self.worker
        health = pings.survey(list(worker.pings), time.monotonic(), self.stuck_after)
        try:
            reply = self._send(health)
        except Exception as exc:
            faults.log_failure(logger, "heartbeat failed", exc)
            worker.reset_connection()
            return False
        self._warn(health.stuck)
        if self.liveness_file and not health.stuck:
            self.touch()
        for job_id in reply.cancelled:
            run = worker.held.get(job_id)
            if run is not None and run.ctx is not None:
                run.ctx.abort_event.set()
        self.take(reply)
        worker.upkeep.poke()  # maintenance, on its own thread (core.worker.upkeep)
        return True

    def _send(self, health: pings.Survey) -> HeartbeatReply:
        worker = self.worker
        runs = list(worker.held.values())
        # Only what this worker tracks: a job it lost track of runs out of lease and
        # is reclaimed, instead of being renewed for ever.
        tracked = [run.job.id for run in runs] + worker.completer.pending_ids()
        counts = worker.completer.counts
        started = time.monotonic()
        reply = worker.driver.heartbeat(
            worker.worker_id,
            worker.lease,
            tracked,
            running_ids=[run.job.id for run in runs if run.started is not None],
            processed=worker.completer.processed,
            completed=counts["completed"],
            failed=counts["failed"],
            state=worker.state,
            idle=health.idle,
            ping_ms=self.ping_ms,
            stuck=health.stuck,
        )
        self.ping_ms = round((time.monotonic() - started) * 1000, 3)
        return reply

    def touch(self) -> None:
        """Touch the liveness file (a failure is logged, the worker goes on)."""
        try:
            liveness.touch(self.liveness_file)
        except OSError as exc:
            logger.warning("could not touch liveness file %s: %s", self.liveness_file, exc)

    def _warn(self, stuck: list[dict]) -> None:
        """Warn once per stuck job; say when one reports again."""
        now_stuck = {entry["job"] for entry in stuck}
        for entry in stuck:
            if entry["job"] not in self._warned:
                logger.warning(
                    "worker id=%s thread=%s job=%s silent=%.0fs: stuck (no timeout, no "
                    "report within STUCK_SECONDS=%g)",
                    self.worker.worker_id,
                    entry["thread"],
                    entry["job"],
                    entry["silent_seconds"],
                    self.stuck_after,
                )
        for job_id in self._warned - now_stuck:
            logger.info("worker id=%s job=%s no longer stuck", self.worker.worker_id, job_id)
        self._warned = now_stuck

    def take(self, reply: HeartbeatReply) -> None:
        """Act on an order that changed since the last heartbeat."""
        order = reply.order
        if order is None or order == self.order:
            return  # no row (pruned meanwhile) or nothing new
        self.order = order
        worker = self.worker
        by = reply.ordered_by or "-"
        if worker.stopping:
            return  # draining already: nothing else to do
        if order == WorkerOrder.STOP:
            logger.info("worker id=%s order=stop ordered_by=%s: draining", worker.worker_id, by)
            worker.stop()
        elif order == WorkerOrder.QUIET:
            logger.info(
                "worker id=%s order=quiet ordered_by=%s: claiming no new jobs",
                worker.worker_id,
                by,
            )
            worker.quiet = True
        elif order == "":
            if not worker.quiet:
                return
            logger.info(
                "worker id=%s order=resume ordered_by=%s: claiming again", worker.worker_id, by
            )
            worker.quiet = False
            worker.wake.set()
        else:
            logger.warning(
                "worker id=%s order=%s ordered_by=%s: unknown order ignored",
                worker.worker_id,
                order,
                by,
            )
            return
        self.soon()  # report the new state now
