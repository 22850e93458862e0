"""Django admin for workers (quiet, stop and resume actions through core.worker.orders) and
worker deaths (list columns, filters, search, read-only)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import Worker, WorkerDeath
from tests.dashboard.conftest import add_worker
from tests.users import staff_with

pytestmark = pytest.mark.django_db

WORKERS = "/admin/queueadmin/worker/"
DEATHS = "/admin/queueadmin/workerdeath/"


def act(client, action: str, *ids: str):
    return client.post(WORKERS, {"action": action, "_selected_action": list(ids)}, follow=True)


def death(worker="w1", reason="stale", **fields) -> WorkerDeath:
    values = {"host": "host-1", "pid": 7, "at": timezone.now(), **fields}
    return WorkerDeath.objects.create(worker=worker, reason=reason, **values)


# -- workers -----------------------------------------------------------------------------------


def test_worker_list_offers_quiet_stop_and_resume(staff_client):
    add_worker("w1")
    html = staff_client.get(WORKERS).content.decode()
    assert 'value="quiet_selected"' in html
    assert 'value="stop_selected"' in html
    assert 'value="resume_selected"' in html


def test_worker_list_shows_state_and_order(staff_client):
    add_worker("w1", state="quiet", order="quiet", ordered_by="alice")
    html = staff_client.get(WORKERS).content.decode()
    assert "column-state" in html
    assert "quiet by alice" in html


def test_quiet_action_orders_the_selected_workers_as_the_user(staff_client):
    add_worker("w1")
    add_worker("w2")
    response = act(staff_client, "quiet_selected", "w1")
    assert response.status_code == 200
    worker = Worker.objects.get(id="w1")
    assert (worker.order, worker.ordered_by) == ("quiet", "ops")
    assert Worker.objects.get(id="w2").order == ""
    assert "Quiet ordered to 1 worker(s)." in response.content.decode()


def test_stop_action_orders_the_selected_workers(staff_client):
    add_worker("w1")
    act(staff_client, "stop_selected", "w1")
    assert Worker.objects.get(id="w1").order == "stop"


def test_resume_action_clears_a_quiet_order(staff_client):
    add_worker("w1", order="quiet", ordered_by="alice")
    act(staff_client, "resume_selected", "w1")
    worker = Worker.objects.get(id="w1")
    assert (worker.order, worker.ordered_by) == ("", "ops")


def test_an_action_skips_stale_workers_and_says_so(staff_client):
    add_worker("gone", heartbeat_age=timedelta(hours=1))
    response = act(staff_client, "stop_selected", "gone")
    assert Worker.objects.get(id="gone").order == ""
    assert "Skipped 1 worker(s)" in response.content.decode()


def test_order_actions_need_the_change_permission():
    add_worker("w1")
    viewer = staff_with("view_worker")
    html = viewer.get(WORKERS).content.decode()
    assert "stop_selected" not in html
    act(viewer, "stop_selected", "w1")
    assert Worker.objects.get(id="w1").order == ""


def test_order_actions_with_the_change_permission():
    add_worker("w1")
    act(staff_with("view_worker", "change_worker"), "stop_selected", "w1")
    assert Worker.objects.get(id="w1").order == "stop"


def test_worker_rows_stay_read_only(staff_client):
    add_worker("w1")
    response = staff_client.post(f"{WORKERS}w1/change/", {"order": "stop", "ordered_by": "x"})
    assert Worker.objects.get(id="w1").order == ""
    assert response.status_code in (200, 403)


# -- worker deaths ---------------------------------------------------------------------------


def test_death_list_shows_its_columns(staff_client):
    death("w-dead:1", reason="exited", detail={"exitcode": -9})
    html = staff_client.get(DEATHS).content.decode()
    for column in ("at", "worker", "host", "pid", "reason", "detail_summary"):
        assert f"column-{column}" in html, column
    assert "w-dead:1" in html
    assert "exited unasked" in html
    assert "exitcode=-9" in html


def test_death_list_filters_by_reason(staff_client):
    death("stale-one", reason="stale")
    death("exited-one", reason="exited")
    html = staff_client.get(DEATHS, {"reason__exact": "exited"}).content.decode()
    assert "exited-one" in html
    assert "stale-one" not in html


def test_death_list_searches_worker_and_host(staff_client):
    death("alpha:1", host="box-a")
    death("beta:2", host="box-b")
    by_worker = staff_client.get(DEATHS, {"q": "alpha"}).content.decode()
    assert "alpha:1" in by_worker
    assert "beta:2" not in by_worker
    by_host = staff_client.get(DEATHS, {"q": "box-b"}).content.decode()
    assert "beta:2" in by_host
    assert "alpha:1" not in by_host


def test_death_list_is_newest_first(staff_client):
    death("w-earlier-death", at=timezone.now() - timedelta(hours=1))
    death("w-later-death")
    html = staff_client.get(DEATHS).content.decode()
    assert html.index("w-later-death") < html.index("w-earlier-death")


def test_deaths_cannot_be_added_or_edited(staff_client):
    row = death("w1")
    assert staff_client.get(f"{DEATHS}add/").status_code == 403
    staff_client.post(f"{DEATHS}{row.pk}/change/", {"worker": "other"})
    row.refresh_from_db()
    assert row.worker == "w1"


def test_death_detail_page_shows_the_detail_as_json(staff_client):
    row = death("w1", detail={"signal": "SIGKILL"})
    html = staff_client.get(f"{DEATHS}{row.pk}/change/").content.decode()
    assert "queueadmin-json" in html
    assert "SIGKILL" in html
