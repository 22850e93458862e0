"""Leases: the heartbeat renews only what the worker tracks and reports what runs;
recording a start before it runs (for jobs whose last worker was lost)."""

import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from core import queue
from core.drivers import get_driver
from core.models import Job

pytestmark = pytest.mark.django_db


def processing(n: int, worker: str = "w1") -> list[Job]:
    jobs = queue.enqueue_many([{"job_type": "test.echo"} for _ in range(n)])
    Job.objects.filter(pk__in=[j.pk for j in jobs]).update(
        status="processing",
        attempts=1,
        locked_by=worker,
        locked_until=timezone.now() + timedelta(seconds=1),
    )
    return jobs


def lease_of(job: Job):
    return Job.objects.get(pk=job.pk).locked_until


def test_the_heartbeat_renews_only_the_jobs_the_worker_tracks():
    tracked, lost = processing(2)
    before = lease_of(lost)
    get_driver().heartbeat("w1", 30.0, [tracked.pk])
    assert lease_of(tracked) > timezone.now() + timedelta(seconds=25)
    assert lease_of(lost) == before  # a claim whose reply never came: left to expire


def test_the_heartbeat_renews_no_job_of_another_worker():
    [theirs] = processing(1, worker="w2")
    before = lease_of(theirs)
    get_driver().heartbeat("w1", 30.0, [theirs.pk])
    assert lease_of(theirs) == before


def test_the_heartbeat_reports_running_handlers_and_clears_the_others():
    running, waiting = processing(2)
    Job.objects.filter(pk=waiting.pk).update(seen_running_at=timezone.now())  # ended since
    get_driver().heartbeat("w1", 30.0, [running.pk, waiting.pk], running_ids=[running.pk])
    assert Job.objects.get(pk=running.pk).seen_running_at is not None
    assert Job.objects.get(pk=waiting.pk).seen_running_at is None


def test_mark_running_records_the_start_of_its_own_jobs_only():
    mine, ended = processing(2)
    [theirs] = processing(1, worker="w2")
    Job.objects.filter(pk=ended.pk).update(seen_running_at=timezone.now())
    got = get_driver().mark_running("w1", [mine.pk, theirs.pk], [ended.pk])
    assert got == [mine.pk]
    assert Job.objects.get(pk=mine.pk).seen_running_at is not None
    assert Job.objects.get(pk=theirs.pk).seen_running_at is None
    assert Job.objects.get(pk=ended.pk).seen_running_at is None


def test_a_job_lost_once_has_its_start_recorded_before_it_runs(django_assert_num_queries):
    [job] = processing(1)
    Job.objects.filter(pk=job.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    get_driver().reclaim_expired()  # its worker had not reported it running
    assert Job.objects.get(pk=job.pk).lost_count == 1
    [claimed] = get_driver().claim("w3", None, None, 1, 30.0)
    assert claimed.lost_count == 1  # so the worker calls mark_running first


# -- no waiting on rows the worker's other threads hold (PostgreSQL) ------------------------


@contextmanager
def held_elsewhere(job: Job):
    """``job``'s row locked by another connection, as the worker's completer holds the
    rows whose outcomes it writes."""
    held, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Job.objects.select_for_update().filter(pk=job.pk).exists()
                held.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join(10)


@contextmanager
def lock_timeout(text: str):
    """A statement that waits for a row lock longer than ``text`` fails instead."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = '{text}'")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")


@pytest.mark.django_db(transaction=True)
def test_mark_running_skips_an_ended_job_whose_outcome_is_being_written(postgres_only):
    started, ended = processing(2)
    Job.objects.filter(pk=ended.pk).update(seen_running_at=timezone.now())
    with held_elsewhere(ended), lock_timeout("2s"):
        assert get_driver().mark_running("w1", [started.pk], [ended.pk]) == [started.pk]
    assert Job.objects.get(pk=ended.pk).seen_running_at is not None  # left to the completer


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_skips_a_job_whose_row_another_thread_holds(postgres_only):
    free, busy = processing(2)
    before = lease_of(busy)
    with held_elsewhere(busy), lock_timeout("2s"):
        get_driver().heartbeat("w1", 30.0, [free.pk, busy.pk])
    assert lease_of(free) > timezone.now() + timedelta(seconds=25)
    assert lease_of(busy) == before  # renewed by the next heartbeat
