"""Waiting for a job's reply: ``wait_for`` (behind ``Job.wait`` and ``queue.wait``) and
``call`` (enqueue, wait, return the output or raise the job's error).

On PostgreSQL a waiter wakes on the job's notification (core.jobs.notifications):
one LISTEN connection per process, opened by the first wait and closed after
HUB_IDLE_SECONDS without waiters, is read by one background thread that wakes the
waiters of the jobs it hears about. A notification missed (the connection lost,
say) costs at most FALLBACK_POLL seconds: waiters look at their job that often
anyway. SQLite has no notifications: waiters poll, from 2 ms growing by half to 200 ms.
"""

import contextlib
import logging
import os
import threading
import time
from typing import Any

from django.db import connection

from core.drivers import get_driver
from core.exceptions import InvalidJobError, JobCancelled, JobFailed, JobNotFound, QueueError
from core.jobs.enqueue import enqueue
from core.models import Job, JobStatus
from core.models.jobs import FINISHED_STATUSES as FINISHED

logger = logging.getLogger("queueadmin.queue")

#: Seconds between two looks at a job while notifications should wake its waiter.
FALLBACK_POLL = 1.0
#: Polling without notifications: the first pause and the longest, in seconds.
POLL_FIRST, POLL_GROWTH, POLL_MAX = 0.002, 1.5, 0.2
#: Seconds the listener connection stays open without waiters.
HUB_IDLE_SECONDS = 10.0
#: Longest the listener thread blocks on its connection (how soon it can be stopped).
HUB_TICK = 0.1


class _Hub:
    """One LISTEN connection and the thread that wakes the waiters of the jobs it hears
    about (any notification of the job: the waiter reads the job and decides)."""

    def __init__(self) -> None:
        # LISTEN before any waiter reads its job, in the caller's thread: a change
        # committed after that read is always heard.
        self._conn = get_driver().listen_jobs()
        self._lock = threading.Lock()
        self._waiters: dict[int, set[threading.Event]] = {}
        self._idle_since = time.monotonic()
        self.alive = True
        self.pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="queueadmin-replies", daemon=True)
        self._thread.start()

    def add(self, job_id: int) -> threading.Event | None:
        """A new Event set whenever ``job_id`` is notified; None if this hub is closed."""
        event = threading.Event()
        with self._lock:
            if not self.alive:
                return None
            self._waiters.setdefault(job_id, set()).add(event)
        return event

    def remove(self, job_id: int, event: threading.Event) -> None:
        with self._lock:
            waiting = self._waiters.get(job_id)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiters[job_id]
            if not self._waiters:
                self._idle_since = time.monotonic()

    def stop(self) -> None:
        """Close the connection; the thread ends within HUB_TICK seconds."""
        with self._lock:
            self.alive = False
        self._thread.join(FALLBACK_POLL)

    def _run(self) -> None:
        try:
            while self.alive:
                events = self._conn.events(HUB_TICK)
                with self._lock:
                    for event in events:
                        for waiter in self._waiters.get(event.get("id"), ()):
                            waiter.set()
                    idle = not self._waiters and (
                        time.monotonic() - self._idle_since >= HUB_IDLE_SECONDS
                    )
                    if idle:
                        self.alive = False
                        break
        except Exception as exc:  # the connection is lost: waiters fall back on polling
            logger.warning("job notification listener stopped: %s", exc)
        finally:
            self._close()

    def _close(self) -> None:
        with self._lock:
            self.alive = False
            for waiting in self._waiters.values():
                for waiter in waiting:
                    waiter.set()  # look again now, and join another hub
        with contextlib.suppress(Exception):  # already broken
            self._conn.close()


_hub: _Hub | None = None
_hub_lock = threading.Lock()
#: When a hub last failed to connect: no new try for a while (waiters poll meanwhile).
_failed_at = float("-inf")


