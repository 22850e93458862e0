"""core.queue.dequeue: the application's own processing loop, in one process."""

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.utils import timezone

from core import queue
from core.drivers import get_driver
from core.exceptions import InvalidJobError, LockLost
from core.models import Job, JobEvent
from core.worker import dequeue as dequeue_module
from core.worker.heartbeat import Heartbeat
from tests.workers import run_burst

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def reclaim_at_once(monkeypatch):
    """Every dequeue reclaims expired leases (no per-process throttle in tests)."""
    monkeypatch.setattr(dequeue_module, "RECLAIM_EVERY", 0.0)


def events(job_id):
    return list(
        JobEvent.objects.filter(job_id=job_id).order_by("id").values_list("type", flat=True)
    )


def test_dequeue_returns_an_empty_list_when_nothing_is_due():
    queue.enqueue("x", delay=60)
    assert queue.dequeue() == []


def test_dequeue_leases_jobs_in_priority_order_up_to_the_limit():
    low = queue.enqueue("x", {"n": 1})
    high = queue.enqueue("x", {"n": 2}, priority=5)
    queue.enqueue("x", {"n": 3})
    jobs = queue.dequeue(limit=2, lock=60)
    assert [j.id for j in jobs] == [high.id, low.id]
    assert jobs[0].payload == {"n": 2}
    assert jobs[0].attempt == 1
    row = Job.objects.get(pk=high.id)
    assert row.status == "processing"
    assert row.locked_by == jobs[0].owner
    assert timedelta(seconds=55) < row.locked_until - timezone.now() <= timedelta(seconds=60)


def test_dequeue_serves_only_the_queue_asked_for():
    queue.enqueue("x", queue="mail")
    other = queue.enqueue("x", queue="sms")
    assert [j.id for j in queue.dequeue("sms")] == [other.id]
    assert queue.dequeue("sms") == []


def test_complete_writes_the_output_and_the_events():
    job = queue.enqueue("x")
    (leased,) = queue.dequeue()
    leased.complete({"ok": True})
    row = Job.objects.get(pk=job.id)
    assert (row.status, row.output, row.progress, row.locked_by) == (
        "completed",
        {"ok": True},
        100,
        None,
    )
    assert events(job.id) == ["processing", "completed"]


def test_fail_follows_the_retry_policy():
    job = queue.enqueue("x", max_attempts=2, retry_delay=30)
    (leased,) = queue.dequeue()
    assert leased.fail(ValueError("no stock")) == "pending"
    row = Job.objects.get(pk=job.id)
    assert row.status == "pending"
    assert row.errors[-1]["message"] == "no stock"
    assert row.errors[-1]["type"] == "ValueError"
    assert row.run_at > timezone.now() + timedelta(seconds=20)


def test_fail_with_retry_false_fails_for_good_and_adds_the_dead_letter():
    job = queue.enqueue("x", max_attempts=5, dead_letter_job_type="dead")
    (leased,) = queue.dequeue()
    assert leased.fail("gave up", retry=False) == "failed"
    assert Job.objects.get(pk=job.id).status == "failed"
    dead = Job.objects.get(job_type="dead")
    assert dead.payload["job_id"] == job.id
    assert dead.payload["error"]["message"] == "gave up"


def test_fail_with_retry_true_retries_a_job_whose_attempts_are_used_up():
    job = queue.enqueue("x", max_attempts=1, retry_delay=0)
    (leased,) = queue.dequeue()
    assert leased.fail("try again", retry=True) == "pending"
    row = Job.objects.get(pk=job.id)
    assert (row.status, row.max_attempts) == ("pending", 2)


def test_defer_gives_the_job_back_with_its_state_and_the_attempt_not_counted():
    job = queue.enqueue("x")
    (leased,) = queue.dequeue()
    leased.defer(0, state={"cursor": 10})
    row = Job.objects.get(pk=job.id)
    assert (row.status, row.attempts, row.state) == ("pending", 0, {"cursor": 10})
    (again,) = queue.dequeue()
    assert (again.id, again.state, again.attempt) == (job.id, {"cursor": 10}, 1)


