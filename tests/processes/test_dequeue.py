"""core.queue.dequeue across processes: two loops on one queue, a crash while holding a
lock, and runworker keeping a job's own lock time."""

import os
import signal
import subprocess
import sys
import time

import pytest

from core import queue
from core.models import Job
from core.worker import dequeue as dequeue_module
from tests.processes.conftest import finish
from tests.workers import ROOT, database_url, start_runworker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def reclaim_at_once(monkeypatch):
    monkeypatch.setattr(dequeue_module, "RECLAIM_EVERY", 0.0)


def start_dequeuer(*args: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url()}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.processes.dequeuer", *args], cwd=ROOT, env=env
    )


def test_two_processes_dequeuing_one_queue_never_get_the_same_job(tmp_path):
    outs, go = [tmp_path / "a.txt", tmp_path / "b.txt"], tmp_path / "go"
    procs = [start_dequeuer("drain", "shared", str(out), str(go)) for out in outs]
    wait_for(lambda: all(out.exists() for out in outs), message="both loops to start")
    jobs = queue.enqueue_many([{"job_type": "x", "queue": "shared"}] * 300)
    go.touch()
    assert [finish(proc, timeout=120) for proc in procs] == [0, 0]
    got = [[int(line) for line in out.read_text().split()] for out in outs]
    assert not set(got[0]) & set(got[1])
    assert sorted(got[0] + got[1]) == sorted(job.id for job in jobs)
    rows = Job.objects.filter(queue="shared")
    assert {(row.status, row.attempts) for row in rows} == {("completed", 1)}
    assert len({row.output["by"] for row in rows}) == 2  # both took part


def test_a_lock_held_by_a_killed_process_expires_and_counts_the_attempt(tmp_path):
    job = queue.enqueue("x", queue="crash", max_attempts=3)
    marker = tmp_path / "held"
    proc = start_dequeuer("hold", "crash", "1.0", str(marker))
    try:
        wait_for(marker.exists, message="the job to be leased")
        assert queue.dequeue("crash") == []  # locked: not handed out again
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        (again,) = wait_for(lambda: queue.dequeue("crash", lock=30), timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (again.id, again.attempt) == (job.id, 2)
    assert Job.objects.get(pk=job.id).errors[-1]["reason"] == "worker_lost"


def test_runworker_leases_a_job_for_its_own_lock_time(tmp_path):
    marker = tmp_path / "started"
    job = queue.enqueue(
        "test.sleep", {"seconds": 60, "marker": str(marker)}, queue="locks", lock_timeout=1
    )
    proc = start_runworker("--queue", "locks", "--lease", "60")
    try:
        wait_for(marker.exists, message="the handler to start")
        time.sleep(2)  # beyond the job's lock: still held, its worker renews it
        assert queue.dequeue("locks") == []  # (which reclaims expired leases first)
        assert Job.objects.get(pk=job.id).status == "processing"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        killed = time.monotonic()
        # Reclaimed about a second after the crash, not after the worker's 60 s lease.
        (again,) = wait_for(lambda: queue.dequeue("locks", lock=30), timeout=10)
        assert time.monotonic() - killed < 5
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (again.id, again.attempt) == (job.id, 2)
