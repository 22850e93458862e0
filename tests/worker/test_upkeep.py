"""Maintenance runs on a thread of its own (core.worker.upkeep): a slow task never
holds back the heartbeat that renews the running jobs' leases."""

import threading
import time

import pytest

from core import maintenance
from core.models import Worker
from tests.workers import BackgroundWorker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_heartbeats_go_on_while_a_maintenance_task_runs_long(monkeypatch):
    released = threading.Event()
    started = threading.Event()

    def slow_run_due(worker_id, **kwargs):
        started.set()
        released.wait(20)  # a rollup of a busy minute, say
        return {}

    monkeypatch.setattr(maintenance, "run_due", slow_run_due)
    try:
        with BackgroundWorker(lease=0.3) as worker:
            assert started.wait(10), "maintenance never ran"
            first = Worker.objects.get(pk=worker.worker_id).heartbeat_at
            wait_for(
                lambda: Worker.objects.get(pk=worker.worker_id).heartbeat_at > first,
                message="a heartbeat while the maintenance task runs",
            )
            released.set()
    finally:
        released.set()


def test_maintenance_runs_again_after_each_heartbeat(monkeypatch):
    calls = []

    def counting_run_due(worker_id, **kwargs):
        calls.append(time.monotonic())
        return {}

    monkeypatch.setattr(maintenance, "run_due", counting_run_due)
    with BackgroundWorker(lease=0.3):
        wait_for(lambda: len(calls) >= 3, message="three maintenance runs")


def test_a_failing_maintenance_run_is_logged_and_the_next_one_runs(monkeypatch, caplog):
    calls = []

    def failing_run_due(worker_id, **kwargs):
        calls.append(1)
        raise RuntimeError("boom")

    monkeypatch.setattr(maintenance, "run_due", failing_run_due)
    with BackgroundWorker(lease=0.3):
        wait_for(lambda: len(calls) >= 2, message="a second run after a failure")
    assert "maintenance failed" in caplog.text
