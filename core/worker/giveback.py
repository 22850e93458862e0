"""Give back, at shutdown, the jobs a worker claimed but did not finish."""

import logging

from core import signals
from core.drivers import Driver
from core.drivers.rows import ClaimedJob
from core.models import Job
from core.worker.completer import refused_cancelled, send_finished
from core.worker.runs import Run

logger = logging.getLogger("queueadmin.worker")


def give_back(driver: Driver, worker_id: str, leftovers: list[Run]) -> None:
    """Release ``leftovers`` to pending without charging an attempt, and announce the
    started ones (job_finished); a failure is logged and the leases expire instead."""
    ids = [run.job.id for run in leftovers]
    released = None
    try:
        released = driver.release(worker_id, ids)
        logger.info(
            "worker id=%s gave back %d unfinished job(s): %s",
            worker_id,
            released,
            ", ".join(map(str, ids[:50])),
        )
    except Exception:
        logger.exception("could not give back jobs %s; their leases will expire", ids)
    started = [run.job for run in leftovers if run.started is not None]
    if started and signals.job_finished.has_listeners(Job):
        announce_released(driver, worker_id, started, released, len(ids))


def announce_released(
    driver: Driver, worker_id: str, jobs: list[ClaimedJob], released: int | None, of: int
) -> None:
    """job_finished for the started runs given back at shutdown: "released"; when
    the release failed, "discarded"; when it took back fewer than all ``of`` jobs,
    one query finds those an operator cancelled meanwhile."""
    cancelled: set[int] = set()
    if released is not None and released < of:
        cancelled = refused_cancelled(driver.using, [job.id for job in jobs])
    for job in jobs:
        if released is None:
            outcome = "discarded"
        else:
            outcome = "cancelled" if job.id in cancelled else "released"
        send_finished(job, worker_id, outcome)
