"""The Workers page's controls and views: quiet, stop and resume (one worker or all),
pending orders, idle threads, ping, stuck threads, the jobs each worker runs now, and
recent worker deaths. (The plain listing is tested in test_overview.py.)"""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import queue
from core.models import Worker, WorkerDeath
from tests.dashboard.conftest import add_worker, html_reader, strict_html
from tests.users import client_for, make_user, messages_of

pytestmark = pytest.mark.django_db

ORDER = "/workers/order/"
html_of = html_reader("/workers/")


@pytest.fixture
def operator():
    """Staff who may view workers and give them orders."""
    return client_for(make_user("alice", "view_job", "view_worker", "change_worker"))


@pytest.fixture
def viewer():
    """Staff who may only look at workers."""
    return client_for(make_user("viewer", "view_job", "view_worker"))


def row_of(html: str, worker_id: str) -> str:
    match = re.search(
        rf'<tr class="[^"]*" data-worker="{re.escape(worker_id)}">(.*?)</tr>', html, re.S
    )
    assert match, f"no row for {worker_id}"
    return match.group(1)


def running_job(worker_id: str, job_type: str = "mail.send", status: str = "processing"):
    job = queue.enqueue(job_type)
    queue_job = type(job).objects.filter(pk=job.pk)
    queue_job.update(status=status, locked_by=worker_id, started_at=timezone.now())
    return job


def order(client, order_name: str, **fields):
    return client.post(ORDER, {"order": order_name, **fields})


# -- giving orders ---------------------------------------------------------------------------------


def test_quiet_button_stores_the_order_and_the_acting_user(operator):
    add_worker("w1")
    response = order(operator, "quiet", worker="w1")
    assert response.status_code == 303
    worker = Worker.objects.get(id="w1")
    assert (worker.order, worker.ordered_by) == ("quiet", "alice")
    assert worker.ordered_at is not None


def test_stop_button_stores_the_order_and_the_acting_user(operator):
    add_worker("w1")
    order(operator, "stop", worker="w1")
    worker = Worker.objects.get(id="w1")
    assert (worker.order, worker.ordered_by) == ("stop", "alice")


def test_resume_button_clears_a_quiet_order(operator):
    add_worker("w1", order="quiet", ordered_by="bob", state="quiet")
    order(operator, "resume", worker="w1")
    worker = Worker.objects.get(id="w1")
    assert (worker.order, worker.ordered_by) == ("", "alice")


def test_quiet_all_orders_every_live_worker_and_no_stale_one(operator):
    add_worker("w1")
    add_worker("w2")
    add_worker("gone", heartbeat_age=timedelta(hours=1))
    order(operator, "quiet", all="1")
    orders = dict(Worker.objects.values_list("id", "order"))
    assert orders == {"w1": "quiet", "w2": "quiet", "gone": ""}


def test_stop_all_orders_every_live_worker_and_no_stale_one(operator):
    add_worker("w1")
    add_worker("gone", heartbeat_age=timedelta(hours=1))
    order(operator, "stop", all="1")
    assert dict(Worker.objects.values_list("id", "order")) == {"w1": "stop", "gone": ""}


def test_an_order_to_one_worker_leaves_the_others(operator):
    add_worker("w1")
    add_worker("w2")
    order(operator, "stop", worker="w1")
    assert Worker.objects.get(id="w2").order == ""


def test_an_order_says_what_it_does_in_a_flash_message(operator):
    add_worker("w1")
    response = order(operator, "stop", worker="w1", next="/workers/")
    page = operator.get(response["Location"])
    assert messages_of(page) == [
        "Worker w1: stop ordered; at its next heartbeat it finishes what it runs and exits, "
        "as on SIGTERM."
    ]


def test_an_order_to_all_says_how_many_workers_took_it(operator):
    add_worker("w1")
    add_worker("w2")
    response = operator.post(ORDER, {"order": "quiet", "all": "1"}, follow=True)
    assert messages_of(response)[0].startswith("Quiet ordered to 2 live worker(s)")


