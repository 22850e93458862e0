"""Job notifications: NOTIFY on queueadmin_events with the commit that makes them true
(PostgreSQL), none on SQLite."""

import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core import queue
from core.drivers import get_driver
from core.drivers.rows import Outcome
from core.durable import waits
from core.exceptions import InvalidJobError, NotificationsUnavailable
from core.jobs.removal import delete_with_history
from core.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://...")


class Received:
    """A dedicated LISTEN connection; ``take()`` returns what it received."""

    def __init__(self) -> None:
        self.conn = get_driver().listen_jobs()

    def take(self, count: int | None = None, timeout: float = 0.5) -> list[dict]:
        """The notifications received within ``timeout`` s (stop once ``count`` came)."""
        deadline, got = time.monotonic() + timeout, []
        while (left := deadline - time.monotonic()) > 0 and (count is None or len(got) < count):
            got += self.conn.events(left)
        return got


@pytest.fixture
def events(postgres):
    received = Received()
    yield received
    received.conn.close()


def processing(job_type="test.echo", queue_name="default", worker="w1", **fields):
    job = queue.enqueue(job_type, queue=queue_name)
    Job.objects.filter(pk=job.pk).update(
        status="processing", attempts=1, locked_by=worker, **fields
    )
    return job


def test_notify_jobs_sends_one_json_notification_per_job_at_commit(events):
    with transaction.atomic():
        get_driver().notify_jobs(
            [(1, "mail", "completed", "completed"), (2, 'a"b', "deleted", "deleted")]
        )
        assert events.take(timeout=0.2) == []  # not before the commit
    assert events.take(2) == [
        {"id": 1, "queue": "mail", "event": "completed", "status": "completed"},
        {"id": 2, "queue": 'a"b', "event": "deleted", "status": "deleted"},
    ]


def test_notify_jobs_in_a_rolled_back_transaction_sends_nothing(events):
    with transaction.atomic():
        get_driver().notify_jobs([(1, "default", "completed", "completed")])
        transaction.set_rollback(True)
    assert events.take(timeout=0.3) == []


def test_finished_outcomes_are_notified_with_their_new_status(events):
    done, failed, retried = processing(), processing(queue_name="q2"), processing()
    written = get_driver().finish(
        "w1",
        [
            Outcome(done.pk, "completed", "completed", output=1),
            Outcome(failed.pk, "failed", "failed", error={"message": "x"}),
            Outcome(retried.pk, "pending", "retried", error={"message": "y"}, delay=5),
        ],
    )
    assert sorted(written) == sorted([done.pk, failed.pk, retried.pk])
    got = {e["id"]: e for e in events.take(3)}
    assert got[done.pk] == {
        "id": done.pk,
        "queue": "default",
        "event": "completed",
        "status": "completed",
    }
    assert got[failed.pk] == {"id": failed.pk, "queue": "q2", "event": "failed", "status": "failed"}
    assert (got[retried.pk]["event"], got[retried.pk]["status"]) == ("retried", "pending")


def test_an_outcome_not_written_is_not_notified(events):
    job = processing(worker="someone-else")
    assert get_driver().finish("w1", [Outcome(job.pk, "completed", "completed")]) == []
    assert events.take(timeout=0.3) == []


def test_reclaim_notifies_jobs_it_fails_and_not_those_it_returns_to_pending(events):
    past = timezone.now() - timedelta(seconds=5)
    spent = processing(max_attempts=1, seen_running_at=past, locked_until=past)
    retry = processing(max_attempts=3, seen_running_at=past, locked_until=past)
    assert sorted(get_driver().reclaim_expired()) == sorted(
        [(spent.pk, "failed"), (retry.pk, "pending")]
    )
    assert events.take() == [
        {"id": spent.pk, "queue": "default", "event": "failed", "status": "failed"}
    ]


def test_cancel_job_notifies_cancelled(events):
    job = queue.enqueue("test.echo", queue="mail")
    queue.cancel_job(job.pk)
    assert events.take(1) == [
        {"id": job.pk, "queue": "mail", "event": "cancelled", "status": "cancelled"}
    ]


def test_delete_job_notifies_deleted(events):
    job = queue.enqueue("test.echo")
    queue.delete_job(job.pk)
    assert events.take(1) == [
        {"id": job.pk, "queue": "default", "event": "deleted", "status": "deleted"}
    ]


def test_retry_job_notifies_retried(events):
    job = queue.enqueue("test.echo")
    queue.cancel_job(job.pk)
    queue.retry_job(job.pk)
    assert [e["event"] for e in events.take(2)] == ["cancelled", "retried"]


def test_bulk_cancel_and_delete_notify_each_job(events):
    jobs = queue.enqueue_many([{"job_type": "test.echo", "queue": "bulk"} for _ in range(3)])
    ids = {job.pk for job in jobs}
    assert queue.cancel_jobs(queue="bulk") == 3
    assert queue.delete_jobs(queue="bulk") == 3
    got = events.take(6)
    assert {e["id"] for e in got if e["event"] == "cancelled"} == ids
    assert {e["id"] for e in got if e["event"] == "deleted"} == ids


def test_retention_pruning_deletes_without_notifying(events):
    job = queue.enqueue("test.echo")
    with transaction.atomic():
        assert delete_with_history([job.pk], kept=())["jobs"] == 1
    assert events.take(timeout=0.3) == []


def test_listen_keeps_only_the_events_and_queues_asked_for(postgres):
    with queue.listen(events=["cancelled"], queues=["mail"], timeout=1) as events:
        other = queue.enqueue("test.echo", queue="other")
        wanted = queue.enqueue("test.echo", queue="mail")
        queue.cancel_job(other.pk)
        queue.delete_job(wanted.pk)  # deleted: not asked for
        kept = queue.enqueue("test.echo", queue="mail")
        queue.cancel_job(kept.pk)
        assert [e["id"] for e in events] == [kept.pk]


def test_listen_ends_after_its_timeout(postgres):
    with queue.listen(timeout=0.2) as events:
        assert list(events) == []


def test_listen_rejects_an_unknown_event_name():
    with pytest.raises(InvalidJobError, match="events: unknown finished"):
        queue.listen(events=["finished"])


def test_listen_on_sqlite_says_it_has_no_notifications():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with pytest.raises(NotificationsUnavailable, match="need PostgreSQL"):
        queue.listen()


def test_notify_jobs_on_sqlite_does_nothing_and_changes_nothing():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    job = queue.enqueue("test.echo")
    get_driver().notify_jobs([(job.pk, "default", "completed", "completed")])
    assert Job.objects.get(pk=job.pk).status == "pending"


def test_a_deferred_run_notifies_deferred_with_the_job_pending(events):
    job = processing()
    assert waits.park(job.pk, "w1", waits.Defer(delay=60, state={"n": 1}), {})
    assert events.take(1) == [
        {"id": job.pk, "queue": "default", "event": "deferred", "status": "pending"}
    ]


def test_a_sleeping_run_is_not_notified(events):
    job = processing()
    until = timezone.now() + timedelta(minutes=5)
    assert waits.park(job.pk, "w1", waits.Sleep(until=until, key="nap"), {})
    assert events.take(timeout=0.3) == []
