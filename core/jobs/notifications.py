"""Job notifications: what finished, failed, was retried or deferred, cancelled or
deleted, announced with the commit that makes it true.

On PostgreSQL every such change sends a NOTIFY on the ``queueadmin_events`` channel
(``core.drivers.rows.EVENTS_CHANNEL``) whose payload is the JSON object
``{"id": job id, "queue": ..., "event": ..., "status": new status}``; ``listen()``
reads them. SQLite has no notifications: ``notify`` does nothing there and ``listen``
raises NotificationsUnavailable. Retention pruning deletes jobs without notifying.
"""

import time
from collections.abc import Iterable, Iterator
from typing import Any

from core.drivers import get_driver
from core.drivers.rows import JOB_EVENTS
from core.exceptions import InvalidJobError, NotificationsUnavailable
from core.validation import Checks

__all__ = ["JOB_EVENTS", "Listener", "listen", "notify", "notify_jobs"]

check = Checks(InvalidJobError)


def notify(rows: Iterable[tuple[int, str, str, str]]) -> None:
    """Send (id, queue, event, status) notifications with the caller's transaction."""
    rows = list(rows)
    if rows:
        get_driver().notify_jobs(rows)


def notify_jobs(jobs: Iterable[Any], event: str, status: str | None = None) -> None:
    """Notify ``event`` for each of ``jobs`` (Job objects, or (id, queue[, status])
    tuples), their status ``status`` or, when None, their own."""
    if not get_driver().supports_job_notifications:
        return
    rows = []
    for job in jobs:
        if isinstance(job, tuple):
            job_id, queue, *rest = job
            rows.append((job_id, queue, event, status or (rest[0] if rest else event)))
        else:
            rows.append((job.pk, job.queue, event, status or job.status))
    notify(rows)


def _names(field: str, value: Any, each=None) -> frozenset | None:
    return None if value is None else frozenset(check.names(field, value, each))


class Listener:
    """Job notifications as they come: iterate for dicts {"id", "queue", "event",
    "status"}. LISTENing starts when it is made, so a change made after ``listen()``
    returns is never missed. Close it (or use ``with``) to free its connection."""

    def __init__(self, events=None, queues=None, timeout: float | None = None) -> None:
        self.events = _names("events", events)
        if self.events is not None and not self.events <= set(JOB_EVENTS):
            unknown = ", ".join(sorted(self.events - set(JOB_EVENTS)))
            raise InvalidJobError(f"events: unknown {unknown}; one of {', '.join(JOB_EVENTS)}")
        self.queues = _names("queues", queues, check.name)
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0
        ):
            raise InvalidJobError(f"timeout: must be a number of seconds >= 0, got {timeout!r}")
        driver = get_driver()
        if not driver.supports_job_notifications:
            raise NotificationsUnavailable(
                f"{driver.vendor} sends no job notifications: they need PostgreSQL "
                "(LISTEN/NOTIFY); poll get_job() or use Job.wait() instead"
            )
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self._conn = driver.listen_jobs()
        self._ready: list[dict] = []

    def _wanted(self, event: dict) -> bool:
        return (self.events is None or event.get("event") in self.events) and (
            self.queues is None or event.get("queue") in self.queues
        )

    def __iter__(self) -> Iterator[dict]:
        return self

    def __next__(self) -> dict:
        while not self._ready:
            if self._conn is None:
                raise StopIteration
            left = None if self.deadline is None else self.deadline - time.monotonic()
            if left is not None and left <= 0:
                self.close()
                raise StopIteration
            self._ready = [e for e in self._conn.events(left) if self._wanted(e)]
        return self._ready.pop(0)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "Listener":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def listen(events=None, queues=None, timeout: float | None = None) -> Listener:
    """Iterate over job notifications (PostgreSQL only).

    ``events``: the event names wanted (of JOB_EVENTS; None: all); ``queues``: the
    queues wanted (None: all); ``timeout``: seconds after which the iteration ends
    (None: never). Raises NotificationsUnavailable on SQLite.

        with core.queue.listen(events=["completed", "failed"], timeout=60) as events:
            for event in events:
                print(event["id"], event["event"])
    """
    return Listener(events, queues, timeout)
