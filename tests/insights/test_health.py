"""The health checks (core.insights.health): each one passing and failing."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.insights import heads as heads_module
from core.insights import health
from core.insights.heads import queue_heads
from core.models import MaintenanceTask, Queue, WorkerState
from tests.health import INTERVALS, add_worker, due_job, healthy, maintenance_ran

pytestmark = pytest.mark.django_db


def checks() -> dict[str, health.Check]:
    return {check.name: check for check in health.run(INTERVALS).checks}


def test_every_check_passes_on_a_healthy_queue():
    healthy()
    due_job("default")
    report = health.run(INTERVALS)
    assert [c.name for c in report.checks] == list(health.NAMES)
    assert report.ok, [c.message for c in report.checks if not c.ok]


# database


def test_the_database_check_reports_its_round_trip():
    check = health.check_database()
    assert check.ok
    assert check.numbers["ms"] >= 0
    assert check.message.startswith("reachable (")


def test_an_unreachable_database_fails_and_skips_the_other_checks(monkeypatch):
    def refuse():
        raise ConnectionError("connection to db.internal:5432 refused")

    monkeypatch.setattr(connection, "ensure_connection", refuse)
    report = health.run(INTERVALS)
    assert not report.ok
    database, *others = report.checks
    assert database.message == "unreachable (ConnectionError)"
    assert "db.internal" not in str(report.as_json())
    assert all(not c.ok and c.message == "skipped: no database" for c in others)


# migrations


def test_the_migrations_check_passes_when_all_are_applied():
    check = health.check_migrations()
    assert check.ok
    assert check.numbers == {"unapplied": 0}


def test_an_unapplied_migration_fails_the_migrations_check(monkeypatch):
    on_disk = {**health._migrations_on_disk(), "9999_future": ()}
    monkeypatch.setattr(health, "_migrations_on_disk", lambda: on_disk)
    check = health.check_migrations()
    assert not check.ok
    assert check.numbers == {"unapplied": 1}
    assert "9999_future" in check.message


def test_a_squashed_migration_counts_as_applied_when_what_it_replaces_is(monkeypatch):
    applied = dict(health._migrations_on_disk())
    monkeypatch.setattr(
        health, "_migrations_on_disk", lambda: {**applied, "0001_squashed": tuple(applied)}
    )
    assert health.check_migrations().ok


def test_the_migrations_on_disk_are_read_once():
    health._migrations_on_disk.cache_clear()
    health.check_migrations()
    health.check_migrations()
    assert health._migrations_on_disk.cache_info().misses == 1


# workers


def test_no_live_worker_fails_the_workers_check():
    maintenance_ran()
    add_worker("gone", heartbeat_age=3600)
    check = checks()["workers"]
    assert not check.ok
    assert check.message == "no live worker"
    assert check.numbers["live_workers"] == 0


def test_a_queue_with_pending_jobs_and_no_worker_for_it_fails():
    add_worker(queues=["default"])
    due_job("emails")
    check = checks()["workers"]
    assert not check.ok
    assert check.message == "no live worker serves emails"
    assert check.numbers == {"queues": 1, "unserved": 1, "live_workers": 1}


def test_a_queue_row_without_pending_jobs_still_needs_a_worker():
    add_worker(queues=["default"])
    Queue.objects.create(name="reports")
    check = checks()["workers"]
    assert not check.ok
    assert "reports" in check.message


def test_a_queue_whose_jobs_are_all_scheduled_later_still_needs_a_worker():
    add_worker(queues=["default"])
    due_job("later", waited=-3600)
    assert "later" in checks()["workers"].message


def test_a_worker_for_the_queue_or_for_every_queue_serves_it():
    add_worker("a", queues=["emails"])
    add_worker("b", queues=["*"])
    due_job("emails")
    due_job("other")
    check = checks()["workers"]
    assert check.ok
    assert check.numbers == {"queues": 2, "unserved": 0, "live_workers": 2}


def test_a_quiet_worker_serves_no_queue():
    add_worker(state=WorkerState.QUIET)
    due_job("default")
    assert not checks()["workers"].ok


def test_a_worker_for_other_job_types_does_not_serve_the_queue():
    add_worker(job_types=["other.type"])
    due_job("default", job_type="test.echo")
    assert not checks()["workers"].ok


def test_a_worker_for_the_next_jobs_type_serves_the_queue():
    add_worker(job_types=["test.echo"])
    due_job("default", job_type="test.echo")
    assert checks()["workers"].ok


def test_channel_jobs_make_their_queue_served():
    add_worker(queues=["default"])
    due_job("tenants", channel="tenant-7")
    assert "tenants" in checks()["workers"].message


def test_a_paused_queue_needs_no_worker():
    add_worker(queues=["default"])
    Queue.objects.create(name="reports", paused=True)
    due_job("reports")
    assert checks()["workers"].ok


# pending


def test_no_due_job_passes_the_pending_check():
    due_job("default", waited=-60)
    check = checks()["pending"]
    assert check.ok
    assert check.message == "no due pending job"
    assert check.numbers["due_queues"] == 0


def test_a_job_due_for_longer_than_the_threshold_fails(settings):
    settings.QUEUEADMIN = {"HEALTH_MAX_PENDING_AGE": 60}
    due_job("emails", waited=120)
    check = checks()["pending"]
    assert not check.ok
    assert check.numbers["max_age_seconds"] == 60
    assert 120 <= check.numbers["age_seconds"] < 130
    assert "emails" in check.message


def test_a_job_due_for_less_than_the_threshold_passes(settings):
    settings.QUEUEADMIN = {"HEALTH_MAX_PENDING_AGE": 600}
    due_job("emails", waited=120)
    assert checks()["pending"].ok


def test_the_age_is_the_next_job_in_claim_order_not_an_older_lower_priority_one():
    due_job("default", waited=1000, priority=-5)
    due_job("default", waited=10, priority=5)
    age = checks()["pending"].numbers["age_seconds"]
    assert 10 <= age < 20


def test_the_jobs_of_a_paused_queue_wait_on_purpose(settings):
    settings.QUEUEADMIN = {"HEALTH_MAX_PENDING_AGE": 60}
    Queue.objects.create(name="reports", paused=True)
    due_job("reports", waited=3600)
    check = checks()["pending"]
    assert check.ok
    assert check.numbers["due_queues"] == 0


def test_the_oldest_queue_decides():
    due_job("a", waited=10)
    due_job("b", waited=500)
    check = checks()["pending"]
    assert check.numbers["due_queues"] == 2
    assert check.numbers["age_seconds"] >= 500


def test_a_due_channel_job_counts_for_its_queue():
    due_job("tenants", waited=900, channel="tenant-7")
    check = checks()["pending"]
    assert not check.ok
    assert "tenants" in check.message


# maintenance


def test_maintenance_never_run_fails():
    check = checks()["maintenance"]
    assert not check.ok
    assert check.numbers["late"] == len(INTERVALS)


def test_maintenance_run_recently_passes():
    maintenance_ran()
    check = checks()["maintenance"]
    assert check.ok
    assert check.numbers["late"] == 0


def test_a_task_late_by_more_than_its_interval_and_the_stale_time_fails():
    maintenance_ran()
    name = "prune_jobs"
    late = INTERVALS[name] + health.stale_after() + 5
    maintenance_ran(ago=late, names=[name])
    check = checks()["maintenance"]
    assert not check.ok
    assert check.message == f"not run lately: {name}"


def test_a_task_a_worker_runs_now_is_not_late():
    maintenance_ran()
    MaintenanceTask.objects.filter(name="prune_jobs").update(
        last_run_at=timezone.now() - timedelta(days=1),
        locked_by="w1",
        locked_until=timezone.now() + timedelta(seconds=30),
    )
    assert checks()["maintenance"].ok


# stuck threads


def test_a_live_worker_with_a_stuck_thread_fails():
    add_worker(stuck=[{"thread": "handler-2", "job": 17, "silent_seconds": 400}])
    check = checks()["stuck_threads"]
    assert not check.ok
    assert check.numbers == {"workers": 1, "threads": 1}
    assert "w1: handler-2 on job 17" in check.detail


def test_no_stuck_thread_passes():
    add_worker()
    check = checks()["stuck_threads"]
    assert check.ok
    assert check.numbers == {"workers": 0, "threads": 0}


def test_a_stale_worker_s_stuck_threads_do_not_count():
    add_worker(heartbeat_age=3600, stuck=[{"thread": "t", "job": 1, "silent_seconds": 9}])
    assert checks()["stuck_threads"].ok


# the report


def test_the_json_holds_no_worker_id_host_or_pid():
    add_worker("secret-host.internal:4242:x", stuck=[{"thread": "t", "job": 1}])
    due_job("emails")
    text = str(health.run(INTERVALS).as_json())
    assert "secret-host" not in text
    assert "4242" not in text
    assert "detail" not in text


def test_a_check_that_raises_fails_alone(monkeypatch):
    def boom(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(health, "check_maintenance", boom)
    by_name = checks()
    assert by_name["maintenance"].message == "error (RuntimeError)"
    assert by_name["database"].ok


# the queues' next jobs


def test_the_queries_do_not_grow_with_the_jobs():
    def queries(jobs: int) -> int:
        for _ in range(jobs):
            due_job("a", waited=5)
            due_job("b", waited=-5)
        with CaptureQueriesContext(connection) as captured:
            health.run(INTERVALS)
        return len(captured)

    assert queries(1) == queries(20)


def test_the_queue_walk_stops_at_its_limit(monkeypatch):
    monkeypatch.setattr(heads_module, "MAX_KEYS", 2)
    for name in ("a", "b", "c"):
        due_job(name)
    heads = queue_heads(timezone.now())
    assert heads.queues == {"a", "b"}
    assert heads.truncated
