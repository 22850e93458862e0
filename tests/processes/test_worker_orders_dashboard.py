"""A real runworker process obeys a stop given on the dashboard's Workers page: the
order travels through the database and the worker drains and exits at its next
heartbeat, as on SIGTERM."""

import pytest

from core import queue
from core.models import Worker
from tests.processes.conftest import finish
from tests.users import client_for, make_user
from tests.workers import start_runworker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_stop_on_the_dashboard_lets_the_running_job_finish_and_the_worker_exit(tmp_path):
    operator = client_for(make_user("alice", "view_worker", "change_worker"))
    marker = tmp_path / "started"
    job = queue.enqueue("test.sleep", {"seconds": 1.5, "marker": str(marker)})
    # --lease 1: a heartbeat every third of a second, so the order is read quickly.
    proc = start_runworker("--lease", "1", "--grace", "20", "--poll-interval", "0.1")
    try:
        wait_for(marker.exists, message="the job to start")
        worker = wait_for(Worker.objects.first, message="the worker to register")
        response = operator.post("/workers/order/", {"order": "stop", "worker": worker.id})
        assert response.status_code == 303
        assert finish(proc, timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    job.refresh_from_db()
    assert job.status == "completed"
    assert not Worker.objects.exists()
