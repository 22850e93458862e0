"""core.jobs.bulk and the queue API it completes: retry_jobs, run_job_now, delete_job,
change_chunk."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core import queue
from core.exceptions import InvalidJobError, JobNotFound, JobStateError
from core.jobs import bulk
from core.models import EventType, Job, JobEvent, JobStatus
from tests.records import set_status

pytestmark = pytest.mark.django_db


def statuses():
    return dict(Job.objects.values_list("id", "status"))


def one_per_status(job_type="x"):
    jobs = {}
    for status in JobStatus.values:
        job = queue.enqueue(job_type)
        set_status(job, status)
        jobs[status] = job
    return jobs


# -- retry_jobs ------------------------------------------------------------------------


@pytest.mark.parametrize("filters", [{}, {"status": None}, {"tag_mode": "any"}])
def test_retry_jobs_needs_a_filter(filters):
    job = queue.enqueue("x")
    set_status(job, "failed")
    with pytest.raises(InvalidJobError, match="needs at least one filter"):
        queue.retry_jobs(**filters)
    assert Job.objects.get(pk=job.pk).status == "failed"


@pytest.mark.parametrize("mode", ["all", "none"])
def test_retry_jobs_with_an_empty_tag_list_is_not_a_filter(mode):
    job = queue.enqueue("x", tags=["a"])
    set_status(job, "failed")
    with pytest.raises(InvalidJobError, match="needs at least one filter"):
        queue.retry_jobs(tags=[], tag_mode=mode)
    assert Job.objects.get(pk=job.pk).status == "failed"


def test_retry_jobs_rejects_an_unknown_filter():
    with pytest.raises(InvalidJobError, match="unknown filter"):
        queue.retry_jobs(colour="red")


def test_retry_jobs_changes_only_failed_cancelled_and_completed_jobs():
    jobs = one_per_status()
    other = queue.enqueue("other")
    set_status(other, "failed")
    assert queue.retry_jobs(job_type="x") == 3
    after = statuses()
    for status in ("failed", "cancelled", "completed"):
        assert after[jobs[status].pk] == "pending", status
    for status in ("pending", "processing", "waiting"):
        assert after[jobs[status].pk] == status
    assert after[other.pk] == "failed"


def test_retry_jobs_makes_jobs_due_now_and_clears_the_last_run():
    job = queue.enqueue("x", run_at=timezone.now() + timedelta(days=1))
    errors = [{"attempt": 1, "message": "boom"}]
    set_status(
        job,
        "failed",
        attempts=1,
        progress=60,
        output={"partial": True},
        errors=errors,
        started_at=timezone.now(),
        failed_at=timezone.now(),
        locked_by="w1",
    )
    before = timezone.now()
    queue.retry_jobs(ids=[job.pk])
    stored = Job.objects.get(pk=job.pk)
    assert stored.status == "pending"
    assert stored.run_at <= timezone.now()
    assert stored.run_at >= before - timedelta(seconds=1)
    assert (stored.progress, stored.output, stored.locked_by) == (0, None, None)
    assert (stored.started_at, stored.failed_at) == (None, None)
    assert (stored.attempts, stored.errors) == (1, errors)


def test_retry_jobs_grows_max_attempts_only_when_used_up():
    used_up = queue.enqueue("x", max_attempts=3)
    set_status(used_up, "failed", attempts=3)
    room_left = queue.enqueue("x", max_attempts=3)
    set_status(room_left, "cancelled", attempts=1)
    assert queue.retry_jobs(job_type="x") == 2
    assert Job.objects.get(pk=used_up.pk).max_attempts == 4
    assert Job.objects.get(pk=room_left.pk).max_attempts == 3


def test_retry_jobs_writes_a_retried_event_per_job_with_the_actor():
    jobs = one_per_status()
    queue.retry_jobs(job_type="x", actor="ops")
    events = JobEvent.objects.filter(type=EventType.RETRIED)
    assert sorted(events.values_list("job_id", flat=True)) == sorted(
        jobs[s].pk for s in ("failed", "cancelled", "completed")
    )
    assert all(e.metadata == {"bulk": True, "actor": "ops"} for e in events)


def test_retry_jobs_works_through_several_chunks(settings):
    settings.QUEUEADMIN = {"BULK_CHUNK_SIZE": 3}
    jobs = queue.enqueue_many([{"job_type": "x"} for _ in range(10)])
    Job.objects.filter(pk__in=[j.pk for j in jobs]).update(status="failed")
    assert queue.retry_jobs(status="failed") == 10
    assert Job.objects.filter(status="pending").count() == 10
    assert JobEvent.objects.filter(type="retried").count() == 10


def test_retry_jobs_with_no_match_returns_zero():
    queue.enqueue("x")
    assert queue.retry_jobs(job_type="x") == 0
    assert not JobEvent.objects.filter(type="retried").exists()


# -- run_job_now -------------------------------------------------------------------------


def test_run_job_now_makes_a_scheduled_job_due():
    job = queue.enqueue("x", run_at=timezone.now() + timedelta(hours=3))
    returned = queue.run_job_now(job.pk, actor="ops")
    stored = Job.objects.get(pk=job.pk)
    assert stored.run_at <= timezone.now()
    assert stored.status == "pending"
    assert returned.run_at == stored.run_at
    event = JobEvent.objects.get(job=job, type=EventType.EDITED)
    assert event.metadata["actor"] == "ops"
    assert set(event.metadata["changes"]) == {"run_at"}


def test_run_job_now_cuts_a_retry_backoff_short():
    job = queue.enqueue("x", run_at=timezone.now() + timedelta(minutes=20))
    set_status(job, "pending", attempts=1)
    queue.run_job_now(job.pk)
    stored = Job.objects.get(pk=job.pk)
    assert stored.run_at <= timezone.now()
    assert stored.attempts == 1


@pytest.mark.parametrize("status", ["processing", "waiting", "completed", "failed", "cancelled"])
def test_run_job_now_refuses_a_job_that_is_not_pending(status):
    job = queue.enqueue("x", run_at=timezone.now() + timedelta(hours=3))
    set_status(job, status)
    before = Job.objects.filter(pk=job.pk).values().get()
    with pytest.raises(JobStateError, match=f"it is {status}"):
        queue.run_job_now(job.pk)
    assert Job.objects.filter(pk=job.pk).values().get() == before
    assert not JobEvent.objects.filter(job=job, type="edited").exists()


def test_run_job_now_of_a_missing_job_raises_job_not_found():
    with pytest.raises(JobNotFound):
        queue.run_job_now(424242)


# -- delete_job ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["pending", "waiting", "completed", "failed", "cancelled"])
def test_delete_job_removes_the_job_and_its_events(status):
    job = queue.enqueue("x")
    queue.edit_job(job.pk, priority=4)
    set_status(job, status)
    keep = queue.enqueue("x")
    queue.edit_job(keep.pk, priority=1)
    assert queue.delete_job(job.pk, actor="ops") is None
    assert not Job.objects.filter(pk=job.pk).exists()
    assert not JobEvent.objects.filter(job_id=job.pk).exists()
    assert JobEvent.objects.filter(job_id=keep.pk).exists()


def test_delete_job_refuses_a_processing_job():
    job = queue.enqueue("x")
    queue.edit_job(job.pk, priority=1)
    set_status(job, "processing")
    with pytest.raises(JobStateError, match=r"cannot delete job \d+: it is processing"):
        queue.delete_job(job.pk)
    assert Job.objects.filter(pk=job.pk).exists()
    assert JobEvent.objects.filter(job_id=job.pk).exists()


def test_delete_job_of_a_missing_job_raises_job_not_found():
    with pytest.raises(JobNotFound):
        queue.delete_job(424242)


# -- change_chunk ------------------------------------------------------------------------------


@pytest.fixture
def five(settings):
    settings.QUEUEADMIN = {"BULK_CHUNK_SIZE": 2}
    return [job.pk for job in queue.enqueue_many([{"job_type": "x"} for _ in range(5)])]


def test_change_chunk_walks_the_matches_a_chunk_at_a_time(five):
    filters = {"job_type": "x"}
    assert bulk.change_chunk("cancel", filters) == (2, five[1])
    assert bulk.change_chunk("cancel", filters, after_id=five[1]) == (2, five[3])
    assert bulk.change_chunk("cancel", filters, after_id=five[3]) == (1, five[4])
    assert bulk.change_chunk("cancel", filters, after_id=five[4]) == (0, None)
    assert Job.objects.filter(status="cancelled").count() == 5


def test_change_chunk_stops_at_up_to_id(five):
    filters = {"job_type": "x"}
    assert bulk.change_chunk("cancel", filters, up_to_id=five[2]) == (2, five[1])
    assert bulk.change_chunk("cancel", filters, after_id=five[1], up_to_id=five[2]) == (
        1,
        five[2],
    )
    assert bulk.change_chunk("cancel", filters, after_id=five[2], up_to_id=five[2]) == (0, None)
    after = statuses()
    assert [after[pk] for pk in five] == ["cancelled"] * 3 + ["pending"] * 2


def test_change_chunk_skips_jobs_the_action_does_not_allow(five):
    set_status(Job.objects.get(pk=five[0]), "completed")
    set_status(Job.objects.get(pk=five[1]), "failed")
    assert bulk.change_chunk("cancel", {"job_type": "x"}) == (2, five[3])
    after = statuses()
    assert [after[pk] for pk in five] == [
        "completed",
        "failed",
        "cancelled",
        "cancelled",
        "pending",
    ]


def test_change_chunk_writes_one_event_per_changed_job_with_the_actor(five):
    bulk.change_chunk("cancel", {"job_type": "x"}, actor="ops")
    events = JobEvent.objects.filter(type="cancelled").order_by("job_id")
    assert list(events.values_list("job_id", flat=True)) == five[:2]
    assert {tuple(sorted(e.metadata.items())) for e in events} == {
        (("actor", "ops"), ("bulk", True))
    }


def test_change_chunk_with_explicit_metadata_uses_it(five):
    bulk.change_chunk("cancel", {"ids": five[:1]}, metadata={"actor": "carol", "why": "test"})
    event = JobEvent.objects.get(type="cancelled")
    assert event.metadata == {"actor": "carol", "why": "test"}


def test_change_chunk_run_now_makes_pending_jobs_due(five):
    Job.objects.update(run_at=timezone.now() + timedelta(hours=1))
    assert bulk.change_chunk("run_now", {"ids": five[:2]}) == (2, five[1])
    due = Job.objects.filter(run_at__lte=timezone.now()).values_list("id", flat=True)
    assert sorted(due) == five[:2]
    assert JobEvent.objects.filter(type="edited").count() == 2


def test_change_chunk_retry_makes_finished_jobs_pending(five):
    Job.objects.update(status="failed", attempts=3, max_attempts=3)
    assert bulk.change_chunk("retry", {"ids": five}) == (2, five[1])
    stored = Job.objects.get(pk=five[0])
    assert (stored.status, stored.max_attempts) == ("pending", 4)


def test_change_chunk_with_an_unknown_action_raises_invalid_job_error(five):
    with pytest.raises(InvalidJobError, match="unknown bulk action 'explode'"):
        bulk.change_chunk("explode", {"job_type": "x"})
    with pytest.raises(InvalidJobError, match="unknown bulk action"):
        bulk.matching("explode", {"job_type": "x"})
    assert set(statuses().values()) == {"pending"}


def test_change_chunk_with_an_unknown_filter_raises_invalid_job_error(five):
    with pytest.raises(InvalidJobError, match="unknown filter"):
        bulk.change_chunk("cancel", {"colour": "red"})


def test_matching_counts_only_jobs_in_allowed_statuses():
    one_per_status()
    assert bulk.matching("cancel", {"job_type": "x"}).count() == 3
    assert bulk.matching("retry", {"job_type": "x"}).count() == 3
    assert bulk.matching("run_now", {"job_type": "x"}).count() == 1


def test_every_action_has_its_words():
    assert set(bulk.ACTIONS) == {"cancel", "retry", "run_now", "delete"}
    assert bulk.ACTIONS["cancel"].allowed == ("pending", "waiting", "processing")
    assert bulk.ACTIONS["retry"].allowed == ("completed", "failed", "cancelled")
    assert bulk.ACTIONS["run_now"].allowed == ("pending",)


def test_cancel_jobs_times_out_the_waiting_tokens_of_the_jobs_it_cancels():
    from core.durable import tokens

    job = queue.enqueue("x", queue="parked")
    other = queue.enqueue("x", queue="elsewhere")
    token = tokens.create_token(job.pk, timeout=60)
    kept = tokens.create_token(other.pk, timeout=60)
    assert queue.cancel_jobs(queue="parked") == 1
    assert tokens.get_token(token.pk).status == "timed_out"
    assert tokens.get_token(kept.pk).status == "waiting"
