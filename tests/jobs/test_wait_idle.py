"""core.queue.wait_idle: returns once nothing due is pending or running."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from core import queue
from tests.workers import BackgroundWorker

pytestmark = pytest.mark.django_db(transaction=True)


def test_wait_idle_returns_at_once_when_only_future_jobs_are_pending():
    queue.enqueue("test.echo", run_at=timezone.now() + timedelta(hours=1))
    started = time.monotonic()
    queue.wait_idle(timeout=5)
    assert time.monotonic() - started < 1


def test_wait_idle_raises_timeout_error_while_a_due_job_is_pending():
    queue.enqueue("test.echo")
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"1 jobs still due or running after 0\.3s"):
        queue.wait_idle(timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 2


def test_wait_idle_returns_once_a_worker_ran_every_due_job():
    jobs = [queue.enqueue("test.sleep", {"seconds": 0.2}) for _ in range(3)]
    with BackgroundWorker(concurrency=2):
        queue.wait_idle(timeout=20)
        statuses = {queue.get_job(job.id).status for job in jobs}
    assert statuses == {"completed"}


def test_wait_idle_counts_a_processing_job_as_busy():
    job = queue.enqueue("test.sleep", {"seconds": 1.0})
    with BackgroundWorker(concurrency=1):
        deadline = time.monotonic() + 10
        while queue.get_job(job.id).status != "processing" and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(TimeoutError):
            queue.wait_idle(timeout=0.1)
        queue.wait_idle(timeout=20)
    assert queue.get_job(job.id).status == "completed"


def test_wait_idle_ignores_queues_it_was_not_asked_about():
    queue.enqueue("test.echo", queue="other")
    queue.wait_idle(timeout=1, queues=["default"])
    with pytest.raises(TimeoutError, match="in queues other"):
        queue.wait_idle(timeout=0.1, queues=["other"])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timeout": -1}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"queues": "default"}, "queues"),
    ],
)
def test_wait_idle_rejects_bad_arguments_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        queue.wait_idle(**kwargs)
