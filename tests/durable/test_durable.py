"""Durable handlers: memoized steps, waits, tokens, defer, deadlines (both databases)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core import queue
from core.durable import waits
from core.exceptions import TokenNotFound
from core.models import Job, JobEvent, WaitToken
from tests.records import event_types
from tests.workers import BackgroundWorker, run_burst, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def log_lines(path):
    return path.read_text().split() if path.exists() else []


def fresh(job) -> Job:
    return Job.objects.get(pk=job.pk)


def test_three_step_handler_with_waits_runs_each_step_once(tmp_path):
    log = tmp_path / "log"
    job = queue.enqueue("test.three_steps", {"log": str(log)})
    run_burst()
    assert fresh(job).status == "waiting"
    assert log_lines(log) == ["one"]
    for _ in range(2):
        assert waits.wake_due() == [job.pk]
        run_burst()
    job = fresh(job)
    assert job.status == "completed"
    assert job.output == {"sum": 6}
    assert log_lines(log) == ["one", "two", "three"]
    assert job.step_data["one"] == 1
    assert job.step_data["three"] == 3


def test_a_wait_does_not_count_as_an_attempt(tmp_path):
    job = queue.enqueue("test.three_steps", {"log": str(tmp_path / "log")}, max_attempts=1)
    run_burst()
    assert (fresh(job).status, fresh(job).attempts) == ("waiting", 0)
    waits.wake_due()
    run_burst()
    waits.wake_due()
    run_burst()
    assert (fresh(job).status, fresh(job).attempts) == ("completed", 1)


def test_a_waiting_job_frees_its_worker_slot(tmp_path, settings):
    settings.QUEUEADMIN = {"MAINTENANCE_INTERVAL": 0.2}  # wake sleepers promptly
    log = tmp_path / "log"
    sleeper = queue.enqueue("test.three_steps", {"log": str(log), "wait": 1.5})
    with BackgroundWorker(concurrency=1, lease=0.6):
        wait_for(lambda: fresh(sleeper).status == "waiting")
        other = queue.enqueue("test.echo", {"n": 1})
        wait_for(lambda: fresh(other).status == "completed", timeout=10)
        assert fresh(sleeper).status == "waiting"  # the quick job ran while it slept
        wait_for(lambda: fresh(sleeper).status == "completed", timeout=20)
    assert log_lines(log) == ["one", "two", "three"]


def test_a_sleeping_job_wakes_by_itself_on_a_running_worker(tmp_path, settings):
    settings.QUEUEADMIN = {"MAINTENANCE_INTERVAL": 0.2}  # wake sleepers promptly
    job = queue.enqueue("test.three_steps", {"log": str(tmp_path / "log"), "wait": 0.3})
    with BackgroundWorker(lease=0.6):
        wait_for(lambda: fresh(job).status == "completed", timeout=20)
    assert event_types(job).count("resumed") == 2


def test_wait_event_records_when_the_job_wakes(tmp_path):
    job = queue.enqueue("test.three_steps", {"log": str(tmp_path / "log"), "wait": 600})
    before = timezone.now()
    run_burst()
    job = fresh(job)
    assert job.status == "waiting"
    assert before + timedelta(seconds=590) < job.wait_until < before + timedelta(seconds=610)
    assert waits.wake_due() == []  # not yet
    assert event_types(job)[-1] == "waiting"


def test_completing_a_token_wakes_the_job_with_its_data():
    job = queue.enqueue("test.approval", {})
    run_burst()
    job = fresh(job)
    assert job.status == "waiting"
    token = WaitToken.objects.get(job=job)
    assert job.wait_token == token.pk
    assert len(token.pk) >= 32
    assert token.tags == ["approval"]
    done = queue.complete_token(token.pk, {"approved": True})
    assert done.completed
    assert fresh(job).status == "pending"
    run_burst()
    job = fresh(job)
    assert job.status == "completed"
    assert job.output == {"ok": True, "output": {"approved": True}, "error": None}
    assert WaitToken.objects.count() == 1  # the re-run reused its token


def test_a_token_that_times_out_gives_ok_false():
    job = queue.enqueue("test.approval", {"timeout": 0.05})
    run_burst()
    token = WaitToken.objects.get(job=job)
    wait_for(lambda: timezone.now() > token.timeout_at)
    assert queue.expire_tokens() == 1
    run_burst()
    job = fresh(job)
    assert job.output == {"ok": False, "output": None, "error": "timed out"}
    assert queue.get_token(token.pk).status == "timed_out"


def test_completing_a_token_twice_is_harmless_and_says_so():
    job = queue.enqueue("test.approval", {})
    run_burst()
    token = WaitToken.objects.get(job=job)
    assert queue.complete_token(token.pk, 1).completed
    second = queue.complete_token(token.pk, 2)
    assert not second.completed
    assert second.token.output == 1
    run_burst()
    assert fresh(job).output["output"] == 1
    assert event_types(job).count("resumed") == 1


def test_a_token_completed_before_the_job_parks_lets_it_run_on():
    job = queue.enqueue("test.approval", {})
    run_burst()
    token = WaitToken.objects.get(job=job)
    # The job is parked; make it look as if completion raced the park.
    Job.objects.filter(pk=job.pk).update(status="processing", locked_by="w")
    queue.complete_token(token.pk, "early")
    from core.durable.waits import AwaitToken, park

    assert park(job.pk, "w", AwaitToken(token.pk), {"__token:1": token.pk})
    assert fresh(job).status == "pending"


def test_unknown_token_and_bad_data_are_clear_errors():
    with pytest.raises(TokenNotFound):
        queue.complete_token("nope", 1)
    job = queue.enqueue("test.approval", {})
    run_burst()
    token = WaitToken.objects.get(job=job)
    with pytest.raises(ValueError, match="data"):
        queue.complete_token(token.pk, {"x": object()})
    assert queue.get_token(token.pk).status == "waiting"


def test_defer_reruns_with_the_saved_state():
    job = queue.enqueue("test.defer", {"until": 3}, max_attempts=1)
    for _ in range(3):
        run_burst()
    job = fresh(job)
    assert job.status == "completed"
    assert job.output == {"count": 3}
    assert event_types(job).count("deferred") == 2
    assert job.attempts == 1


def test_a_duplicate_step_name_fails_the_attempt():
    job = queue.enqueue("test.duplicate_step", max_attempts=1)
    run_burst()
    job = fresh(job)
    assert job.status == "failed"
    assert job.errors[0]["type"] == "core.exceptions.StepError"
    assert "already ran" in job.errors[0]["message"]


def test_on_timeout_extends_the_deadline_once():
    job = queue.enqueue("test.extend", {"run": 0.6, "extra": 1.0}, timeout=0.3)
    run_burst()
    job = fresh(job)
    assert (job.status, job.output) == ("completed", "done")
    assert "prolonged" in event_types(job)


def test_on_timeout_returning_nothing_lets_the_job_time_out():
    job = queue.enqueue("test.extend", {"run": 0.6, "extra": 0}, timeout=0.2, max_attempts=1)
    run_burst()
    job = fresh(job)
    assert job.status == "failed"
    assert job.errors[0]["reason"] == "timeout"


def test_prolong_resets_the_deadline_and_is_recorded():
    job = queue.enqueue("test.prolong", {"run": 0.4}, timeout=0.3)
    run_burst()
    job = fresh(job)
    assert (job.status, job.output) == ("completed", "done")
    [event] = JobEvent.objects.filter(job_id=job.pk, type="prolonged")
    assert event.metadata["seconds"] == 0.4


def test_progress_and_output_are_visible_through_get_job(tmp_path):
    job = queue.enqueue("test.progress_steps", {"steps": 4, "pause": 0.05})
    run_burst()
    job = queue.get_job(job.pk)
    assert (job.status, job.progress) == ("completed", 100)


def test_defer_starts_the_next_run_without_stored_steps():
    job = queue.enqueue("test.defer", {"until": 2, "delay": 60})
    run_burst()
    job = fresh(job)
    assert (job.status, job.state, job.step_data) == ("pending", {"count": 1}, {})
    assert job.run_at > timezone.now() + timedelta(seconds=50)


def test_completing_an_overdue_token_times_it_out_instead():
    job = queue.enqueue("test.approval", {"timeout": 0.05})
    run_burst()
    token = WaitToken.objects.get(job=job)
    wait_for(lambda: timezone.now() > token.timeout_at)
    done = queue.complete_token(token.pk, "late")
    assert not done.completed
    assert queue.get_token(token.pk).status == "timed_out"
    run_burst()
    assert fresh(job).output["ok"] is False


def test_a_tokens_job_column_has_one_index():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, WaitToken._meta.db_table)
    on_job = [name for name, c in constraints.items() if c["index"] and c["columns"] == ["job_id"]]
    assert len(on_job) == 1, on_job