def test_defer_takes_a_duration_string():
    job = queue.enqueue("x")
    (leased,) = queue.dequeue()
    leased.defer("15m")
    assert Job.objects.get(pk=job.id).run_at > timezone.now() + timedelta(minutes=14)


def test_heartbeat_renews_the_lease():
    job = queue.enqueue("x")
    (leased,) = queue.dequeue(lock=5)
    until = leased.heartbeat(lock="1h")
    assert until - timezone.now() > timedelta(minutes=59)
    assert Job.objects.get(pk=job.id).locked_until == until


def test_delete_removes_the_job_and_its_history():
    job = queue.enqueue("x")
    (leased,) = queue.dequeue()
    leased.delete()
    assert not Job.objects.filter(pk=job.id).exists()
    assert not JobEvent.objects.filter(job_id=job.id).exists()


def test_an_expired_lock_makes_the_job_available_again_with_the_attempt_counted():
    job = queue.enqueue("x", max_attempts=3)
    (first,) = queue.dequeue(lock=0.2)
    time.sleep(0.4)
    (second,) = queue.dequeue(lock=30)
    assert second.id == job.id
    assert second.attempt == 2
    row = Job.objects.get(pk=job.id)
    assert row.errors[-1]["reason"] == "worker_lost"
    assert "reclaimed" in events(job.id)
    with pytest.raises(LockLost, match="no longer leased"):
        first.complete()
    second.complete("done")
    assert Job.objects.get(pk=job.id).output == "done"


def test_an_expired_lock_on_the_last_attempt_fails_the_job():
    job = queue.enqueue("x", max_attempts=1)
    queue.dequeue(lock=0.1)
    time.sleep(0.3)
    assert queue.dequeue() == []
    assert Job.objects.get(pk=job.id).status == "failed"


def test_a_locked_job_is_not_handed_out_again():
    queue.enqueue("x")
    assert len(queue.dequeue(lock=30)) == 1
    assert queue.dequeue() == []


def test_a_finished_lease_refuses_a_second_outcome():
    queue.enqueue("x")
    (leased,) = queue.dequeue()
    leased.complete()
    with pytest.raises(LockLost, match="already completed"):
        leased.fail("late")


def test_a_cancelled_job_refuses_the_outcome():
    job = queue.enqueue("x")
    (leased,) = queue.dequeue()
    queue.cancel_job(job.id)
    with pytest.raises(LockLost, match="cancelled"):
        leased.complete()
    assert Job.objects.get(pk=job.id).status == "cancelled"


def test_dequeue_skips_a_paused_queue():
    queue.enqueue("x", queue="q")
    queue.pause_queue("q")
    assert queue.dequeue("q") == []
    queue.resume_queue("q")
    assert len(queue.dequeue("q")) == 1


def test_dequeue_keeps_the_queue_concurrency_limit():
    queue.set_queue_policy("q", max_concurrency=1)
    queue.enqueue_many([{"job_type": "x", "queue": "q"}] * 3)
    (first,) = queue.dequeue("q", limit=3)
    assert queue.dequeue("q") == []
    first.complete()
    assert len(queue.dequeue("q", limit=3)) == 1


def test_dequeue_keeps_the_queue_rate_limit():
    queue.set_queue_policy("q", rate_limit=2, rate_period=60)
    queue.enqueue_many([{"job_type": "x", "queue": "q"}] * 3)
    assert len(queue.dequeue("q", limit=3)) == 2
    assert queue.dequeue("q") == []


def test_dequeue_keeps_a_channel_release_interval():
    queue.set_channel_policy("tenant-a", release_interval=60)
    queue.enqueue_many([{"job_type": "x", "channel": "tenant-a"}] * 2)
    assert len(queue.dequeue(limit=2)) == 1
    assert queue.dequeue() == []


def test_dequeue_reads_channels_round_robin():
    queue.enqueue_many(
        [{"job_type": "x", "channel": "a"}] * 3 + [{"job_type": "x", "channel": "b"}] * 3
    )
    jobs = queue.dequeue(limit=2)
    assert sorted(j.channel for j in jobs) == ["a", "b"]


def test_dequeue_takes_only_the_channel_asked_for():
    queue.enqueue_many([{"job_type": "x", "channel": "a"}, {"job_type": "x", "channel": "b"}])
    queue.enqueue("x")
    jobs = queue.dequeue(channel="b", limit=5)
    assert [j.channel for j in jobs] == ["b"]


