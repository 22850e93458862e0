"""Deaths the supervisor records (core.worker.deaths)."""

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import Worker, WorkerDeath
from core.worker import deaths

pytestmark = pytest.mark.django_db


def child_row(pid: int, started_at, **fields) -> Worker:
    return Worker.objects.create(
        id=f"child-{pid}",
        host=socket.gethostname(),
        pid=pid,
        concurrency=4,
        started_at=started_at,
        heartbeat_at=started_at,
        **fields,
    )


def test_a_killed_child_is_described_by_its_signal():
    assert deaths.exit_detail(-9) == {"signal": "SIGKILL"}


def test_a_child_that_exited_is_described_by_its_exit_code():
    assert deaths.exit_detail(3) == {"exit_code": 3}


def test_the_death_of_a_child_is_recorded_and_its_row_removed():
    started = timezone.now()
    child_row(4242, started, running=2)
    death = deaths.record_exit(4242, -9, slot=1, started_at=started)
    assert WorkerDeath.objects.get() == death
    assert (death.worker, death.pid, death.reason) == ("child-4242", 4242, "exited")
    assert death.detail == {
        "signal": "SIGKILL",
        "slot": 1,
        "last_heartbeat": started.isoformat(),
        "running": 2,
    }
    assert not Worker.objects.exists()


def test_a_child_that_died_before_registering_is_recorded_by_host_and_pid():
    death = deaths.record_exit(4243, 1, slot=0, started_at=timezone.now())
    assert death.worker == f"{socket.gethostname()}:4243"
    assert death.detail == {"exit_code": 1, "slot": 0}


def test_an_older_process_with_the_same_pid_is_left_alone():
    now = timezone.now()
    child_row(4244, now - timedelta(hours=5))
    death = deaths.record_exit(4244, -9, slot=0, started_at=now)
    assert death.worker == f"{socket.gethostname()}:4244"
    assert Worker.objects.filter(pk="child-4244").exists()
