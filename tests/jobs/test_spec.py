"""Bad input to enqueue and edits: a clear InvalidJobError, and nothing written."""

import math
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from core import queue
from core.exceptions import InvalidJobError, JobStateError
from core.models import Job, JobEvent

pytestmark = pytest.mark.django_db


BAD_INPUT = pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"payload": {"when": datetime(2026, 1, 1)}}, "payload: must be JSON-serialisable"),
        ({"payload": {1, 2}}, "payload: must be JSON-serialisable"),
        ({"payload": math.nan}, "payload: must be JSON-serialisable"),
        ({"priority": 101}, "priority: must be between -100 and 100"),
        ({"priority": -101}, "priority: must be between -100 and 100"),
        ({"priority": 1.5}, "priority: must be an integer"),
        ({"priority": True}, "priority: must be an integer"),
        ({"delay": -1}, "delay: must be zero or more seconds"),
        ({"delay": timedelta(seconds=-5)}, "delay: must be zero or more seconds"),
        ({"delay": "soon"}, 'delay: "soon" is not a duration'),
        ({"run_at": timezone.now(), "delay": 5}, "give run_at or delay, not both"),
        ({"run_at": datetime(2026, 1, 1)}, "run_at: must be timezone-aware"),
        ({"run_at": "2026-01-01"}, "run_at: must be a datetime"),
        ({"tags": "urgent"}, "tags: must be a list of strings"),
        ({"tags": ["ok", 3]}, "tags: every tag must be a non-empty string"),
        ({"tags": [""]}, "tags: every tag must be a non-empty string"),
        ({"queue": ""}, "queue: must be a non-empty string"),
        ({"queue": "has space"}, "queue: 'has space' may hold only"),
        ({"max_attempts": 0}, "max_attempts: must be between 1 and 1000"),
        ({"retry_delay": -1}, "retry_delay: must be zero or more seconds"),
        ({"retry_backoff": "linear"}, "retry_backoff: must be one of fixed, exponential"),
        ({"timeout": 0}, "timeout: must be more than zero seconds"),
        ({"force_kill_on_timeout": "yes"}, "force_kill_on_timeout: must be True or False"),
        ({"idempotency_key": ""}, "idempotency_key: must be a non-empty string"),
        ({"idempotency_key": "k" * 256}, "idempotency_key: must be at most 255"),
        ({"depends_on": "1,2"}, "depends_on: must be a list of job ids"),
        ({"depends_on": {}}, "depends_on: must be a list of job ids"),
        ({"depends_on": [0]}, "depends_on: must hold job ids"),
        ({"colour": "blue"}, "unknown option colour"),
    ],
)


@BAD_INPUT
def test_enqueue_rejects_bad_input_and_writes_nothing(kwargs, message):
    options = dict(kwargs)  # the cases are shared with the enqueue_many test
    payload = options.pop("payload", None)
    with pytest.raises(InvalidJobError, match=message):
        queue.enqueue("x", payload, **options)
    assert Job.objects.count() == 0
    assert JobEvent.objects.count() == 0


@BAD_INPUT
def test_enqueue_many_rejects_bad_input_after_good_specs_and_writes_nothing(kwargs, message):
    # What was checked for the good specs (remembered for the specs after them) must
    # not let the bad one through.
    specs = [{"job_type": "x"}, {"job_type": "x", "payload": 1}, {"job_type": "x", **kwargs}]
    with pytest.raises(InvalidJobError, match=rf"specs\[2\]: {message}"):
        queue.enqueue_many(specs)
    assert Job.objects.count() == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [(True, "priority: must be an integer"), (1.0, "priority: must be an integer")],
)
def test_enqueue_many_tells_a_bool_or_float_from_the_equal_int_it_follows(value, message):
    # 1 == 1.0 == True: the options checked for one spec are remembered by type too.
    with pytest.raises(InvalidJobError, match=rf"specs\[1\]: {message}"):
        queue.enqueue_many([{"job_type": "x", "priority": 1}, {"job_type": "x", "priority": value}])


@pytest.mark.parametrize("job_type", ["", "   ", None, 42, "t" * 201])
def test_enqueue_rejects_a_bad_job_type(job_type):
    with pytest.raises(InvalidJobError, match="job_type"):
        queue.enqueue(job_type)
    assert Job.objects.count() == 0


