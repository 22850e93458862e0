"""Job dependencies: held until all complete; cancelled, transitively, when one fails."""

import pytest

from core import queue
from core.exceptions import InvalidJobError
from core.jobs import dependencies
from core.models import Job, JobEvent
from tests.workers import run_burst

pytestmark = pytest.mark.django_db(transaction=True)


def status(job) -> str:
    return Job.objects.get(pk=job.pk).status


def last_event(job) -> JobEvent:
    return JobEvent.objects.filter(job_id=job.pk).order_by("-id").first()


def test_a_job_waits_until_all_its_dependencies_completed():
    a = queue.enqueue("test.echo", 1, run_at=None, delay=3600)
    b = queue.enqueue("test.echo", 2)
    child = queue.enqueue("test.echo", 3, depends_on=[a.pk, b.pk])
    assert status(child) == "waiting"
    run_burst()
    assert (status(b), status(child)) == ("completed", "waiting")  # a is not done yet
    queue.run_job_now(a.pk)
    run_burst()
    assert (status(a), status(child)) == ("completed", "completed")


def test_a_job_whose_dependencies_already_completed_is_pending_at_once():
    a = queue.enqueue("test.echo", 1)
    run_burst()
    child = queue.enqueue("test.echo", 2, depends_on=[a.pk])
    assert status(child) == "pending"


def test_a_failed_dependency_cancels_its_dependents_transitively():
    a = queue.enqueue("test.fail", max_attempts=1)
    b = queue.enqueue("test.echo", depends_on=[a.pk])
    c = queue.enqueue("test.echo", depends_on=[b.pk])
    run_burst()
    assert (status(a), status(b), status(c)) == ("failed", "cancelled", "cancelled")
    assert last_event(b).metadata["reason"] == f"dependency #{a.pk} failed"
    assert last_event(c).metadata["reason"] == f"dependency #{b.pk} cancelled"


def test_cancelling_a_dependency_cancels_its_dependents():
    a = queue.enqueue("test.echo", delay=3600)
    b = queue.enqueue("test.echo", depends_on=[a.pk])
    queue.cancel_job(a.pk)
    assert status(b) == "cancelled"


def test_bulk_cancel_cancels_dependents_too():
    a = queue.enqueue("test.echo", delay=3600, queue="q1")
    b = queue.enqueue("test.echo", depends_on=[a.pk], queue="q2")
    assert queue.cancel_jobs(queue="q1") == 1
    assert status(b) == "cancelled"


def test_depending_on_an_already_failed_job_is_cancelled_at_enqueue():
    a = queue.enqueue("test.fail", max_attempts=1)
    run_burst()
    b = queue.enqueue("test.echo", depends_on=[a.pk])
    assert b.status == "cancelled"
    assert status(b) == "cancelled"


def test_unknown_dependencies_are_rejected_and_nothing_is_written():
    with pytest.raises(InvalidJobError, match="depends_on: no job with id 999999"):
        queue.enqueue("test.echo", depends_on=[999999])
    assert Job.objects.count() == 0


def test_settle_without_held_jobs_changes_nothing():
    queue.enqueue("test.echo")
    assert dependencies.settle() == (0, 0)
    assert not dependencies.has_held()


def test_a_held_job_is_explained_on_its_page():
    from core.insights.explain import why_not_running

    a = queue.enqueue("test.echo", delay=3600)
    b = queue.enqueue("test.echo", depends_on=[a.pk])
    assert why_not_running(Job.objects.get(pk=b.pk)) == (
        f"It is waiting on job #{a.pk} to complete."
    )
