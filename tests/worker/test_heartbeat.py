"""The heartbeat (core.worker.heartbeat and the drivers' heartbeat statement): health
written, orders read back and taken, stuck threads warned about, the liveness file."""

import logging
import threading
import time
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.utils import timezone

from core import queue
from core.drivers import get_driver
from core.drivers.rows import HeartbeatReply
from core.models import Job, Worker
from core.worker import liveness
from core.worker.heartbeat import Heartbeat
from tests.workers import BackgroundWorker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def worker_row(worker_id: str = "w1", **fields) -> Worker:
    now = timezone.now()
    return Worker.objects.create(
        id=worker_id, host="h", pid=1, concurrency=4, started_at=now, heartbeat_at=now, **fields
    )


@pytest.fixture
def quick(settings):
    """Stuck after 0.3 s of silence."""
    settings.QUEUEADMIN = {**getattr(settings, "QUEUEADMIN", {}), "STUCK_SECONDS": 0.3}


# -- the statement -----------------------------------------------------------------------


def test_the_heartbeat_writes_state_idle_ping_and_stuck_threads():
    worker_row()
    stuck = [{"thread": "queueadmin-exec-1", "job": 5, "silent_seconds": 301.5}]
    get_driver().heartbeat("w1", 30.0, [], state="quiet", idle=3, ping_ms=1.25, stuck=stuck)
    row = Worker.objects.get(pk="w1")
    assert (row.state, row.idle, row.ping_ms, row.stuck) == ("quiet", 3, 1.25, stuck)


def test_the_heartbeat_reads_back_the_order_and_who_gave_it():
    worker_row(order="quiet", ordered_by="alice")
    reply = get_driver().heartbeat("w1", 30.0, [])
    assert (reply.order, reply.ordered_by, reply.cancelled) == ("quiet", "alice", [])


def test_the_heartbeat_still_returns_the_cancelled_jobs_with_the_order():
    worker_row(order="stop", ordered_by="bob")
    job = queue.enqueue("test.echo", {})
    Job.objects.filter(pk=job.pk).update(status="cancelled")
    reply = get_driver().heartbeat("w1", 30.0, [job.pk])
    assert (reply.cancelled, reply.order, reply.ordered_by) == ([job.pk], "stop", "bob")


def test_a_heartbeat_without_a_worker_row_reads_no_order():
    assert get_driver().heartbeat("gone", 30.0, []).order is None


# -- orders taken --------------------------------------------------------------------------


class FakeWorker(SimpleNamespace):
    """Just what Heartbeat.take touches."""

    def __init__(self) -> None:
        super().__init__(
            worker_id="w1", lease=30.0, stopping=False, quiet=False, wake=threading.Event()
        )

    def stop(self) -> None:
        self.stopping = True


def take(heartbeat: Heartbeat, order: str | None, by: str = "alice") -> None:
    heartbeat.take(HeartbeatReply(order=order, ordered_by=by))


def test_a_quiet_order_makes_the_worker_quiet():
    worker = FakeWorker()
    take(Heartbeat(worker), "quiet")
    assert (worker.quiet, worker.stopping) == (True, False)


def test_an_empty_order_after_quiet_resumes_and_wakes_the_worker():
    worker = FakeWorker()
    heartbeat = Heartbeat(worker)
    take(heartbeat, "quiet")
    take(heartbeat, "")
    assert worker.quiet is False
    assert worker.wake.is_set()


def test_a_stop_order_stops_the_worker():
    worker = FakeWorker()
    take(Heartbeat(worker), "stop")
    assert worker.stopping


def test_a_stop_order_is_not_taken_back():
    worker = FakeWorker()
    heartbeat = Heartbeat(worker)
    take(heartbeat, "stop")
    take(heartbeat, "")
    assert (worker.stopping, worker.quiet) == (True, False)


def test_an_unknown_order_is_ignored_with_a_warning(caplog):
    worker = FakeWorker()
    with caplog.at_level(logging.WARNING, logger="queueadmin.worker"):
        take(Heartbeat(worker), "dance")
    assert (worker.quiet, worker.stopping) == (False, False)
    assert "order=dance ordered_by=alice: unknown order ignored" in caplog.text


def test_each_order_taken_is_logged_once_with_who_gave_it(caplog):
    heartbeat = Heartbeat(FakeWorker())
    with caplog.at_level(logging.INFO, logger="queueadmin.worker"):
        for _ in range(3):  # the order stays on the row: read at every heartbeat
            take(heartbeat, "quiet", by="alice")
    assert caplog.text.count("worker id=w1 order=quiet ordered_by=alice") == 1


