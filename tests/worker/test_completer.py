"""The completer keeps every outcome while the database is away and writes it when it
answers; an outcome the database refuses for good becomes a failure of its attempt."""

import pytest
from django.db import DataError, OperationalError

from core import queue
from core.drivers import get_driver
from core.drivers.rows import Outcome
from core.models import Job
from core.worker import completer as completer_module
from core.worker.completer import Completer
from core.worker.executor import completed

pytestmark = pytest.mark.django_db(transaction=True)

#: The error of a failed attempt, as the executor records it.
ERROR = {"attempt": 1, "type": "ValueError", "message": "boom", "traceback": "", "reason": "error"}


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(completer_module.time, "sleep", lambda seconds: None)


def claimed(n: int):
    queue.enqueue_many([{"job_type": "test.echo"} for _ in range(n)])
    return get_driver().claim("w1", None, None, n, 30.0)


class FlakyDriver:
    """The real driver, whose finish fails ``failures`` times with ``error`` first (with
    ``only``: while the batch holds that job's completion)."""

    def __init__(self, failures: int, error: Exception, only=None) -> None:
        self.real = get_driver()
        self.failures, self.error, self.only = failures, error, only
        self.using = self.real.using

    def finish(self, worker_id, outcomes):
        hit = self.only is None or any(
            o.job_id == self.only and o.status == "completed" for o in outcomes
        )
        if hit and self.failures:
            self.failures -= 1
            raise self.error
        return self.real.finish(worker_id, outcomes)


def run(driver, jobs, outcomes) -> Completer:
    worker = Completer(driver, "w1")
    worker.start()
    for job, outcome in zip(jobs, outcomes, strict=True):
        worker.submit(outcome, job)
    worker.stop()
    return worker


def test_outcomes_are_written_once_the_database_answers_again():
    jobs = claimed(3)
    worker = run(FlakyDriver(20, OperationalError("server closed the connection")), jobs,
                 [completed(job, {"n": 1}) for job in jobs])  # fmt: skip
    assert Job.objects.filter(status="completed").count() == 3
    assert worker.counts["dropped"] == 0
    assert worker.pending_ids() == []


def test_an_unwritten_outcome_keeps_its_job_tracked():
    [job] = claimed(1)
    worker = Completer(FlakyDriver(10**9, OperationalError("down")), "w1")
    worker.start()
    worker.submit(completed(job, None), job)
    worker.flush(timeout=0.2)  # still failing: not written
    assert worker.pending_ids() == [job.id]
    assert worker.backlog == 1
    worker._stopping = True  # a stopping worker gives up after STOP_RETRY_SECONDS
    worker.driver.failures = 0
    worker.stop()
    assert worker.pending_ids() == []


def test_an_outcome_the_database_refuses_becomes_a_failure_of_its_attempt():
    good, bad = claimed(2)
    driver = FlakyDriver(10**9, DataError("value out of range"), only=bad.id)
    run(driver, [good, bad], [completed(good, 1), completed(bad, 2)])
    assert Job.objects.get(pk=good.id).status == "completed"
    refused = Job.objects.get(pk=bad.id)
    assert refused.status == "pending"  # a retry, like any failed attempt
    assert "the database refused the attempt's outcome" in refused.errors[0]["message"]


def test_one_poisoned_outcome_among_many_fails_alone_and_every_other_is_written():
    jobs = claimed(20)
    poisoned = jobs[7]
    outcomes = [completed(job, {"n": job.id}) for job in jobs]
    # A retry delay no database can add to a date: the batch's statement fails.
    outcomes[7] = Outcome(poisoned.id, "pending", "retried", error=ERROR, delay=1e300)
    worker = run(get_driver(), jobs, outcomes)
    others = Job.objects.exclude(pk=poisoned.id)
    assert set(others.values_list("status", flat=True)) == {"completed"}
    assert [job.output for job in others.order_by("id")] == [
        {"n": job.id} for job in jobs if job is not poisoned
    ]
    refused = Job.objects.get(pk=poisoned.id)
    assert (refused.status, refused.attempts) == ("pending", 1)  # a retry, on its own attempt
    assert "the database refused the attempt's outcome" in refused.errors[-1]["message"]
    assert worker.counts["dropped"] == 0
