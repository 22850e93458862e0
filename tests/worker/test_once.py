"""One batch: core.queue.run_once and runworker --once claim at most one batch, run it,
write its outcomes and return what they did."""

import pytest

from core import queue
from core.models import Job
from tests.processes.conftest import finish
from tests.workers import start_runworker

pytestmark = pytest.mark.django_db(transaction=True)


def statuses(jobs) -> list[str]:
    return [Job.objects.get(pk=job.pk).status for job in jobs]


def test_run_once_returns_the_counts_of_what_its_batch_did():
    done = [queue.enqueue("test.echo", {"n": n}) for n in range(2)]
    failed = queue.enqueue("test.fail", max_attempts=1)
    retried = queue.enqueue("test.fail_once", max_attempts=3, retry_delay=60)
    result = queue.run_once(concurrency=4)
    assert (result.claimed, result.completed, result.failed, result.retried) == (4, 2, 1, 1)
    assert sorted(result.ids) == sorted(j.pk for j in [*done, failed, retried])
    assert result.seconds > 0
    assert statuses([*done, failed, retried]) == ["completed", "completed", "failed", "pending"]


def test_run_once_claims_at_most_limit_jobs_and_leaves_the_rest_pending():
    jobs = [queue.enqueue("test.echo") for _ in range(5)]
    result = queue.run_once(limit=2)
    assert (result.claimed, result.completed) == (2, 2)
    assert statuses(jobs) == ["completed"] * 2 + ["pending"] * 3


def test_run_once_claims_one_batch_of_as_many_jobs_as_it_has_threads():
    jobs = [queue.enqueue("test.echo") for _ in range(5)]
    result = queue.run_once(concurrency=3)
    assert result.claimed == 3
    assert statuses(jobs).count("completed") == 3


def test_run_once_serves_only_the_queues_and_job_types_asked():
    other_queue = queue.enqueue("test.echo", queue="other")
    other_type = queue.enqueue("test.fail")
    mine = queue.enqueue("test.echo")
    result = queue.run_once(queues=["default"], job_types=["test.echo"])
    assert result.ids == [mine.pk]
    assert statuses([other_queue, other_type, mine]) == ["pending", "pending", "completed"]


def test_run_once_with_nothing_due_returns_an_empty_result():
    result = queue.run_once()
    assert (result.claimed, result.completed, result.ids) == (0, 0, [])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"limit": 0}, "limit"), ({"concurrency": "2"}, "concurrency"), ({"queues": "x"}, "queues")],
)
def test_run_once_rejects_bad_arguments_naming_the_field(kwargs, field):
    queue.enqueue("test.echo")
    with pytest.raises(ValueError, match=f"^{field}:"):
        queue.run_once(**kwargs)
    assert Job.objects.get().status == "pending"


def test_runworker_once_runs_one_batch_and_exits_0():
    jobs = [queue.enqueue("test.echo") for _ in range(5)]
    proc = start_runworker("--once", "--concurrency", "2", "--poll-interval", "0.05")
    assert finish(proc) == 0
    assert statuses(jobs) == ["completed"] * 2 + ["pending"] * 3


def test_runworker_once_prints_its_summary_line(tmp_path):
    queue.enqueue("test.echo")
    queue.enqueue("test.fail", max_attempts=1)
    log = (tmp_path / "out.log").open("w")
    proc = start_runworker("--once", "-v", "0", log=log)
    assert finish(proc) == 0
    log.close()
    out = (tmp_path / "out.log").read_text()
    assert "once: claimed=2 completed=1 failed=1 retried=0 parked=0 dropped=0 in " in out


def test_runworker_once_with_max_jobs_claims_at_most_that_many():
    jobs = [queue.enqueue("test.echo") for _ in range(4)]
    proc = start_runworker("--once", "--max-jobs", "1")
    assert finish(proc) == 0
    assert statuses(jobs) == ["completed"] + ["pending"] * 3


def test_runworker_once_with_nothing_to_do_exits_0_at_once():
    late = queue.enqueue("test.echo", queue="other")
    proc = start_runworker("--once")
    assert finish(proc, timeout=30) == 0
    assert statuses([late]) == ["pending"]
