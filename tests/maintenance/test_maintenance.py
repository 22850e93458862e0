"""Maintenance tasks: each does its job, one worker at a time, on its interval."""

import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import maintenance, queue
from core.maintenance import locks
from core.maintenance import runner as maintenance_runner
from core.maintenance.base import Task, TaskRun, done
from core.models import Job, JobEvent, MaintenanceTask, WaitToken, Worker
from tests.maintenance.conftest import run_task
from tests.workers import BackgroundWorker, wait_for

pytestmark = pytest.mark.django_db

FREQUENT = {"reclaim", "wake", "expire_tokens"}
ALL = FREQUENT | {"prune_jobs", "prune_events", "prune_workers", "prune_streams", "cron", "rollup"}


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def finished(status: str, days: float, **fields) -> Job:
    """A job that reached ``status`` ``days`` ago (with the event saying so)."""
    job = queue.enqueue("test.echo", **fields)
    stamp = {"completed": "completed_at", "cancelled": "cancelled_at", "failed": "failed_at"}
    Job.objects.filter(pk=job.pk).update(status=status, **{stamp[status]: days_ago(days)})
    JobEvent.objects.create(job=job, type=status)
    return job


# -- each task does its job ---------------------------------------------------------


def test_reclaim_returns_a_job_with_an_expired_lease_to_pending():
    job = queue.enqueue("test.echo")
    Job.objects.filter(pk=job.pk).update(
        status="processing",
        attempts=1,
        locked_by="dead-worker",
        locked_until=timezone.now() - timedelta(seconds=1),
    )
    result = run_task("reclaim")
    assert result.ok
    assert result.counts == {"pending": 1, "failed": 0}
    assert str(result).startswith("reclaimed 1 job (1 pending again, 0 failed) (")
    job.refresh_from_db()
    assert (job.status, job.locked_by) == ("pending", None)
    assert JobEvent.objects.filter(job=job, type="reclaimed").exists()


def test_wake_makes_a_due_sleeper_pending_and_releases_a_settled_dependent():
    sleeper = queue.enqueue("test.echo")
    Job.objects.filter(pk=sleeper.pk).update(
        status="waiting", wait_until=timezone.now() - timedelta(seconds=1)
    )
    parent = queue.enqueue("test.echo")
    child = queue.enqueue("test.echo", depends_on=[parent.pk])
    assert Job.objects.get(pk=child.pk).status == "waiting"
    Job.objects.filter(pk=parent.pk).update(status="completed", completed_at=timezone.now())
    result = run_task("wake")
    assert result.counts == {"woken": 1, "released": 1, "cancelled": 0}
    assert Job.objects.get(pk=sleeper.pk).status == "pending"
    assert Job.objects.get(pk=child.pk).status == "pending"


def test_expire_tokens_times_out_a_token_and_wakes_its_job():
    job = queue.enqueue("test.echo")
    token = queue.create_token(job.pk, timeout=60)
    WaitToken.objects.filter(pk=token.pk).update(timeout_at=timezone.now() - timedelta(seconds=1))
    Job.objects.filter(pk=job.pk).update(status="waiting", wait_token=token.pk)
    result = run_task("expire_tokens")
    assert (result.counts, result.summary) == ({"tokens": 1}, "timed out 1 token")
    assert WaitToken.objects.get(pk=token.pk).status == "timed_out"
    assert Job.objects.get(pk=job.pk).status == "pending"


