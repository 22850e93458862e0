"""The health series of /api/metrics: deaths, ping, idle and stuck threads, scheduled jobs,
start lag; each line with its HELP and TYPE and the right value."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.models import ApiKey, DeathReason, Job, JobStatus, WorkerDeath
from tests.health import add_worker, due_job

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def exact_counts(settings):
    """Counted exactly however busy the machine: the queues come from the job counts."""
    settings.QUEUEADMIN = {"DASHBOARD_COUNT_SECONDS": 30}


def page() -> str:
    _, secret = ApiKey.create("prometheus")
    response = Client().get("/api/metrics", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    return response.content.decode()


def samples(text: str, name: str) -> dict[str, str]:
    """{labels text: value} of family ``name`` in ``text``."""
    found = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, value = line.rpartition(" ")
            found[key[len(name) :]] = value
    return found


def test_every_health_family_has_help_and_type():
    add_worker(ping_ms=3.0)
    due_job("emails")
    text = page()
    families = {
        "queueadmin_workers_died_total": "counter",
        "queueadmin_worker_ping_seconds": "gauge",
        "queueadmin_worker_idle_threads": "gauge",
        "queueadmin_worker_stuck_threads": "gauge",
        "queueadmin_scheduled_jobs": "gauge",
        "queueadmin_start_lag_seconds": "gauge",
    }
    for name, kind in families.items():
        assert f"# TYPE {name} {kind}\n" in text
        assert f"# HELP {name} " in text


def test_workers_died_counts_the_death_rows_by_reason():
    now = timezone.now()
    for reason in (DeathReason.STALE, DeathReason.STALE, DeathReason.EXITED):
        WorkerDeath.objects.create(worker="w", host="h", pid=1, reason=reason, at=now)
    assert samples(page(), "queueadmin_workers_died_total") == {
        '{reason="stale"}': "2",
        '{reason="exited"}': "1",
    }


def test_workers_died_is_zero_for_each_reason_before_any_death():
    assert samples(page(), "queueadmin_workers_died_total") == {
        '{reason="stale"}': "0",
        '{reason="exited"}': "0",
    }


def test_ping_is_each_live_worker_s_last_round_trip_in_seconds():
    add_worker("w1", ping_ms=12.5)
    add_worker("w2", ping_ms=None)
    add_worker("dead", heartbeat_age=3600, ping_ms=1.0)
    assert samples(page(), "queueadmin_worker_ping_seconds") == {'{worker="w1"}': "0.0125"}


def test_idle_threads_per_live_worker():
    add_worker("w1", idle=3)
    add_worker("w2", idle=0)
    assert samples(page(), "queueadmin_worker_idle_threads") == {
        '{worker="w1"}': "3",
        '{worker="w2"}': "0",
    }


def test_stuck_threads_per_live_worker():
    stuck = [{"thread": "t1", "job": 1, "silent_seconds": 400}, {"thread": "t2", "job": 2}]
    add_worker("w1", stuck=stuck)
    add_worker("w2")
    assert samples(page(), "queueadmin_worker_stuck_threads") == {
        '{worker="w1"}': "2",
        '{worker="w2"}': "0",
    }


def test_scheduled_jobs_counts_pending_jobs_not_due_and_sleeping_jobs():
    for _ in range(3):
        due_job("a", waited=-600)
    due_job("a", waited=10)  # due: not scheduled
    sleeper = due_job("a")
    Job.objects.filter(pk=sleeper.pk).update(
        status=JobStatus.WAITING, wait_until=timezone.now() + timedelta(hours=1)
    )
    assert samples(page(), "queueadmin_scheduled_jobs") == {
        '{status="pending"}': "3",
        '{status="waiting"}': "1",
    }


def test_start_lag_is_how_late_each_queue_s_next_job_is():
    due_job("late", waited=120)
    due_job("on-time", waited=-60)
    lag = samples(page(), "queueadmin_start_lag_seconds")
    assert set(lag) == {'{queue="late"}', '{queue="on-time"}'}
    assert 120 <= float(lag['{queue="late"}']) < 130
    assert lag['{queue="on-time"}'] == "0.0"


def test_start_lag_follows_the_claim_order():
    due_job("q", waited=900, priority=-10)
    due_job("q", waited=30, priority=10)
    lag = float(samples(page(), "queueadmin_start_lag_seconds")['{queue="q"}'])
    assert 30 <= lag < 40