def test_invalid_job_error_is_a_value_error():
    with pytest.raises(ValueError, match="priority"):
        queue.enqueue("x", priority=1000)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": "completed"}, "cannot edit status"),
        ({"attempts": 0}, "cannot edit attempts"),
        ({"idempotency_key": "new"}, "cannot edit idempotency_key"),
        ({}, "nothing to edit"),
        ({"priority": 300}, "priority: must be between"),
        ({"tags": "a,b"}, "tags: must be a list of strings"),
        ({"payload": object()}, "payload: must be JSON-serialisable"),
        ({"run_at": timezone.now(), "delay": 1}, "give run_at or delay, not both"),
    ],
)
def test_edit_job_rejects_bad_changes_and_changes_nothing(changes, message):
    job = queue.enqueue("x", {"a": 1}, priority=1)
    with pytest.raises(InvalidJobError, match=message):
        queue.edit_job(job.pk, **changes)
    stored = Job.objects.get(pk=job.pk)
    assert (stored.payload, stored.priority, stored.status) == ({"a": 1}, 1, "pending")
    assert not job.events.exists()  # no edited event


@pytest.mark.parametrize("status", ["processing", "waiting", "completed", "failed", "cancelled"])
def test_edit_job_refuses_jobs_that_are_not_pending(status):
    job = queue.enqueue("x", priority=1)
    Job.objects.filter(pk=job.pk).update(status=status)
    with pytest.raises(JobStateError, match=f"cannot edit job {job.pk}: it is {status}"):
        queue.edit_job(job.pk, priority=5)
    assert Job.objects.get(pk=job.pk).priority == 1


@pytest.mark.parametrize("status", ["pending", "processing", "waiting"])
def test_retry_job_refuses_jobs_that_are_not_finished(status):
    job = queue.enqueue("x")
    Job.objects.filter(pk=job.pk).update(status=status)
    with pytest.raises(JobStateError, match=f"cannot retry job {job.pk}: it is {status}"):
        queue.retry_job(job.pk)
    assert not job.events.exists()  # no retried event


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled"])
def test_cancel_job_refuses_finished_jobs(status):
    job = queue.enqueue("x")
    Job.objects.filter(pk=job.pk).update(status=status)
    with pytest.raises(JobStateError, match=f"cannot cancel job {job.pk}: it is {status}"):
        queue.cancel_job(job.pk)
    assert Job.objects.get(pk=job.pk).status == status


@pytest.mark.parametrize("job_id", ["abc", 1.5, None, True])
def test_get_job_rejects_ids_that_are_not_integers(job_id):
    with pytest.raises(InvalidJobError, match="job id must be an integer"):
        queue.get_job(job_id)


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"status": "running"}, "status: unknown running"),
        ({"tags": ["a"], "tag_mode": "some"}, "tag_mode: must be one of exact, all, any, none"),
        ({"tags": "a"}, "tags: must be a list of strings"),
        ({"owner": "me"}, "unknown filter owner"),
        ({"created_after": "yesterday"}, "created_after: must be a datetime"),
        ({"queue": 5}, "queue: must be a string or a list of strings"),
        ({"ids": ["1"]}, "ids: must hold integers"),
    ],
)
def test_find_jobs_rejects_bad_filters(filters, message):
    with pytest.raises(InvalidJobError, match=message):
        queue.find_jobs(**filters)


@pytest.mark.parametrize("limit", [0, -1, 10_001, "10"])
def test_find_jobs_rejects_a_bad_limit(limit):
    with pytest.raises(InvalidJobError, match="limit"):
        queue.find_jobs(limit=limit)


def test_bulk_changes_refuse_to_run_without_a_filter():
    queue.enqueue("x")
    with pytest.raises(InvalidJobError, match="cancel_jobs needs at least one filter"):
        queue.cancel_jobs()
    with pytest.raises(InvalidJobError, match="edit_jobs needs at least one filter"):
        queue.edit_jobs({}, priority=1)
    assert Job.objects.get().status == "pending"


def test_edit_jobs_rejects_bad_changes_before_touching_any_job():
    queue.enqueue("x", priority=1)
    with pytest.raises(InvalidJobError, match="cannot edit status"):
        queue.edit_jobs({"job_type": "x"}, status="completed")
    assert Job.objects.get().priority == 1