def test_prune_jobs_deletes_old_finished_jobs_with_their_events_and_tokens():
    old_completed = finished("completed", 8)
    old_cancelled = finished("cancelled", 8)
    old_failed = finished("failed", 31)
    queue.create_token(old_completed.pk)
    keep = [
        finished("completed", 6),  # not a week old
        finished("failed", 8),  # failed jobs stay 30 days
        queue.enqueue("test.echo", delay=0),  # pending, however old
    ]
    Job.objects.filter(pk=keep[2].pk).update(created_at=days_ago(60), run_at=days_ago(60))
    result = run_task("prune_jobs")
    assert result.counts == {"jobs": 3, "events": 3, "tokens": 1}
    assert result.summary == "deleted 3 jobs, 3 events, 1 token"
    gone = [old_completed.pk, old_cancelled.pk, old_failed.pk]
    assert not Job.objects.filter(pk__in=gone).exists()
    assert not JobEvent.objects.filter(job_id__in=gone).exists()
    assert not WaitToken.objects.exists()
    assert set(Job.objects.values_list("pk", flat=True)) == {job.pk for job in keep}
    assert JobEvent.objects.filter(job_id__in=[job.pk for job in keep]).count() == 2


def test_prune_jobs_honours_its_settings(settings):
    settings.QUEUEADMIN = {
        **settings.QUEUEADMIN,
        "PRUNE_COMPLETED_AFTER": 3600,
        "PRUNE_FAILED_AFTER": None,  # never
    }
    recent = finished("completed", 0.1)  # 2.4 hours
    failed = finished("failed", 365)
    assert run_task("prune_jobs").counts["jobs"] == 1
    assert not Job.objects.filter(pk=recent.pk).exists()
    assert Job.objects.filter(pk=failed.pk).exists()


def test_prune_jobs_keeps_a_finished_job_that_a_held_job_depends_on():
    parent = finished("completed", 8)
    blocker = queue.enqueue("test.echo")
    child = queue.enqueue("test.echo", depends_on=[parent.pk, blocker.pk])
    assert Job.objects.get(pk=child.pk).status == "waiting"
    assert run_task("prune_jobs").counts["jobs"] == 0
    Job.objects.filter(pk=blocker.pk).update(status="completed", completed_at=timezone.now())
    run_task("wake")
    assert Job.objects.get(pk=child.pk).status == "pending"
    assert run_task("prune_jobs").counts["jobs"] == 1  # nobody holds on to it any more


def test_prune_jobs_deletes_in_chunks_without_loading_events(chunk_of_3):
    jobs = [finished("completed", 8) for _ in range(10)]
    with CaptureQueriesContext(connection) as ctx:
        result = run_task("prune_jobs")
    assert result.counts["jobs"] == 10
    statements = [q["sql"] for q in ctx.captured_queries]
    job_deletes = [sql for sql in statements if sql.startswith('DELETE FROM "queueadmin_job" ')]
    assert len(job_deletes) == 4  # 3 + 3 + 3 + 1
    assert not any(sql.startswith('SELECT "queueadmin_jobevent"') for sql in statements)
    assert not Job.objects.filter(pk__in=[job.pk for job in jobs]).exists()


def test_prune_jobs_stops_at_the_time_limit_and_the_next_run_goes_on(chunk_of_3):
    for _ in range(10):
        finished("completed", 8)
    now = timezone.now()
    results = maintenance.run_due("tester", now, time_limit=0)
    assert results["prune_jobs"].counts["jobs"] == 3  # one chunk, then out of time
    assert "time limit" in results["prune_jobs"].summary
    maintenance.run_due("tester", now + timedelta(seconds=60), time_limit=60)
    assert not Job.objects.exists()


def test_prune_workers_deletes_dead_worker_rows_only():
    def worker(name: str, heartbeat):
        return Worker.objects.create(
            id=name, host="h", pid=1, concurrency=1, started_at=heartbeat, heartbeat_at=heartbeat
        )

    worker("dead", days_ago(2))
    worker("live", timezone.now())
    worker("stale-but-recent", timezone.now() - timedelta(hours=1))
    result = run_task("prune_workers")
    assert result.counts == {"workers": 1, "died": 2}  # both stale; only "dead" for long
    assert result.summary == "deleted 1 worker row, 2 workers gone stale"
    assert set(Worker.objects.values_list("id", flat=True)) == {"live", "stale-but-recent"}