def test_dequeue_takes_only_the_channel_asked_for_under_a_channel_policy():
    queue.set_channel_policy("a", max_concurrency=5)
    queue.set_channel_policy("b", max_concurrency=5)
    queue.enqueue_many([{"job_type": "x", "channel": "a"}, {"job_type": "x", "channel": "b"}])
    jobs = queue.dequeue(channel="a", limit=5)
    assert [j.channel for j in jobs] == ["a"]


def test_the_job_lock_timeout_sets_the_lease_when_dequeue_gives_none():
    job = queue.enqueue("x", lock_timeout="2m")
    (leased,) = queue.dequeue()
    left = Job.objects.get(pk=job.id).locked_until - timezone.now()
    assert timedelta(seconds=100) < left <= timedelta(seconds=120)
    assert leased.locked_until == Job.objects.get(pk=job.id).locked_until


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": "5"}, "limit"),
        ({"lock": -1}, "lock"),
        ({"lock": "soon"}, "lock"),
        ({"queue": ""}, "queue"),
        ({"channel": 5}, "channel"),
        ({"job_types": []}, "job_types"),
    ],
)
def test_dequeue_refuses_bad_arguments(kwargs, message):
    queue.enqueue("x")
    with pytest.raises(InvalidJobError, match=message):
        queue.dequeue(**kwargs)
    assert Job.objects.get().status == "pending"


def test_dequeue_refuses_to_run_inside_a_transaction():
    with transaction.atomic(), pytest.raises(InvalidJobError, match="outside"):
        queue.dequeue()


def test_complete_refuses_output_that_is_not_json():
    job = queue.enqueue("x")
    (leased,) = queue.dequeue()
    with pytest.raises(InvalidJobError, match="output"):
        leased.complete({1, 2})
    assert Job.objects.get(pk=job.id).status == "processing"


def test_a_worker_gives_handlers_the_job_channel():
    job = queue.enqueue("test.channel", channel="tenant-7")
    run_burst()
    assert Job.objects.get(pk=job.id).output == {"channel": "tenant-7"}


def lease_left(job_id):
    return Job.objects.get(pk=job_id).locked_until - timezone.now()


def test_a_worker_claim_leases_a_job_for_its_own_lock_timeout():
    job = queue.enqueue("x", lock_timeout=5)
    other = queue.enqueue("x")
    get_driver().claim("w1", ["default"], None, 2, 60.0)
    assert timedelta(seconds=3) < lease_left(job.id) <= timedelta(seconds=5)
    assert timedelta(seconds=55) < lease_left(other.id) <= timedelta(seconds=60)


def test_a_worker_heartbeat_renews_a_job_for_its_own_lock_timeout():
    job = queue.enqueue("x", lock_timeout=5)
    driver = get_driver()
    driver.claim("w1", ["default"], None, 1, 60.0)
    Job.objects.filter(pk=job.id).update(locked_until=timezone.now())
    driver.heartbeat("w1", 60.0, [job.id])
    assert timedelta(seconds=3) < lease_left(job.id) <= timedelta(seconds=5)


def test_the_heartbeat_beats_within_a_third_of_the_shortest_job_lock():
    held = {1: SimpleNamespace(job=SimpleNamespace(lock_timeout=0.6))}
    beat = Heartbeat(SimpleNamespace(lease=30.0, held=held))
    assert beat.next_interval() == pytest.approx(0.2)
    held.clear()
    assert beat.next_interval() == 10.0


def test_the_dashboard_and_the_api_show_a_dequeued_job_like_any_other(staff_client):
    job = queue.enqueue("x")
    (leased,) = queue.dequeue()
    page = staff_client.get(f"/jobs/{job.id}/").content.decode()
    assert "processing" in page
    assert leased.owner in page
    leased.complete({"ok": 1})
    body = staff_client.get(f"/api/jobs/{job.id}").json()
    assert (body["status"], body["output"]) == ("completed", {"ok": 1})
    metrics = staff_client.get("/api/metrics").content.decode()
    assert 'queueadmin_jobs{queue="default",status="completed"} 1' in metrics
