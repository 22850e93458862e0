"""retry_job, cancel_job, edit_job and their bulk forms: outcomes and events."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core import conf, queue
from core.exceptions import JobNotFound
from core.models import EventType, Job, JobEvent, JobStatus
from tests.records import event_types, set_status

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", ["failed", "cancelled", "completed"])
def test_retry_job_makes_a_finished_job_pending_now(status):
    job = queue.enqueue("x", run_at=timezone.now() + timedelta(days=1))
    set_status(job, status, attempts=1, output={"old": True}, progress=80)
    retried = queue.retry_job(job.pk, actor="alice")
    stored = Job.objects.get(pk=job.pk)
    assert stored.status == JobStatus.PENDING
    assert stored.run_at <= timezone.now()
    assert (stored.output, stored.progress, stored.attempts) == (None, 0, 1)
    assert retried.status == JobStatus.PENDING
    event = JobEvent.objects.filter(job=job, type=EventType.RETRIED).get()
    assert event.metadata == {"previous_status": status, "actor": "alice"}


def test_retry_job_grants_one_more_attempt_when_attempts_were_used_up():
    job = queue.enqueue("x", max_attempts=2)
    set_status(job, "failed", attempts=2, errors=[{"attempt": 1}, {"attempt": 2}])
    stored = queue.retry_job(job.pk)
    assert (stored.attempts, stored.max_attempts) == (2, 3)
    assert len(stored.errors) == 2


def test_retry_job_of_a_missing_job_raises_job_not_found():
    with pytest.raises(JobNotFound):
        queue.retry_job(424242)


@pytest.mark.parametrize("status", ["pending", "waiting", "processing"])
def test_cancel_job_cancels_an_unfinished_job(status):
    job = queue.enqueue("x")
    set_status(job, status)
    cancelled = queue.cancel_job(job.pk, actor="bob")
    stored = Job.objects.get(pk=job.pk)
    assert stored.status == JobStatus.CANCELLED
    assert stored.cancelled_at is not None
    assert cancelled.status == JobStatus.CANCELLED
    assert event_types(job) == ["added", "cancelled"]
    event = JobEvent.objects.get(job=job, type="cancelled")
    assert event.metadata == {"previous_status": status, "actor": "bob"}


def test_edit_job_changes_fields_and_records_the_difference():
    job = queue.enqueue("x", {"a": 1}, priority=1, tags=["old"])
    run_at = timezone.now() + timedelta(hours=3)
    edited = queue.edit_job(
        job.pk, payload={"a": 2}, priority=9, tags=["new"], run_at=run_at, max_attempts=7
    )
    stored = Job.objects.get(pk=job.pk)
    assert (stored.payload, stored.priority, stored.tags) == ({"a": 2}, 9, ["new"])
    assert (stored.run_at, stored.max_attempts) == (run_at, 7)
    assert edited.priority == 9
    event = JobEvent.objects.get(job=job, type=EventType.EDITED)
    assert event.metadata["changes"]["priority"] == {"from": 1, "to": 9}
    assert event.metadata["changes"]["payload"] == {"from": {"a": 1}, "to": {"a": 2}}
    assert set(event.metadata["changes"]) == {
        "payload",
        "priority",
        "tags",
        "run_at",
        "max_attempts",
    }


def test_edit_job_with_delay_moves_run_at():
    job = queue.enqueue("x")
    before = timezone.now()
    stored = queue.edit_job(job.pk, delay=timedelta(minutes=10))
    assert stored.run_at >= before + timedelta(minutes=10)


def test_edit_job_that_changes_nothing_writes_no_event():
    job = queue.enqueue("x", priority=3)
    queue.edit_job(job.pk, priority=3)
    assert event_types(job) == ["added"]


def test_cancel_jobs_cancels_every_unfinished_match_and_returns_the_count():
    a, b, c = (queue.enqueue("email") for _ in range(3))
    done = queue.enqueue("email")
    other = queue.enqueue("report")
    set_status(b, "waiting")
    set_status(c, "processing")
    set_status(done, "completed")
    assert queue.cancel_jobs(job_type="email", actor="ops") == 3
    statuses = dict(Job.objects.values_list("id", "status"))
    assert [statuses[j.pk] for j in (a, b, c)] == ["cancelled"] * 3
    assert statuses[done.pk] == "completed"
    assert statuses[other.pk] == "pending"
    events = JobEvent.objects.filter(type="cancelled")
    assert sorted(events.values_list("job_id", flat=True)) == [a.pk, b.pk, c.pk]
    assert all(e.metadata == {"bulk": True, "actor": "ops"} for e in events)


def test_cancel_jobs_works_through_more_jobs_than_one_chunk(settings):
    settings.QUEUEADMIN = {"BULK_CHUNK_SIZE": 7}
    assert conf.get("BULK_CHUNK_SIZE") == 7
    queue.enqueue_many([{"job_type": "x", "tags": ["batch"]} for _ in range(30)])
    queue.enqueue("x")
    assert queue.cancel_jobs(tags=["batch"]) == 30
    assert Job.objects.filter(status="cancelled").count() == 30
    assert JobEvent.objects.filter(type="cancelled").count() == 30


def test_edit_jobs_changes_only_pending_matches(settings):
    settings.QUEUEADMIN = {"BULK_CHUNK_SIZE": 4}
    jobs = queue.enqueue_many([{"job_type": "x", "queue": "q1"} for _ in range(10)])
    set_status(jobs[0], "processing")
    assert queue.edit_jobs({"queue": "q1"}, priority=50, queue="q2") == 9
    stored = dict(Job.objects.values_list("id", "queue"))
    assert stored[jobs[0].pk] == "q1"
    assert {stored[j.pk] for j in jobs[1:]} == {"q2"}
    assert JobEvent.objects.filter(type="edited").count() == 9


def test_edit_jobs_with_no_matches_returns_zero():
    assert queue.edit_jobs({"job_type": "nothing"}, priority=1) == 0


def test_bulk_changes_update_updated_at():
    job = queue.enqueue("x")
    Job.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(days=1))
    queue.edit_jobs({"ids": [job.pk]}, priority=2)
    assert Job.objects.get(pk=job.pk).updated_at > timezone.now() - timedelta(minutes=1)
