"""runworker --burst exits only when no due job is left that it could run: it waits out
queue rate limits and channel release intervals (up to --burst-wait), and only after
every claimed job's outcome is written."""

import time

import pytest

from core import queue
from core.drivers.rows import Outcome
from core.models import Job
from core.worker import burst
from core.worker.burst import LEFT_JOBS
from core.worker.runner import Worker, WorkerOptions
from core.worker.runs import Run
from tests.processes.conftest import finish
from tests.workers import run_burst, start_runworker

pytestmark = pytest.mark.django_db(transaction=True)


def statuses(jobs) -> list[str]:
    return [Job.objects.get(pk=job.pk).status for job in jobs]


def test_burst_runs_every_job_of_a_rate_limited_queue_before_exiting():
    queue.set_queue_policy("limited", rate_limit=1, rate_period=1)
    jobs = [queue.enqueue("test.echo", queue="limited") for _ in range(3)]
    started = time.monotonic()
    proc = start_runworker("--burst", "-q", "limited", "--poll-interval", "0.05")
    assert finish(proc, timeout=60) == 0
    assert statuses(jobs) == ["completed"] * 3
    starts = sorted(Job.objects.filter(queue="limited").values_list("started_at", flat=True))
    assert (starts[2] - starts[0]).total_seconds() >= 1.9  # one start per second
    assert time.monotonic() - started < 30


def test_burst_runs_every_job_of_a_channel_with_a_release_interval_before_exiting():
    queue.set_channel_policy("tenant-a", release_interval=0.5)
    jobs = [queue.enqueue("test.echo", channel="tenant-a") for _ in range(3)]
    proc = start_runworker("--burst", "--poll-interval", "0.05")
    assert finish(proc, timeout=60) == 0
    assert statuses(jobs) == ["completed"] * 3


def test_burst_gives_up_after_burst_wait_with_exit_code_75_and_says_what_it_left(tmp_path):
    queue.set_queue_policy("slow", rate_limit=1, rate_period=3600)
    jobs = [queue.enqueue("test.echo", queue="slow") for _ in range(3)]
    log = (tmp_path / "w.log").open("w")
    proc = start_runworker("--burst", "-q", "slow", "--burst-wait", "0.5", log=log)
    assert finish(proc, timeout=60) == LEFT_JOBS
    log.close()
    assert statuses(jobs) == ["completed", "pending", "pending"]
    assert (
        "2 due jobs still held back by queue or channel policies after waiting 0.5s"
        in (tmp_path / "w.log").read_text()
    )


def test_burst_does_not_wait_for_jobs_of_a_paused_queue():
    queue.pause_queue("default")
    job = queue.enqueue("test.echo")
    started = time.monotonic()
    worker = run_burst(burst_wait=30)
    assert time.monotonic() - started < 10
    assert worker.burst_end.exit_code == 0
    assert statuses([job]) == ["pending"]


def test_next_start_in_is_the_wait_until_a_rate_limited_queue_may_start_again():
    queue.set_queue_policy("limited", rate_limit=1, rate_period=2)
    queue.enqueue("test.echo", queue="limited")
    assert burst.next_start_in(["limited"], None) == 0  # nothing started yet
    queue.enqueue("test.echo", queue="limited")
    run_burst(queues=["limited"], max_jobs=1)
    wait = burst.next_start_in(["limited"], None)
    assert 0 < wait <= 2


def test_next_start_in_is_none_when_no_due_job_is_left():
    queue.enqueue("test.echo", queue="other")
    assert burst.next_start_in(["default"], None) is None
    assert burst.next_start_in(None, ["test.fail"]) is None


def test_an_outcome_recorded_late_does_not_forget_the_same_jobs_new_run():
    # A run that parked its job (defer 0) records its outcome after the job was
    # claimed again: the new run must stay held, or burst exits without running it.
    queue.enqueue("test.echo")
    worker = Worker(WorkerOptions(burst=True))
    job = worker.driver.claim(worker.worker_id, None, None, 1, 30)[0]
    old, new = Run(job), Run(job)
    worker.held[job.id] = worker.running[job.id] = new
    worker._record(old, Outcome(job.id, "suspended", "defer"))
    assert worker.held[job.id] is new
    assert worker.running[job.id] is new


def test_a_job_deferring_at_once_reruns_in_the_same_burst():
    job = queue.enqueue("test.defer", {"until": 5}, max_attempts=1)
    run_burst()
    job.refresh_from_db()
    assert (job.status, job.output) == ("completed", {"count": 5})
