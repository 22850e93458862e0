"""Waiting for a reply: ``queue.call`` and ``Job.wait`` against a real runworker."""

import pickle
import signal
import threading
import time

import pytest
from django.db import connection, transaction

from core import queue
from core.drivers import get_driver
from core.exceptions import JobCancelled, JobFailed, QueueError
from core.jobs import replies
from core.models import Job
from tests.processes.conftest import finish
from tests.workers import start_runworker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _waiting(job: Job) -> None:
    job.wait(timeout=10)
    connection.close()


@pytest.fixture
def runworker():
    proc = start_runworker()
    try:
        queue.call("test.echo", {"ready": True}, timeout=60)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        finish(proc)


def test_call_returns_the_output_of_the_job(runworker):
    assert queue.call("test.echo", {"answer": 42}, timeout=10) == {"answer": 42}


def test_call_raises_job_failed_with_the_last_error_of_the_job(runworker):
    with pytest.raises(JobFailed) as failed:
        queue.call("test.fail", {"message": "no stock"}, timeout=10, max_attempts=2, retry_delay=0)
    error = failed.value
    assert (error.job.status, error.message, error.type, error.attempt) == (
        "failed",
        "no stock",
        "ValueError",
        2,
    )
    assert "ValueError: no stock" in error.traceback
    assert "failed (attempt 2): ValueError: no stock" in str(error)


def test_call_raises_timeout_error_and_leaves_the_job_as_it_is():
    # No worker runs: the job stays pending.
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"still pending after 0\.3s"):
        queue.call("test.echo", {"n": 1}, timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 2
    assert Job.objects.get().status == "pending"


def test_call_raises_job_cancelled_when_the_job_is_cancelled_while_it_waits():
    def cancel_it():
        job = wait_for(lambda: Job.objects.filter(job_type="test.echo").first())
        queue.cancel_job(job.pk)

    canceller = threading.Thread(target=cancel_it)
    canceller.start()
    try:
        with pytest.raises(JobCancelled, match="was cancelled") as cancelled:
            queue.call("test.echo", timeout=10)
    finally:
        canceller.join()
    assert cancelled.value.job.status == "cancelled"


def test_call_inside_a_transaction_is_refused_and_enqueues_nothing():
    with transaction.atomic(), pytest.raises(QueueError, match=r"inside transaction\.atomic"):
        queue.call("test.echo", timeout=1)
    assert not Job.objects.exists()


def test_wait_raises_job_failed_for_a_failed_job(runworker):
    job = queue.enqueue("test.fail", max_attempts=1)
    with pytest.raises(JobFailed, match="boom"):
        job.wait(timeout=10)


def test_wait_without_raise_on_failure_returns_the_failed_job(runworker):
    job = queue.enqueue("test.fail", max_attempts=1)
    assert queue.wait(job.pk, timeout=10, raise_on_failure=False).status == "failed"


def _finish_later(job_id: int, delay: float) -> threading.Thread:
    """Complete the job from another connection after ``delay`` s, notifying it."""

    def run():
        time.sleep(delay)
        with transaction.atomic():
            Job.objects.filter(pk=job_id).update(status="completed", output="late")
            get_driver().notify_jobs([(job_id, "default", "completed", "completed")])
        connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_wait_wakes_on_the_notification_before_its_slow_poll(postgres_only):
    job = queue.enqueue("test.echo")
    thread = _finish_later(job.pk, 0.3)
    started = time.monotonic()
    assert job.wait(timeout=5).output == "late"
    thread.join()
    # The fallback looks once a second: back sooner means the notification woke it.
    assert time.monotonic() - started < replies.FALLBACK_POLL


def test_concurrent_waits_share_one_listener_connection(postgres_only):
    jobs = [queue.enqueue("test.echo") for _ in range(4)]
    waiters = [threading.Thread(target=_waiting, args=[job]) for job in jobs]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.5)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN queueadmin_events'"
        )
        listeners = cursor.fetchone()[0]
    threads = [_finish_later(job.pk, 0) for job in jobs]
    for thread in [*threads, *waiters]:
        thread.join()
    assert listeners == 1


def test_job_failed_survives_pickling_with_its_job_and_error(runworker):

    job = queue.enqueue("test.fail", {"message": "nope"}, max_attempts=1)
    with pytest.raises(JobFailed) as failed:
        job.wait(timeout=10)
    copy = pickle.loads(pickle.dumps(failed.value))
    assert (copy.job.pk, copy.message, str(copy)) == (job.pk, "nope", str(failed.value))
