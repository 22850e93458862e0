"""Real runworker processes and real signals against the test database."""

import os
import signal
import time
from collections import Counter

import pytest
from django.db import connection

from core import queue
from core.models import Job, JobEvent, Worker
from tests.processes.conftest import finish
from tests.records import event_types
from tests.workers import start_runworker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_four_worker_processes_complete_every_job_exactly_once(tmp_path):
    log = tmp_path / "executions.log"
    jobs = queue.enqueue_many(
        [{"job_type": "test.record", "payload": {"file": str(log)}} for _ in range(2000)]
    )
    procs = [
        start_runworker("--burst", "-v", "0", "--concurrency", "4", "--batch-size", "50")
        for _ in range(4)
    ]
    assert [finish(p, timeout=120) for p in procs] == [0, 0, 0, 0]
    executions = Counter(int(line) for line in log.read_text().split())
    assert set(executions) == {job.pk for job in jobs}
    assert max(executions.values()) == 1
    assert Job.objects.filter(status="completed").count() == 2000
    assert JobEvent.objects.filter(type="completed").count() == 2000


def test_job_of_a_killed_worker_is_reclaimed_and_completed_by_another(tmp_path):
    marker = tmp_path / "started"
    job = queue.enqueue("test.crash_once", {"marker": str(marker)})
    victim = start_runworker("--lease", "1", "--poll-interval", "0.1")
    try:
        wait_for(marker.exists, message="the first attempt to start")
        wait_for(
            lambda: Job.objects.get(pk=job.pk).seen_running_at,
            message="a heartbeat to report the job running",
        )
        victim.send_signal(signal.SIGKILL)
        finish(victim)
        assert Job.objects.get(pk=job.pk).status == "processing"
        rescuer = start_runworker("--lease", "1", "--poll-interval", "0.1")
        try:
            done = queue.wait(job.pk, timeout=30)
        finally:
            rescuer.send_signal(signal.SIGTERM)
            finish(rescuer)
    finally:
        if victim.poll() is None:
            victim.kill()
    assert done.status == "completed"
    assert done.output == {"attempt": 2}
    assert done.attempts == 2
    assert done.errors[0]["reason"] == "worker_lost"
    assert event_types(job) == ["added", "processing", "reclaimed", "processing", "completed"]


def test_sigterm_lets_the_running_job_finish_and_exits_zero(tmp_path):
    marker = tmp_path / "started"
    job = queue.enqueue("test.sleep", {"seconds": 1.5, "marker": str(marker)})
    proc = start_runworker("--grace", "20", "--poll-interval", "0.1")
    wait_for(marker.exists)
    proc.send_signal(signal.SIGTERM)
    assert finish(proc) == 0
    job.refresh_from_db()
    assert job.status == "completed"
    assert not Worker.objects.exists()


def test_sigterm_after_the_grace_gives_the_job_back_uncounted(tmp_path):
    marker = tmp_path / "started"
    job = queue.enqueue("test.sleep", {"seconds": 60, "marker": str(marker)})
    proc = start_runworker("--grace", "0.5", "--poll-interval", "0.1")
    wait_for(marker.exists)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert finish(proc) == 0
    assert time.monotonic() - started < 10
    job.refresh_from_db()
    assert (job.status, job.attempts, job.locked_by) == ("pending", 0, None)
    event = JobEvent.objects.filter(job=job).last()
    assert (event.type, event.metadata["reason"]) == ("reclaimed", "worker shutdown")


def test_a_second_signal_exits_at_once(tmp_path):
    marker = tmp_path / "started"
    queue.enqueue("test.sleep", {"seconds": 60, "marker": str(marker)})
    proc = start_runworker("--grace", "60", "--poll-interval", "0.1")
    wait_for(marker.exists)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert finish(proc, timeout=10) != 0
    assert time.monotonic() - started < 5


def test_supervisor_restarts_a_worker_process_that_dies():
    proc = start_runworker("--processes", "2", "--poll-interval", "0.1")
    try:
        first = wait_for(
            lambda: list(Worker.objects.all()) if Worker.objects.count() == 2 else None
        )
        victim = first[0]
        os.kill(victim.pid, signal.SIGKILL)
        pids = {w.pid for w in first}
        wait_for(
            lambda: Worker.objects.exclude(pid__in=pids).exists(),
            message="a replacement worker process",
        )
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        assert finish(proc) == 0


def test_supervisor_gives_up_when_workers_keep_dying(tmp_path):
    log = (tmp_path / "supervisor.log").open("w+")
    proc = start_runworker(
        "--processes",
        "2",
        "--max-restarts",
        "2",
        "--restart-window",
        "60",
        env={"QUEUEADMIN_HANDLER_MODULES": "tests.no_such_module"},
        log=log,
    )
    assert finish(proc, timeout=60) != 0
    log.seek(0)
    assert "worker processes died 3 times within 60s" in log.read()


def test_postgres_notify_starts_a_new_job_without_waiting_for_the_poll(postgres_only):
    assert connection.vendor == "postgresql"
    proc = start_runworker("--poll-interval", "30")
    try:
        wait_for(Worker.objects.exists)
        time.sleep(0.5)  # let the worker go idle on LISTEN
        job = queue.enqueue("test.echo", {"n": 1})
        done = queue.wait(job.pk, timeout=5)
    finally:
        proc.send_signal(signal.SIGTERM)
        finish(proc)
    assert done.status == "completed"
    assert (done.started_at - done.created_at).total_seconds() < 2


def test_durable_steps_survive_a_killed_worker_and_each_runs_once(tmp_path):
    log, paused = tmp_path / "steps.log", tmp_path / "paused"
    payload = {"log": str(log), "pause_file": str(paused), "pause": 60}
    job = queue.enqueue("test.three_steps", payload)
    victim = start_runworker("--lease", "1", "--poll-interval", "0.1")
    try:
        wait_for(paused.exists, message="the handler between steps two and three")
        victim.send_signal(signal.SIGKILL)
        finish(victim)
        paused.unlink()
        Job.objects.filter(pk=job.pk).update(payload={**payload, "pause": 0})
        rescuer = start_runworker("--lease", "1", "--poll-interval", "0.1")
        try:
            done = queue.wait(job.pk, timeout=30)
        finally:
            rescuer.send_signal(signal.SIGTERM)
            finish(rescuer)
    finally:
        if victim.poll() is None:
            victim.kill()
    assert done.status == "completed"
    assert done.output == {"sum": 6}
    assert log.read_text().split() == ["one", "two", "three"]
    types = list(JobEvent.objects.filter(job=job).values_list("type", flat=True))
    assert "reclaimed" in types
    assert types.count("resumed") >= 2


def test_runworker_prints_what_it_does_when_the_project_configures_no_logging(tmp_path):
    queue.enqueue("test.echo", {"n": 1})
    path = tmp_path / "worker.log"
    with path.open("wb") as log:
        settings = {"DJANGO_SETTINGS_MODULE": "tests.settings_without_logging"}
        assert finish(start_runworker("--burst", env=settings, log=log)) == 0
    output = path.read_text()
    assert "INFO queueadmin.worker worker id=" in output
    assert "type=test.echo" in output
