"""prune_workers: stale Worker rows become WorkerDeath(stale); old deaths are pruned."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.maintenance import prune_workers
from core.models import Worker, WorkerDeath
from tests.maintenance.conftest import run_task

pytestmark = pytest.mark.django_db


def worker(name: str, heartbeat, **fields) -> Worker:
    return Worker.objects.create(
        id=name,
        host="h",
        pid=41,
        concurrency=1,
        started_at=heartbeat - timedelta(hours=1),
        heartbeat_at=heartbeat,
        **fields,
    )


def test_a_pruned_stale_worker_is_recorded_as_a_stale_death():
    last = timezone.now() - timedelta(days=2)
    worker("dead", last, running=3, queues=["mail"])
    run_task("prune_workers")
    death = WorkerDeath.objects.get()
    assert (death.worker, death.host, death.pid, death.reason) == ("dead", "h", 41, "stale")
    assert death.detail["last_heartbeat"] == last.isoformat()
    assert (death.detail["running"], death.detail["queues"]) == (3, ["mail"])
    assert not Worker.objects.exists()


def test_a_live_worker_is_not_recorded_dead():
    worker("live", timezone.now())
    run_task("prune_workers")
    assert not WorkerDeath.objects.exists()


def test_a_worker_is_recorded_dead_as_soon_as_it_goes_stale_and_its_row_kept():
    worker("stale-but-recent", timezone.now() - timedelta(minutes=10))
    result = run_task("prune_workers")
    assert list(WorkerDeath.objects.values_list("worker", "reason")) == [
        ("stale-but-recent", "stale")
    ]
    assert result.counts["died"] == 1
    assert "1 worker gone stale" in result.summary
    assert Worker.objects.filter(pk="stale-but-recent").exists()


def test_a_stale_worker_is_recorded_once_across_runs_and_its_pruning():
    row = worker("gone", timezone.now() - timedelta(minutes=10))
    run_task("prune_workers")
    run_task("prune_workers")
    Worker.objects.filter(pk=row.pk).update(heartbeat_at=timezone.now() - timedelta(days=2))
    run_task("prune_workers")
    assert WorkerDeath.objects.filter(worker="gone").count() == 1
    assert not Worker.objects.exists()


def test_deaths_older_than_thirty_days_are_pruned():
    now = timezone.now()
    for name, age in (("old", 31), ("recent", 29)):
        WorkerDeath.objects.create(
            worker=name, host="h", pid=1, reason="exited", at=now - timedelta(days=age)
        )
    result = run_task("prune_workers")
    assert list(WorkerDeath.objects.values_list("worker", flat=True)) == ["recent"]
    assert result.counts["deaths"] == 1
    assert "1 old worker death" in result.summary
    assert timedelta(days=30) == prune_workers.DEATH_RETENTION


def test_deaths_are_pruned_even_when_worker_pruning_is_off(settings):
    settings.QUEUEADMIN = {"WORKER_PRUNE_AFTER": None}
    WorkerDeath.objects.create(
        worker="old", host="h", pid=1, reason="exited", at=timezone.now() - timedelta(days=40)
    )
    worker("dead", timezone.now() - timedelta(days=2))
    run_task("prune_workers")
    assert list(WorkerDeath.objects.values_list("worker", flat=True)) == ["dead"]  # not "old"
    assert Worker.objects.filter(pk="dead").exists()
