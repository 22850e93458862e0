"""Record a job's start before running it, when its last worker was lost holding it.

Reclaim charges an attempt only to a job its dead worker had reported running (the
heartbeat reports running handlers). A job that kills its worker quickly, before any
heartbeat, comes back uncharged with ``lost_count`` raised, and so do the jobs that
were waiting in that worker's buffer. From then on such a job runs only after the
Starter has recorded its start (``Driver.mark_running``, committed), and with it the
jobs whose handlers have returned since (their outcomes still waiting to be written):
if it kills its worker again, it pays the attempt, and nobody else does. Threads asking
at the same moment share one statement; other jobs never wait for it.
"""

import logging
import queue as queue_module
import threading
import time
from collections.abc import Callable

from django.db import connections

from core import faults
from core.drivers import Driver
from core.drivers.rows import ClaimedJob

logger = logging.getLogger("queueadmin.worker")


class _Request:
    __slots__ = ("done", "job", "ok")

    def __init__(self, job: ClaimedJob) -> None:
        self.job = job
        self.ok = False
        self.done = threading.Event()


class Starter(threading.Thread):
    """Records the starts of jobs whose last worker was lost, for the executor threads."""

    def __init__(
        self,
        driver: Driver,
        worker_id: str,
        stopping: Callable[[], bool],
        ended: Callable[[], list[int]],
    ) -> None:
        super().__init__(name="queueadmin-starter", daemon=True)
        self.driver = driver
        self.worker_id = worker_id
        self.stopping = stopping
        #: The jobs whose handlers returned and whose outcomes wait to be written.
        self.ended = ended
        self._queue: queue_module.SimpleQueue[_Request | None] = queue_module.SimpleQueue()

    def mark(self, job: ClaimedJob) -> bool:
        """Block until ``job``'s start is committed; False when it is no longer this
        worker's (cancelled, reclaimed) or the worker is stopping."""
        request = _Request(job)
        self._queue.put(request)
        while not request.done.wait(0.5):
            if not self.is_alive():  # stopped before it saw the request
                return False
        return request.ok

    def stop(self) -> None:
        """Answer what is asked, then end the thread."""
        self._queue.put(None)
        self.join(timeout=10)

    def run(self) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                while True:  # everyone asking right now shares the statement
                    try:
                        item = self._queue.get_nowait()
                    except queue_module.Empty:
                        break
                    if item is None:
                        self._queue.put(None)
                        break
                    batch.append(item)
                self._mark(batch)
        finally:
            connections.close_all()

    def _mark(self, batch: list[_Request]) -> None:
        backoff = faults.Backoff()
        ours: set[int] = set()
        while not self.stopping():
            try:
                ids = [r.job.id for r in batch]
                ours = set(self.driver.mark_running(self.worker_id, ids, self.ended()))
                break
            except Exception as exc:
                if not faults.is_outage(exc):
                    # Not the database being away: give the jobs up; their leases run
                    # out and they are reclaimed.
                    faults.log_failure(logger, "recording job starts failed", exc)
                    break
                faults.log_failure(logger, "recording job starts failed; retrying", exc)
                faults.reset_connection(self.driver.using)
                time.sleep(backoff.step())
        for request in batch:
            request.ok = request.job.id in ours
            request.done.set()