def _listen(job_id: int) -> tuple[_Hub, threading.Event] | None:
    """Register a waiter for ``job_id`` with this process's hub (made if needed);
    None where there are no notifications (SQLite, or the database refused)."""
    global _hub, _failed_at
    if not get_driver().supports_job_notifications:
        return None
    with _hub_lock:
        for _ in range(2):
            hub = _hub
            if hub is None or not hub.alive or hub.pid != os.getpid():
                if time.monotonic() - _failed_at < FALLBACK_POLL * 5:
                    return None
                try:
                    hub = _hub = _Hub()
                except Exception as exc:
                    _failed_at = time.monotonic()
                    logger.warning("cannot listen for job notifications: %s", exc)
                    return None
            event = hub.add(job_id)
            if event is not None:
                return hub, event
    return None


def close_listener() -> None:
    """Close this process's listener connection now (it closes by itself after
    HUB_IDLE_SECONDS without waiters); the next wait opens another."""
    with _hub_lock:
        hub = _hub
    if hub is not None and hub.alive:
        hub.stop()


def _check(timeout: Any, interval: Any) -> None:
    for name, value in (("timeout", timeout), ("interval", interval)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0
        ):
            raise InvalidJobError(f"{name}: must be a number of seconds >= 0, got {value!r}")


def _finished(job: Job, raise_on_failure: bool) -> Job:
    if raise_on_failure and job.status == JobStatus.FAILED:
        raise JobFailed(job, job.errors[-1] if job.errors else None)
    if raise_on_failure and job.status == JobStatus.CANCELLED:
        raise JobCancelled(job, job.errors[-1] if job.errors else None)
    return job


def wait_for(
    job_id: int,
    timeout: float | None = None,
    *,
    interval: float | None = None,
    raise_on_failure: bool = True,
) -> Job:
    """Block until the job is completed, failed or cancelled; return it refreshed.

    With ``raise_on_failure`` (the default) a failed job raises JobFailed and a
    cancelled one JobCancelled (``.job``, ``.error``: its last error entry); without
    it they are returned. Raises TimeoutError after ``timeout`` seconds (None waits
    forever; the job is left as it is) and JobNotFound if the job does not exist or
    is deleted meanwhile. ``interval``: the first pause when polling (SQLite).
    """
    _check(timeout, interval)
    _await(job_id, timeout, interval)
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        raise JobNotFound(f"no job with id {job_id}")
    return _finished(job, raise_on_failure)


def _await(job_id: int, timeout: float | None, interval: float | None = None) -> tuple:
    """Block until the job is finished; return its (status, output) then."""
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = POLL_FIRST if interval is None else max(interval, 0.001)
    driver = get_driver()
    listening = _listen(job_id)
    try:
        while True:
            state = driver.job_state(job_id)  # (status, output): a prepared, narrow read
            if state is None:
                raise JobNotFound(f"no job with id {job_id}")
            if state[0] in FINISHED:
                return state
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"job {job_id} is still {state[0]} after {timeout:g}s")
            if listening is not None:
                hub, event = listening
                event.wait(FALLBACK_POLL if left is None else min(FALLBACK_POLL, left))
                event.clear()
                if not hub.alive:
                    hub.remove(job_id, event)
                    listening = _listen(job_id)
            else:
                time.sleep(pause if left is None else min(pause, left))
                pause = min(pause * POLL_GROWTH, POLL_MAX)
    finally:
        if listening is not None:
            listening[0].remove(job_id, listening[1])


def call(job_type: str, payload: Any = None, *, timeout: float | None = None, **options) -> Any:
    """Enqueue a job, wait for it and return its output.

    Raises JobFailed (its ``error``: message, type, traceback, attempt, reason) when the
    job fails for good, JobCancelled when it is cancelled, TimeoutError when ``timeout``
    seconds pass first (the job is left as it is: it may still run). ``options`` are
    enqueue's. Not inside ``transaction.atomic()``: no worker sees the job before the
    commit.
    """
    _check(timeout, None)
    if connection.in_atomic_block:
        raise QueueError(
            "call() cannot run inside transaction.atomic(): no worker sees the job "
            "before the transaction commits; enqueue() there and wait() after the commit"
        )
    job = enqueue(job_type, payload, **options)
    status, output = _await(job.pk, timeout)
    if status != JobStatus.COMPLETED:  # the error is in the whole row
        return wait_for(job.pk, 0).output  # raises JobFailed or JobCancelled
    return output


Job.waiter = wait_for