# -- one runner at a time, on the interval ------------------------------------------


def test_a_held_task_cannot_be_claimed_by_another_worker():
    now = timezone.now()
    locks.rows(["reclaim"])
    assert locks.claim("reclaim", "worker-a", now, interval=5)
    assert not locks.claim("reclaim", "worker-b", now, interval=5)
    assert not locks.claim("reclaim", "worker-b", now, interval=None)  # not even forced
    assert "reclaim" not in maintenance.run_due("worker-b", now)
    assert maintenance.run_all("worker-b", ["reclaim"])["reclaim"].skipped
    row = MaintenanceTask.objects.get(name="reclaim")
    assert (row.locked_by, row.last_run_at) == ("worker-a", None)


def test_the_lock_of_a_worker_that_died_mid_run_runs_out():
    long_ago = timezone.now() - timedelta(minutes=5)
    locks.rows(["reclaim"])
    assert locks.claim("reclaim", "died", long_ago, interval=5)  # held for a while from then
    assert "reclaim" in maintenance.run_due("survivor")
    row = MaintenanceTask.objects.get(name="reclaim")
    assert (row.locked_by, row.locked_until) == (None, None)


def test_a_long_run_renews_its_lock_between_chunks():
    long_ago = timezone.now() - timedelta(minutes=5)
    locks.rows(["prune_jobs"])
    assert locks.claim("prune_jobs", "slow-worker", long_ago, interval=None)
    run = TaskRun(name="prune_jobs", worker_id="slow-worker", now=long_ago)
    run.keep_lock()  # renewed just now: nothing to do yet
    assert MaintenanceTask.objects.get(name="prune_jobs").locked_until < timezone.now()
    run._renewed -= locks.lock_seconds() / 3  # a third of the lock has gone by
    run.keep_lock()
    until = MaintenanceTask.objects.get(name="prune_jobs").locked_until
    assert until > timezone.now() + timedelta(seconds=locks.lock_seconds() - 1)


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_run_a_task_once(monkeypatch):
    calls = []

    def slow(run):
        calls.append(run.worker_id)
        time.sleep(0.3)
        return done("slept", naps=1)

    task = Task(name="slow", interval_setting="PRUNE_INTERVAL", run=slow, description="")
    monkeypatch.setattr(maintenance_runner, "TASKS", {"slow": task})
    barrier = threading.Barrier(2)
    results: dict[str, dict] = {}

    def worker(worker_id: str) -> None:
        try:
            barrier.wait()
            results[worker_id] = maintenance.run_due(worker_id)
        finally:
            connections.close_all()  # each thread has its own connection

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(calls) == 1
    assert sorted(len(r) for r in results.values()) == [0, 1]
    row = MaintenanceTask.objects.get(name="slow")
    assert (row.locked_by, row.last_result["summary"]) == (None, "slept")


def test_intervals_are_respected():
    t0 = timezone.now()
    assert set(maintenance.run_due("w", t0)) == ALL
    assert maintenance.run_due("w", t0 + timedelta(seconds=0.5)) == {}
    assert set(maintenance.run_due("w", t0 + timedelta(seconds=1))) == {"cron"}  # CRON_INTERVAL
    assert set(maintenance.run_due("w", t0 + timedelta(seconds=5))) == FREQUENT | {"cron"}
    assert set(maintenance.run_due("w", t0 + timedelta(seconds=60))) == ALL
    row = MaintenanceTask.objects.get(name="prune_jobs")
    assert row.last_run_at == t0 + timedelta(seconds=60)
    assert row.last_result["ok"] is True


