"""core.jobs.bulk's delete: ``delete_jobs`` and the "delete" action of ``change_chunk``."""

import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import queue
from core.durable import tokens
from core.exceptions import InvalidJobError
from core.jobs import bulk
from core.models import CronSchedule, Job, JobEvent, WaitToken
from tests.records import schedule, set_status

pytestmark = pytest.mark.django_db


def test_delete_jobs_deletes_matching_jobs_with_their_events():
    doomed = queue.enqueue_many([{"job_type": "x", "queue": "mail"}] * 3)
    kept = queue.enqueue("x", queue="reports")
    for job in [*doomed, kept]:
        queue.cancel_job(job.pk)
    assert queue.delete_jobs(queue="mail") == 3
    assert list(Job.objects.values_list("id", flat=True)) == [kept.pk]
    assert set(JobEvent.objects.values_list("job_id", flat=True)) == {kept.pk}


def test_delete_jobs_skips_processing_jobs():
    running = queue.enqueue("x", queue="mail")
    queue.enqueue("x", queue="mail")
    set_status(running, "processing")
    assert queue.delete_jobs(queue="mail") == 1
    assert list(Job.objects.values_list("id", flat=True)) == [running.pk]


def test_delete_jobs_keeps_a_job_that_a_held_job_waits_on():
    parent = queue.enqueue("x", queue="mail")
    child = queue.enqueue("y", queue="other", depends_on=[parent.pk])
    assert Job.objects.get(pk=child.pk).status == "waiting"
    assert queue.delete_jobs(queue="mail") == 0
    assert Job.objects.filter(pk=parent.pk).exists()


def test_delete_jobs_deletes_the_jobs_tokens_and_clears_a_schedules_last_job():
    job = queue.enqueue("x", queue="mail")
    token = tokens.create_token(job.pk, timeout=60)
    cron = schedule()
    CronSchedule.objects.filter(pk=cron.pk).update(last_job=job)
    assert queue.delete_jobs(queue="mail") == 1
    assert not WaitToken.objects.filter(pk=token.pk).exists()
    assert CronSchedule.objects.get(pk=cron.pk).last_job_id is None


@pytest.mark.parametrize("filters", [{}, {"status": None}, {"ids": []}])
def test_delete_jobs_needs_a_filter(filters):
    job = queue.enqueue("x")
    with pytest.raises(InvalidJobError, match="needs at least one filter"):
        queue.delete_jobs(**filters)
    assert Job.objects.filter(pk=job.pk).exists()


def test_delete_jobs_works_through_several_chunks(settings):
    settings.QUEUEADMIN = {"BULK_CHUNK_SIZE": 2}
    queue.enqueue_many([{"job_type": "x", "queue": "mail"}] * 5)
    assert queue.delete_jobs(queue="mail") == 5
    assert not Job.objects.exists()


def test_delete_chunk_stops_at_up_to_id():
    first, second = queue.enqueue("x", queue="mail"), queue.enqueue("x", queue="mail")
    count, last = bulk.change_chunk("delete", {"queue": "mail"}, up_to_id=first.pk)
    assert (count, last) == (1, first.pk)
    assert list(Job.objects.values_list("id", flat=True)) == [second.pk]


def test_delete_chunk_logs_one_line_per_chunk_with_the_user(settings, caplog):
    settings.QUEUEADMIN = {"BULK_CHUNK_SIZE": 3}
    jobs = queue.enqueue_many([{"job_type": "x", "queue": "mail"}] * 5)
    with caplog.at_level(logging.INFO, logger="queueadmin.queue"):
        queue.delete_jobs(queue="mail", actor="alice")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Jobs deleted")]
    assert lines == [
        f"Jobs deleted count=3 events=0 ids={jobs[0].pk}..{jobs[2].pk} skipped=0 by=alice "
        "filters=queue=mail",
        f"Jobs deleted count=2 events=0 ids={jobs[3].pk}..{jobs[4].pk} skipped=0 by=alice "
        "filters=queue=mail",
    ]


def test_delete_chunk_runs_a_fixed_number_of_statements_whatever_the_events(settings):
    settings.QUEUEADMIN = {"BULK_CHUNK_SIZE": 100}

    def statements(count):
        jobs = queue.enqueue_many([{"job_type": "x", "queue": f"q{count}"}] * count)
        for job in jobs:  # events to delete with them
            queue.edit_job(job.pk, priority=5)
            queue.edit_job(job.pk, priority=6)
        with CaptureQueriesContext(connection) as queries:
            bulk.change_chunk("delete", {"queue": f"q{count}"})
        return len(queries)

    assert statements(3) == statements(30)