def test_a_row_gone_meanwhile_changes_nothing():
    worker = FakeWorker()
    heartbeat = Heartbeat(worker)
    take(heartbeat, "quiet")
    take(heartbeat, None)
    assert worker.quiet


# -- a real worker's heartbeats ------------------------------------------------------------


def test_a_worker_reports_idle_threads_and_its_ping():
    with BackgroundWorker(concurrency=3, lease=0.3) as worker:
        row = wait_for(
            lambda: Worker.objects.filter(pk=worker.worker_id, ping_ms__isnull=False).first(),
            message="a heartbeat with the previous one's round trip",
        )
    assert row.idle == 3
    assert 0 < row.ping_ms < 5000
    assert (row.state, row.stuck) == ("running", [])


def test_a_hung_handler_is_listed_stuck_then_cleared(quick, tmp_path):
    marker = tmp_path / "started"
    job = queue.enqueue("test.sleep", {"seconds": 1.5, "marker": str(marker)})
    with BackgroundWorker(concurrency=2, lease=0.6) as worker:
        row = wait_for(
            lambda: Worker.objects.filter(pk=worker.worker_id).exclude(stuck=[]).first(),
            message="the silent thread flagged",
        )
        [entry] = row.stuck
        assert entry["job"] == job.pk
        assert entry["thread"].startswith("queueadmin-exec-")
        assert entry["silent_seconds"] >= 0.3
        assert row.idle == 1
        wait_for(lambda: Job.objects.get(pk=job.pk).status == "completed", timeout=10)
        wait_for(lambda: Worker.objects.get(pk=worker.worker_id).stuck == [], timeout=10)


def test_a_handler_that_calls_ctx_is_never_stuck(quick):
    job = queue.enqueue("test.cooperative", {})
    with BackgroundWorker(lease=0.3, grace=0.1) as worker:  # then the job is given back
        wait_for(lambda: Job.objects.get(pk=job.pk).status == "processing")
        time.sleep(0.8)  # past STUCK_SECONDS, several heartbeats
        assert Worker.objects.get(pk=worker.worker_id).stuck == []


def test_a_stuck_job_is_warned_about_once(quick, caplog):
    job = queue.enqueue("test.sleep", {"seconds": 1.5})
    # A lease of 0.9 s (a heartbeat every 0.3 s): the job keeps it on a loaded machine.
    with caplog.at_level(logging.INFO, logger="queueadmin.worker"), BackgroundWorker(lease=0.9):
        wait_for(lambda: Job.objects.get(pk=job.pk).status == "completed", timeout=10)
        wait_for(lambda: f"job={job.pk} no longer stuck" in caplog.text, timeout=10)
    warnings = [m for m in caplog.messages if f"job={job.pk} silent=" in m]
    assert len(warnings) == 1
    assert "stuck (no timeout" in warnings[0]
    assert Job.objects.get(pk=job.pk).attempts == 1  # ran once, never reclaimed


def test_the_liveness_file_is_touched_while_no_thread_is_stuck(tmp_path):
    path = tmp_path / "alive"
    with BackgroundWorker(lease=0.3, liveness_file=str(path)):
        wait_for(path.exists, message="the liveness file")
        first = path.stat().st_mtime_ns
        wait_for(lambda: path.stat().st_mtime_ns > first, message="a later touch")


def test_the_liveness_file_is_not_touched_while_a_thread_is_stuck(quick, tmp_path):
    path = tmp_path / "alive"
    job = queue.enqueue("test.sleep", {"seconds": 2})
    with BackgroundWorker(lease=0.6, liveness_file=str(path)) as worker:
        wait_for(
            lambda: Worker.objects.filter(pk=worker.worker_id).exclude(stuck=[]).exists(),
            message="the silent thread flagged",
        )
        before = path.stat().st_mtime_ns
        time.sleep(0.6)  # three heartbeats
        assert path.stat().st_mtime_ns == before
        assert not liveness.check(path, max_age=0.5)[0]
        wait_for(lambda: Job.objects.get(pk=job.pk).status == "completed", timeout=10)
        wait_for(lambda: path.stat().st_mtime_ns > before, message="touched again")


# -- bad settings and options --------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -5, "300", True, None])
def test_a_bad_stuck_seconds_setting_stops_the_worker_with_a_clear_error(settings, value):
    settings.QUEUEADMIN = {"STUCK_SECONDS": value}
    with pytest.raises(ImproperlyConfigured, match=r"STUCK_SECONDS.*positive number"):
        Heartbeat(FakeWorker())


def test_a_liveness_file_in_a_missing_directory_is_refused(tmp_path):
    with pytest.raises(CommandError, match="its directory does not exist"):
        call_command("runworker", "--liveness-file", str(tmp_path / "nowhere" / "alive"))
    assert not Worker.objects.exists()
