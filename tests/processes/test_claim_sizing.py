"""Workers with default options size their claims: long jobs are not hoarded."""

import signal
from collections import defaultdict

import pytest

from core import queue
from core.models import Job
from core.models import Worker as WorkerRow
from tests.processes.conftest import finish
from tests.workers import start_runworker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS, CONCURRENCY, JOBS = 3, 4, 30


def most_waiting(spans: list[tuple[float, float]]) -> int:
    """The most (claimed, started) spans open at one moment."""
    moments = sorted(
        [(claimed, 1) for claimed, _ in spans] + [(started, -1) for _, started in spans]
    )
    most = current = 0
    for _, step in moments:
        current += step
        most = max(most, current)
    return most


def test_three_default_workers_share_one_second_jobs_without_hoarding():
    procs = [start_runworker("-v", "0") for _ in range(WORKERS)]
    try:
        wait_for(lambda: WorkerRow.objects.count() == WORKERS, message="three workers")
        jobs = queue.enqueue_many(
            [{"job_type": "test.stamped_sleep", "payload": {"seconds": 1}}] * JOBS
        )
        wait_for(
            lambda: Job.objects.filter(status="completed").count() == JOBS,
            timeout=60,
            message="every job to complete",
        )
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            finish(proc)
    rows = Job.objects.filter(pk__in=[job.pk for job in jobs])
    enqueued = min(row.created_at for row in rows).timestamp()
    done = max(row.completed_at for row in rows).timestamp()
    # 30 jobs on 3 x 4 threads take 3 rounds of 1 s; behind one worker's prefetch
    # they would take 30 / 4 = 7.5 s.
    assert done - enqueued < 4.5
    waits = defaultdict(list)
    for row in rows:
        waits[row.output["pid"]].append((row.started_at.timestamp(), row.output["started"]))
    assert len(waits) == WORKERS  # every worker ran some
    # Claimed only for idle threads: never more waiting than the concurrency, and
    # no job waits in a buffer behind a running one (that would be a whole second).
    assert max(most_waiting(spans) for spans in waits.values()) <= CONCURRENCY
    assert max(started - claimed for spans in waits.values() for claimed, started in spans) < 0.5
