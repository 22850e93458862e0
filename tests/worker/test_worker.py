"""The worker engine, in-process: outcomes, retries, timeouts, ordering, batching."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from core import queue
from core.drivers import get_driver
from core.models import Job, JobEvent, Worker
from tests.records import event_types
from tests.workers import BackgroundWorker, run_burst, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_worker_completes_a_job_and_stores_its_output():
    job = queue.enqueue("test.echo", {"hello": "world"})
    run_burst()
    job.refresh_from_db()
    assert job.status == "completed"
    assert job.output == {"hello": "world"}
    assert (job.attempts, job.progress, job.locked_by, job.locked_until) == (1, 100, None, None)
    assert job.started_at <= job.completed_at
    assert event_types(job) == ["added", "processing", "completed"]


def test_worker_registers_itself_and_removes_its_row_at_exit():
    seen = []
    with BackgroundWorker(worker_id="w-test", queues=["q"], concurrency=3):
        seen.append(wait_for(lambda: Worker.objects.filter(id="w-test").first()))
    assert (seen[0].concurrency, seen[0].queues) == (3, ["q"])
    assert not Worker.objects.filter(id="w-test").exists()


def test_failed_attempt_is_retried_after_the_backoff_delay():
    job = queue.enqueue("test.fail", {"message": "boom"}, max_attempts=3, retry_delay=60)
    before = timezone.now()
    run_burst()
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("pending", 1)
    assert before + timedelta(seconds=54) <= job.run_at <= timezone.now() + timedelta(seconds=66)
    [error] = job.errors
    assert (error["type"], error["message"], error["reason"]) == (
        "ValueError",
        "boom",
        "handler_error",
    )
    assert error["attempt"] == 1
    assert "raise ValueError" in error["traceback"]
    assert event_types(job) == ["added", "processing", "retried"]


def test_job_fails_for_good_when_its_attempts_are_used_up():
    job = queue.enqueue("test.fail", max_attempts=2, retry_delay=0)
    run_burst()
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("failed", 2)
    assert [e["attempt"] for e in job.errors] == [1, 2]
    assert job.failed_at is not None
    assert event_types(job)[-1] == "failed"


def test_final_failure_enqueues_the_dead_letter_job():
    job = queue.enqueue(
        "test.fail", {"order": 7}, max_attempts=1, dead_letter_job_type="test.dead", queue="billing"
    )
    run_burst(queues=["billing"])
    dead = Job.objects.get(job_type="test.dead")
    assert dead.queue == "billing"
    assert dead.payload["job_id"] == job.pk
    assert dead.payload["payload"] == {"order": 7}
    assert dead.payload["attempts"] == 1
    assert dead.payload["error"] == {
        "type": "ValueError",
        "message": "boom",
        "reason": "handler_error",
    }


def test_unknown_job_type_fails_once_with_no_handler():
    job = queue.enqueue("nobody.handles.this", max_attempts=5, retry_delay=0)
    run_burst()
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.errors[0]["reason"] == "no_handler"
    assert "nobody.handles.this" in job.errors[0]["message"]


def test_output_that_is_not_json_fails_the_attempt():
    job = queue.enqueue("test.not_json", max_attempts=1)
    run_burst()
    job.refresh_from_db()
    assert job.status == "failed"
    assert "not JSON-serialisable" in job.errors[0]["message"]


def test_cooperative_timeout_sets_should_abort_and_fails_with_reason_timeout():
    job = queue.enqueue("test.cooperative", timeout=0.3, max_attempts=1)
    started = time.monotonic()
    run_burst()
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.errors[0]["reason"] == "timeout"
    assert time.monotonic() - started < 5


def test_handler_that_ignores_the_timeout_is_failed_at_the_deadline_and_replaced():
    stuck = queue.enqueue("test.sleep", {"seconds": 5}, timeout=0.3, max_attempts=1)
    after = queue.enqueue("test.echo", {"n": 2})
    started = time.monotonic()
    run_burst(concurrency=1, batch_size=1)
    elapsed = time.monotonic() - started
    stuck.refresh_from_db()
    after.refresh_from_db()
    assert stuck.status == "failed"
    assert stuck.errors[0]["reason"] == "timeout"
    assert after.status == "completed"  # the single slot was given to a new thread
    assert elapsed < 4


def test_force_kill_on_timeout_kills_a_busy_loop_in_a_child_process():
    job = queue.enqueue("test.busy", timeout=1, force_kill_on_timeout=True, max_attempts=1)
    after = queue.enqueue("test.echo", {"n": 2})
    run_burst(concurrency=1, batch_size=1)
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.errors[0]["reason"] == "timeout"
    assert Job.objects.get(pk=after.pk).status == "completed"


def test_force_kill_job_that_finishes_in_time_completes():
    job = queue.enqueue("test.echo", {"ok": 1}, timeout=30, force_kill_on_timeout=True)
    run_burst()
    job.refresh_from_db()
    assert (job.status, job.output) == ("completed", {"ok": 1})


def test_jobs_run_by_priority_then_run_at_then_id(tmp_path):
    log = tmp_path / "order.log"
    now = timezone.now()
    specs = [
        ("low", -5, now),
        ("high-late", 10, now - timedelta(seconds=1)),
        ("high-early", 10, now - timedelta(seconds=5)),
        ("mid-a", 0, now - timedelta(seconds=3)),
        ("mid-b", 0, now - timedelta(seconds=3)),
    ]
    jobs = {
        name: queue.enqueue("test.record", {"file": str(log)}, priority=p, run_at=at)
        for name, p, at in specs
    }
    run_burst(concurrency=1, batch_size=1)
    order = [int(line) for line in log.read_text().split()]
    names = {job.pk: name for name, job in jobs.items()}
    assert [names[i] for i in order] == ["high-early", "high-late", "mid-a", "mid-b", "low"]


def test_claim_respects_run_at_queues_and_job_types():
    later = queue.enqueue("test.echo", run_at=timezone.now() + timedelta(hours=1))
    other_queue = queue.enqueue("test.echo", queue="elsewhere")
    other_type = queue.enqueue("test.fail")
    wanted = queue.enqueue("test.echo", {"x": 1})
    run_burst(job_types=["test.echo"])
    statuses = dict(Job.objects.values_list("id", "status"))
    assert statuses[wanted.pk] == "completed"
    assert [statuses[j.pk] for j in (later, other_queue, other_type)] == ["pending"] * 3


def test_worker_serving_every_queue_takes_any_queue():
    a = queue.enqueue("test.echo", queue="a")
    b = queue.enqueue("test.echo", queue="b")
    run_burst(queues=None)
    assert set(Job.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True)) == {
        "completed"
    }


def test_claims_and_completions_are_batched(monkeypatch):
    queue.enqueue_many([{"job_type": "test.echo", "payload": i} for i in range(300)])
    driver = get_driver()
    calls = {"claim": 0, "finish": 0}
    for name in calls:
        real = getattr(type(driver), name)

        def spy(self, *args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(type(driver), name, spy)
    run_burst(concurrency=4, batch_size=100)
    assert Job.objects.filter(status="completed").count() == 300
    # Per-job claims would be ~300; batches of 100 refilled at half empty need
    # ~6-30, and a loaded machine (threads finishing unevenly) a few more.
    assert calls["claim"] <= 60
    assert calls["finish"] <= 60  # batches, never one statement per job


def test_set_progress_is_persisted():
    job = queue.enqueue("test.progress")
    run_burst()
    assert JobEvent.objects.filter(job=job, type="completed").exists()
    job.refresh_from_db()
    assert job.progress == 100  # completion sets 100; 40 was written while running


def test_cancelling_a_running_job_aborts_it_and_keeps_it_cancelled(tmp_path):
    marker = tmp_path / "started"
    job = queue.enqueue("test.cooperative", {"marker": str(marker)})
    with BackgroundWorker(lease=0.3):
        wait_for(marker.exists, message="handler start")
        queue.cancel_job(job.pk)
        wait_for(
            lambda: (
                not Job.objects.filter(pk=job.pk, locked_until__gt=timezone.now()).exists()
                or JobEvent.objects.filter(job=job, type="completed").exists() is False
            ),
            timeout=5,
        )
        time.sleep(0.5)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert "completed" not in event_types(job)


def test_wait_returns_the_finished_job_with_its_output():
    with BackgroundWorker():
        job = queue.enqueue("test.echo", {"answer": 42})
        finished = job.wait(timeout=10)
    assert finished.status == "completed"
    assert finished.output == {"answer": 42}


def test_wait_raises_timeout_error_when_the_job_does_not_finish():
    job = queue.enqueue("test.echo")
    with pytest.raises(TimeoutError, match=f"job {job.pk} is still pending"):
        queue.wait(job.pk, timeout=0.2)


def leased(max_attempts: int, lease_left: float, running: bool = True):
    """A job processing its first attempt, whose lease ends ``lease_left`` seconds from now;
    ``running``: its worker had reported its handler running."""
    job = queue.enqueue("test.echo", max_attempts=max_attempts)
    Job.objects.filter(pk=job.pk).update(
        status="processing",
        attempts=1,
        started_at=timezone.now(),
        seen_running_at=timezone.now() if running else None,
        locked_by="some-worker",
        locked_until=timezone.now() + timedelta(seconds=lease_left),
    )
    return job


def test_expired_lease_is_reclaimed_to_pending_with_the_attempt_counted():
    job = leased(max_attempts=3, lease_left=-1)
    assert get_driver().reclaim_expired() == [(job.pk, "pending")]
    job.refresh_from_db()
    assert (job.status, job.attempts, job.locked_by) == ("pending", 1, None)
    assert job.errors[0]["reason"] == "worker_lost"
    assert event_types(job)[-1] == "reclaimed"


def test_expired_lease_of_a_job_not_reported_running_gives_the_attempt_back():
    job = leased(max_attempts=1, lease_left=-1, running=False)
    assert get_driver().reclaim_expired() == [(job.pk, "pending")]
    job.refresh_from_db()
    assert (job.status, job.attempts, job.errors, job.lost_count) == ("pending", 0, [], 1)
    assert JobEvent.objects.filter(job=job).last().metadata["running"] is False


def test_expired_lease_with_attempts_used_up_fails_the_job():
    job = leased(max_attempts=1, lease_left=-1)
    assert get_driver().reclaim_expired() == [(job.pk, "failed")]
    assert Job.objects.get(pk=job.pk).status == "failed"


def test_live_lease_is_not_reclaimed():
    leased(max_attempts=3, lease_left=30)
    assert get_driver().reclaim_expired() == []


def test_heartbeat_keeps_a_long_job_leased_past_its_first_lease(tmp_path):
    marker = tmp_path / "started"
    job = queue.enqueue("test.sleep", {"seconds": 1.5, "marker": str(marker)})
    with BackgroundWorker(lease=0.4) as worker:
        wait_for(marker.exists)
        first = Job.objects.get(pk=job.pk).locked_until
        time.sleep(0.6)  # longer than the lease: only heartbeats keep it alive
        assert Job.objects.get(pk=job.pk).locked_until > first
        assert Job.objects.get(pk=job.pk).status == "processing"
        job.wait(timeout=10)
    job.refresh_from_db()
    assert job.status == "completed"
    assert "reclaimed" not in event_types(job)
    assert worker.completer.counts["completed"] == 1


def test_the_job_line_is_logged_once_its_outcome_is_written(caplog):
    job = queue.enqueue("test.echo", {"n": 1})
    with caplog.at_level("INFO", logger="queueadmin.worker.jobs"):
        run_burst()
    (line,) = [r.getMessage() for r in caplog.records if r.name == "queueadmin.worker.jobs"]
    assert line.startswith(f"job id={job.pk} type=test.echo queue=default attempt=1/3 ")
    assert "outcome=completed duration=" in line


def test_each_job_of_a_batch_gets_its_own_line_record_like_logger_info_makes(caplog):
    import logging

    from core.drivers.rows import ClaimedJob, Outcome
    from core.worker import completer

    batch = [
        (
            Outcome(n, "completed", "completed", seconds=0.5),
            ClaimedJob(n, "t", "q", None, 1, 3, 1.0, "fixed", 1.0, None, False, None),
        )
        for n in (7, 8, 9)
    ]
    with caplog.at_level("INFO", logger="queueadmin.worker.jobs"):
        completer._log(batch)
    records = [r for r in caplog.records if r.name == "queueadmin.worker.jobs"]
    assert [r.getMessage() for r in records] == [
        f"job id={n} type=t queue=q attempt=1/3 outcome=completed duration=0.500s"
        for n in (7, 8, 9)
    ]
    assert len({id(r) for r in records}) == 3
    assert {(r.levelno, r.funcName, r.module) for r in records} == {
        (logging.INFO, "_log", "completer")
    }


def test_the_worker_log_formatter_writes_the_standard_line():
    import logging

    from core.management.commands.runworker import _LineFormatter

    text = "%(asctime)s %(levelname)s %(name)s %(message)s"
    fast = _LineFormatter(text)  # one instance: its date of the second is reused
    record = logging.LogRecord("queueadmin.worker.jobs", logging.INFO, "", 0, "job", (), None)
    for created in (1_796_000_000.123, 1_796_000_000.987, 1_796_000_001.5):
        record.created, record.msecs = created, (created % 1) * 1000
        assert fast.format(record) == logging.Formatter(text).format(record)
