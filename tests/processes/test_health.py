"""Worker health with real runworker processes: stuck threads, the liveness file,
worker deaths, and operators' orders taken through the database."""

import os
import signal
import time

import pytest
from django.utils import timezone

from core import queue
from core.models import Job, Worker, WorkerDeath
from core.worker import liveness
from tests.processes.conftest import finish
from tests.workers import start_runworker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

#: Lease 1.5 s (a heartbeat every 0.5 s), stuck after 1 s of silence.
HEALTH = {"DJANGO_SETTINGS_MODULE": "tests.processes.settings_health"}


def start(*args: str, log=None):
    return start_runworker("--poll-interval", "0.1", *args, env=HEALTH, log=log)


def stop(proc) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return finish(proc)


def the_worker() -> Worker | None:
    return Worker.objects.first()


def give(order: str, by: str = "alice") -> None:
    Worker.objects.update(order=order, ordered_by=by, ordered_at=timezone.now())


def state_is(state: str):
    return lambda: Worker.objects.filter(state=state).exists()


def test_a_hung_handler_is_flagged_stuck_and_the_liveness_file_goes_stale(tmp_path):
    alive, marker = tmp_path / "alive", tmp_path / "started"
    job = queue.enqueue("test.sleep", {"seconds": 5, "marker": str(marker)})
    proc = start("--liveness-file", str(alive))
    try:
        wait_for(marker.exists, message="the handler to start")
        row = wait_for(
            lambda: Worker.objects.exclude(stuck=[]).first(), timeout=10, message="stuck"
        )
        assert row.stuck[0]["job"] == job.pk
        touched = alive.stat().st_mtime_ns
        time.sleep(1.5)  # three heartbeats
        assert alive.stat().st_mtime_ns == touched
        assert not liveness.check(alive, max_age=1.0)[0]
        wait_for(lambda: Job.objects.get(pk=job.pk).status == "completed", timeout=15)
        wait_for(lambda: Worker.objects.filter(stuck=[]).exists(), message="stuck cleared")
        wait_for(lambda: liveness.check(alive, max_age=1.0)[0], message="touched again")
    finally:
        assert stop(proc) == 0


def test_a_sigkilled_child_of_processes_is_recorded_as_an_exited_death():
    proc = start("--processes", "2")
    try:
        first = wait_for(lambda: list(Worker.objects.all()) if Worker.objects.count() == 2 else 0)
        victim = first[0]
        os.kill(victim.pid, signal.SIGKILL)
        death = wait_for(
            lambda: WorkerDeath.objects.filter(pid=victim.pid).first(),
            message="the death recorded",
        )
        assert (death.worker, death.reason) == (victim.id, "exited")
        assert death.detail["signal"] == "SIGKILL"
        assert "last_heartbeat" in death.detail
        assert not Worker.objects.filter(pk=victim.id).exists()
        wait_for(lambda: Worker.objects.count() == 2, message="a replacement child")
    finally:
        assert stop(proc) == 0
    assert WorkerDeath.objects.count() == 1  # the children stopped by SIGTERM did not die


def test_a_supervisor_keeps_one_liveness_file_for_its_children(tmp_path):
    alive = tmp_path / "alive"
    proc = start("--processes", "2", "--liveness-file", str(alive))
    try:
        children = [tmp_path / "alive.0", tmp_path / "alive.1"]
        wait_for(lambda: all(child.exists() for child in children), message="child files")
        wait_for(alive.exists, message="the supervisor's file")
        assert liveness.check(alive, max_age=5.0)[0]
        oldest = min(child.stat().st_mtime for child in children)
        assert alive.stat().st_mtime <= max(child.stat().st_mtime for child in children)
        assert alive.stat().st_mtime >= oldest - 1
    finally:
        assert stop(proc) == 0


def test_a_quiet_worker_finishes_its_job_and_claims_no_new_one(tmp_path):
    marker = tmp_path / "started"
    slow = queue.enqueue("test.sleep", {"seconds": 2, "marker": str(marker)})
    log = (tmp_path / "worker.log").open("w+")
    proc = start("--concurrency", "2", log=log)
    try:
        wait_for(marker.exists, message="the slow job to start")
        give("quiet", by="alice")
        wait_for(state_is("quiet"), timeout=10, message="state=quiet")
        later = queue.enqueue("test.echo", {})
        wait_for(lambda: Job.objects.get(pk=slow.pk).status == "completed", timeout=15)
        time.sleep(1.5)  # three heartbeats and many polls
        assert Job.objects.get(pk=later.pk).status == "pending"
        assert Worker.objects.get().state == "quiet"
        assert proc.poll() is None
    finally:
        assert stop(proc) == 0
    log.seek(0)
    assert "order=quiet ordered_by=alice" in log.read()


def test_an_empty_order_resumes_a_quiet_worker(tmp_path):
    proc = start()
    try:
        wait_for(the_worker, message="the worker to register")
        give("quiet")
        wait_for(state_is("quiet"), timeout=10)
        job = queue.enqueue("test.echo", {})
        time.sleep(1.0)
        assert Job.objects.get(pk=job.pk).status == "pending"
        give("", by="bob")
        assert queue.wait(job.pk, timeout=15).status == "completed"
        wait_for(state_is("running"), timeout=10, message="state=running")
    finally:
        assert stop(proc) == 0


def test_a_stop_order_drains_and_exits_zero(tmp_path):
    marker = tmp_path / "started"
    job = queue.enqueue("test.sleep", {"seconds": 2, "marker": str(marker)})
    proc = start("--grace", "20")
    try:
        wait_for(marker.exists, message="the job to start")
        give("stop", by="carol")
        wait_for(state_is("stopping"), timeout=10, message="state=stopping")
        assert finish(proc, timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert Job.objects.get(pk=job.pk).status == "completed"
    assert not Worker.objects.exists()
