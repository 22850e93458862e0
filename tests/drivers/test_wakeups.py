"""Idle workers wake when a job is added, not only at their next poll."""

import time

import pytest
from django.db import connection

from core import queue
from core.drivers import get_driver
from core.models import Job, Queue
from tests.workers import BackgroundWorker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

needs_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the SQLite watcher (PostgreSQL uses LISTEN)"
)


@needs_sqlite
def test_the_sqlite_listener_reports_an_added_job():
    listener = get_driver().listen()
    try:
        queue.enqueue("t")
        assert listener.wait(2.0) is True
    finally:
        listener.close()


@needs_sqlite
def test_the_sqlite_listener_ignores_writes_that_add_no_job():
    job = queue.enqueue("t")
    listener = get_driver().listen()
    try:
        Queue.objects.create(name="other")
        Job.objects.filter(pk=job.pk).update(priority=5)
        assert listener.wait(0.3) is False
    finally:
        listener.close()


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