def test_an_order_to_a_stale_worker_is_refused_with_a_message(operator):
    add_worker("gone", heartbeat_age=timedelta(hours=1))
    response = operator.post(ORDER, {"order": "stop", "worker": "gone"}, follow=True)
    assert Worker.objects.get(id="gone").order == ""
    [message] = messages_of(response)
    assert message.startswith("Worker gone is stale (last heartbeat 1h 00m ago)")


def test_an_order_to_an_unknown_worker_says_it_is_not_registered(operator):
    response = operator.post(ORDER, {"order": "stop", "worker": "nobody"}, follow=True)
    assert messages_of(response) == [
        "Worker nobody is not registered (it has exited); nothing was ordered."
    ]


def test_an_unknown_order_is_refused_with_a_clear_error_and_changes_nothing(operator):
    add_worker("w1")
    response = order(operator, "halt", worker="w1")
    assert response.status_code == 400
    assert "order: must be one of quiet, stop, resume, got 'halt'" in response.content.decode()
    assert Worker.objects.get(id="w1").order == ""


@pytest.mark.parametrize("fields", [{}, {"worker": ""}, {"all": "0"}])
def test_an_order_naming_neither_a_worker_nor_all_is_refused(operator, fields):
    add_worker("w1")
    response = order(operator, "stop", **fields)
    assert response.status_code == 400
    assert "Name the workers" in response.content.decode()
    assert Worker.objects.get(id="w1").order == ""


def test_an_order_naming_a_worker_and_all_is_refused(operator):
    add_worker("w1")
    add_worker("w2")
    assert order(operator, "stop", worker="w1", all="1").status_code == 400
    assert set(Worker.objects.values_list("order", flat=True)) == {""}


def test_an_order_without_the_change_permission_is_forbidden(viewer):
    add_worker("w1")
    assert order(viewer, "stop", worker="w1").status_code == 403
    assert order(viewer, "quiet", all="1").status_code == 403
    assert Worker.objects.get(id="w1").order == ""


def test_an_order_needs_a_post(operator):
    add_worker("w1")
    assert operator.get(ORDER, {"order": "stop", "worker": "w1"}).status_code == 405
    assert Worker.objects.get(id="w1").order == ""


def test_an_order_without_the_csrf_token_is_refused():
    add_worker("w1")
    client = client_for(
        make_user("alice", "view_worker", "change_worker"), enforce_csrf_checks=True
    )
    assert order(client, "stop", worker="w1").status_code == 403
    assert Worker.objects.get(id="w1").order == ""


