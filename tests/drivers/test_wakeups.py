"""Idle workers wake when a job is added, not only at their next poll."""

import threading
import time
from contextlib import closing

import pytest
from django.db import connection

from core import queue
from core.drivers import get_driver
from core.drivers.sqlite import listener as listener_module
from core.drivers.sqlite.inotify import DirectoryWatch
from core.models import Job, Queue
from tests.workers import BackgroundWorker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

needs_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the SQLite watcher (PostgreSQL uses LISTEN)"
)


@needs_sqlite
def test_the_sqlite_listener_reports_an_added_job():
    with closing(get_driver().listen()) as listener:
        queue.enqueue("t")
        assert listener.wait(2.0) is True


@needs_sqlite
def test_the_sqlite_listener_ignores_writes_that_add_no_job():
    job = queue.enqueue("t")
    with closing(get_driver().listen()) as listener:
        Queue.objects.create(name="other")
        Job.objects.filter(pk=job.pk).update(priority=5)
        assert listener.wait(0.3) is False


needs_inotify = pytest.mark.skipif(
    DirectoryWatch.open(".") is None, reason="inotify (Linux) is not available here"
)


@needs_sqlite
@needs_inotify
def test_the_sqlite_listener_wakes_at_the_commit_not_at_its_next_look(monkeypatch):
    monkeypatch.setattr(listener_module, "SAFETY_TICK", 60.0)
    adder = threading.Timer(0.2, lambda: queue.enqueue("t"))
    with closing(get_driver().listen()) as listener:
        assert listener._watch is not None
        started = time.monotonic()
        adder.start()
        try:
            assert listener.wait(30.0) is True
            assert time.monotonic() - started < 10.0  # woken by the write, not the 60 s look
        finally:
            adder.join()


@needs_sqlite
def test_the_sqlite_listener_looks_at_the_files_where_inotify_is_missing(monkeypatch):
    monkeypatch.setattr(DirectoryWatch, "open", classmethod(lambda cls, directory: None))
    with closing(get_driver().listen()) as listener:
        assert listener._watch is None
        queue.enqueue("t")
        assert listener.wait(2.0) is True


@needs_inotify
def test_a_directory_watch_reports_a_write_and_times_out_without_one(tmp_path):
    with closing(DirectoryWatch.open(str(tmp_path))) as watch:
        assert watch.wait(0.05) is False
        (tmp_path / "db.sqlite3-wal").write_bytes(b"x")
        assert watch.wait(5.0) is True
        assert watch.wait(0.05) is False  # the events were read


def test_an_idle_worker_starts_a_new_job_long_before_its_next_poll():
    with BackgroundWorker(poll_interval=30, push=False) as worker:
        wait_for(lambda: worker._threads, message="the worker to start")
        time.sleep(0.5)  # idle: its first poll found nothing
        started = time.monotonic()
        job = queue.enqueue("test.echo", {"n": 1})
        wait_for(
            lambda: Job.objects.get(pk=job.pk).status == "completed",
            timeout=10,
            interval=0.01,
            message="the job to complete",
        )
    assert time.monotonic() - started < 2.0