def test_intervals_follow_the_settings(settings):
    settings.QUEUEADMIN = {
        **settings.QUEUEADMIN,
        "MAINTENANCE_INTERVAL": 30,
        "CRON_INTERVAL": 45,
        "STATS_ROLLUP_INTERVAL": 60,
    }
    t0 = timezone.now()
    maintenance.run_due("w", t0)
    assert maintenance.run_due("w", t0 + timedelta(seconds=29)) == {}
    assert set(maintenance.run_due("w", t0 + timedelta(seconds=30))) == FREQUENT


def test_a_failing_task_is_recorded_and_released_and_the_others_still_run(monkeypatch):
    def broken(run):
        with connection.cursor() as cursor:  # a database error, inside any transaction
            cursor.execute("SELECT * FROM no_such_table")

    task = Task(name="reclaim", interval_setting="MAINTENANCE_INTERVAL", run=broken, description="")
    monkeypatch.setitem(maintenance_runner.TASKS, "reclaim", task)
    results = maintenance.run_due("w")
    assert not results["reclaim"].ok
    assert "no_such_table" in results["reclaim"].summary
    assert all(results[name].ok for name in ALL - {"reclaim"})
    row = MaintenanceTask.objects.get(name="reclaim")
    assert (row.locked_by, row.locked_until) == (None, None)
    assert row.last_result["ok"] is False
    assert row.last_run_at is not None  # it waits its interval like any run


@pytest.mark.django_db(transaction=True)
def test_workers_run_the_tasks_from_their_heartbeat():
    job = queue.enqueue("test.echo", queue="elsewhere")
    Job.objects.filter(pk=job.pk).update(
        status="processing", attempts=1, locked_by="gone", locked_until=timezone.now()
    )
    with BackgroundWorker(lease=0.3):
        wait_for(lambda: Job.objects.get(pk=job.pk).status == "pending", timeout=10)
        wait_for(
            lambda: (
                MaintenanceTask.objects.filter(last_run_at__isnull=False).count()
                == len(maintenance.TASKS)
            )
        )
    assert not MaintenanceTask.objects.filter(locked_by__isnull=False).exists()


# -- the command and the admin ----------------------------------------------------------


def test_the_command_prints_one_line_per_task():
    finished("completed", 8)
    out = StringIO()
    call_command("queue_maintenance", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == list(maintenance.TASKS)
    assert lines[3].startswith("prune_jobs: deleted 1 job, 1 event, 0 tokens (")
    assert lines[3].endswith(" s)")


def test_the_command_runs_only_the_named_tasks_and_skips_held_ones():
    locks.rows(["reclaim"])
    locks.claim("reclaim", "busy-worker", timezone.now(), interval=None)
    out = StringIO()
    call_command("queue_maintenance", "--task", "wake", "--task", "reclaim", stdout=out)
    assert out.getvalue().splitlines() == [
        "reclaim: skipped: worker busy-worker is running it",
        "wake: woke 0 sleeping jobs; released 0 and cancelled 0 held for dependencies (0.0 s)",
    ]


def test_the_command_refuses_an_unknown_task():
    with pytest.raises(CommandError, match="invalid choice: 'vacuum'"):
        call_command("queue_maintenance", "--task", "vacuum")


def test_the_command_fails_when_a_task_fails(monkeypatch):
    def broken(run):
        raise RuntimeError("boom")

    task = Task(name="wake", interval_setting="MAINTENANCE_INTERVAL", run=broken, description="")
    monkeypatch.setitem(maintenance_runner.TASKS, "wake", task)
    out = StringIO()
    with pytest.raises(CommandError, match="failed: wake"):
        call_command("queue_maintenance", stdout=out)
    assert "wake: failed: RuntimeError: boom (" in out.getvalue()


def test_the_admin_lists_the_tasks_read_only(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-ops-123")
    client.force_login(user)
    maintenance.run_all("admin-test")
    html = client.get(reverse("admin:queueadmin_maintenancetask_changelist")).content.decode()
    for name in maintenance.TASKS:
        assert name in html
    assert "deleted 0 worker rows (" in html
    assert "Add maintenance task" not in html