def test_an_order_from_htmx_reloads_the_page_to_show_its_message(operator):
    add_worker("w1")
    response = operator.post(
        ORDER,
        {"order": "quiet", "worker": "w1", "next": "/workers/"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/workers/"


def test_an_order_never_redirects_off_the_site(operator):
    add_worker("w1")
    response = order(operator, "quiet", worker="w1", next="https://evil.example/")
    assert response["Location"] == "/workers/"


# -- buttons -----------------------------------------------------------------------------------


def test_operator_sees_quiet_and_stop_buttons_on_a_live_worker(operator):
    add_worker("w1")
    row = row_of(html_of(operator), "w1")
    assert 'class="worker-quiet">Quiet</button>' in row
    assert 'class="danger worker-stop">Stop</button>' in row
    assert 'name="csrfmiddlewaretoken"' in row
    assert 'hx-confirm="Stop worker w1?' in row


def test_stop_all_and_quiet_all_ask_for_confirmation(operator):
    add_worker("w1")
    add_worker("w2")
    html = html_of(operator)
    assert 'hx-confirm="Stop all 2 live workers?' in html
    assert 'hx-confirm="Quiet all 2 live workers?' in html
    assert 'id="stop-all"' in html
    assert 'id="quiet-all"' in html


def test_a_quiet_worker_offers_resume_instead_of_quiet(operator):
    add_worker("w1", order="quiet", state="quiet", ordered_by="bob", ordered_at=timezone.now())
    row = row_of(html_of(operator), "w1")
    assert 'class="worker-resume">Resume</button>' in row
    assert "worker-quiet" not in row


def test_a_stopping_worker_offers_no_order(operator):
    add_worker("w1", order="stop", state="stopping", ordered_by="bob", ordered_at=timezone.now())
    row = row_of(html_of(operator), "w1")
    assert "<form" not in row


def test_a_stale_worker_offers_no_order(operator):
    add_worker("gone", heartbeat_age=timedelta(hours=1))
    html = html_of(operator)
    assert "<form" not in row_of(html, "gone")
    assert 'id="stop-all"' not in html  # nobody alive to order


def test_viewer_sees_no_order_buttons(viewer):
    add_worker("w1")
    html = html_of(viewer)
    assert "worker-quiet" not in html
    assert 'id="stop-all"' not in html
    assert "<th>Actions</th>" not in html


# -- what the page shows -------------------------------------------------------------------------


def test_page_shows_a_pending_order_with_its_giver_and_age(operator):
    add_worker(
        "w1", order="stop", ordered_by="alice", ordered_at=timezone.now() - timedelta(seconds=10)
    )
    row = row_of(html_of(operator), "w1")
    assert re.search(r"stop ordered by alice 10(\.\d)? s ago; waits for its next heartbeat", row)
    assert "pending-order" in row


def test_page_shows_an_obeyed_order_without_waiting(operator):
    add_worker("w1", order="quiet", state="quiet", ordered_by="alice", ordered_at=timezone.now())
    row = row_of(html_of(operator), "w1")
    assert '<span class="badge pending">quiet</span>' in row
    assert "quiet ordered by alice" in row
    assert "waits for its next heartbeat" not in row


def test_page_shows_a_resume_waiting_for_a_quiet_worker(operator):
    add_worker("w1", state="quiet", ordered_by="bob", ordered_at=timezone.now())
    row = row_of(html_of(operator), "w1")
    assert "resume ordered by bob" in row


def test_page_shows_each_state(operator):
    add_worker("a", state="running")
    add_worker("b", state="stopping")
    html = html_of(operator)
    assert '<span class="badge completed">running</span>' in row_of(html, "a")
    assert '<span class="badge failed">stopping</span>' in row_of(html, "b")


def test_page_shows_idle_threads_and_ping(operator):
    add_worker("w1", idle=3, ping_ms=2.345)
    add_worker("w2")
    html = html_of(operator)
    row = row_of(html, "w1")
    assert '<td class="num worker-idle">3</td>' in row
    assert '<td class="num worker-ping">2.3 ms</td>' in row
    assert '<td class="num worker-ping">-</td>' in row_of(html, "w2")


def test_page_flags_a_stuck_thread_with_its_job_and_silent_time(operator):
    job = running_job("w1")
    add_worker("w1", stuck=[{"thread": "handler-2", "job": job.pk, "silent_seconds": 312}])
    html = html_of(operator)
    assert '<tr class="stuck" data-worker="w1">' in html
    row = row_of(html, "w1")
    assert '<strong class="badge failed">stuck</strong>' in row
    assert f'thread handler-2 silent 5m 12s on <a href="/jobs/{job.pk}/">#{job.pk}</a>' in row


def test_page_survives_a_malformed_stuck_entry(operator):
    add_worker("w1", stuck=["odd", {"thread": "t", "job": "x"}])
    row = row_of(html_of(operator), "w1")
    assert "thread ? silent -" in row
    assert "thread t silent -" in row


def test_a_healthy_worker_is_not_flagged_stuck(operator):
    add_worker("w1")
    html = html_of(operator)
    assert '<tr class="" data-worker="w1">' in html
    assert "stuck" not in row_of(html, "w1")


def test_page_links_the_jobs_each_worker_runs_now(operator):
    add_worker("w1")
    add_worker("w2")
    mine = running_job("w1", "mail.send")
    theirs = running_job("w2", "pdf.render")
    html = html_of(operator)
    assert f'<a href="/jobs/{mine.pk}/" class="worker-job">#{mine.pk} mail.send</a>' in row_of(
        html, "w1"
    )
    assert f"#{theirs.pk}" not in row_of(html, "w1")
    assert f'<a href="/jobs/{theirs.pk}/" class="worker-job">#{theirs.pk} pdf.render</a>' in row_of(
        html, "w2"
    )


def test_page_lists_only_processing_jobs_as_running(operator):
    add_worker("w1")
    done = running_job("w1", status="completed")
    row = row_of(html_of(operator), "w1")
    assert f"#{done.pk}" not in row


def test_page_caps_the_running_jobs_listed_per_worker(operator):
    add_worker("w1")
    for _ in range(12):
        running_job("w1")
    row = row_of(html_of(operator), "w1")
    assert row.count('class="worker-job"') == 10
    assert "and 2 more" in row


def test_page_links_all_the_jobs_of_a_worker_to_the_job_list(operator):
    add_worker("host-a:101")
    row = row_of(html_of(operator), "host-a:101")
    assert '<a href="/jobs/?worker=host-a%3A101" class="worker-all-jobs">all its jobs</a>' in row


def _queries_for(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        html_of(client)
    return len(queries)


def test_page_queries_do_not_grow_with_workers_or_their_jobs(operator):
    add_worker("w0")
    running_job("w0")
    html_of(operator)  # warm the session and permission caches alike
    one = _queries_for(operator)
    for i in range(1, 8):
        add_worker(f"w{i}", stuck=[{"thread": "t", "job": 1, "silent_seconds": 1}])
        running_job(f"w{i}")
        running_job(f"w{i}")
    assert _queries_for(operator) == one


def test_page_lists_recent_worker_deaths_newest_first(operator):
    now = timezone.now()
    WorkerDeath.objects.create(
        worker="old:1", host="h1", pid=1, reason="stale", at=now - timedelta(hours=2)
    )
    WorkerDeath.objects.create(
        worker="new:2", host="h2", pid=2, reason="exited", detail={"exitcode": -9}, at=now
    )
    html = html_of(operator)
    section = html[html.index('id="worker-deaths"') :]
    assert "Recent worker deaths" in section
    assert section.index("new:2") < section.index("old:1")
    assert "<td>exited unasked</td>" in section
    assert '<span class="tag">exitcode: -9</span>' in section
    assert "<td>stale heartbeat</td>" in section


def test_page_lists_only_the_latest_deaths(operator):
    now = timezone.now()
    for i in range(25):
        WorkerDeath.objects.create(
            worker=f"w{i}", host="h", pid=i, reason="stale", at=now - timedelta(minutes=i)
        )
    html = html_of(operator)
    assert html.count("data-death=") == 20


def test_page_without_deaths_says_so(operator):
    assert "No worker has died unasked." in html_of(operator)


def test_deaths_fragment_for_htmx(operator):
    WorkerDeath.objects.create(worker="d:1", host="h", pid=1, reason="stale", at=timezone.now())
    add_worker("w1")
    response = operator.get(
        "/workers/", headers={"HX-Request": "true", "HX-Target": "worker-deaths"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="worker-deaths"')
    assert "d:1" in html
    assert 'data-worker="w1"' not in html


def test_page_holds_no_inline_script(operator):
    add_worker("w1", stuck=[{"thread": "t", "job": 1, "silent_seconds": 1}])
    strict_html(operator.get("/workers/"))


def test_worker_fields_are_escaped(operator):
    hostile = "<script>alert(1)</script>"
    add_worker("w1", ordered_by=hostile, order="stop", ordered_at=timezone.now())
    html = html_of(operator)
    assert hostile not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_anonymous_order_is_sent_to_the_login():
    add_worker("w1")
    response = Client().post(ORDER, {"order": "stop", "worker": "w1"})
    assert response.status_code == 302
    assert Worker.objects.get(id="w1").order == ""


def test_the_all_its_jobs_link_lists_the_jobs_of_that_worker_only(operator):
    add_worker("w1")
    add_worker("w2")
    mine = running_job("w1")
    theirs = running_job("w2")
    row = row_of(html_of(operator), "w1")
    link = re.search(r'<a href="([^"]+)" class="worker-all-jobs">', row).group(1)
    html = html_of(operator, link.replace("&amp;", "&"))
    assert f'href="/jobs/{mine.pk}/"' in html
    assert f'href="/jobs/{theirs.pk}/"' not in html
