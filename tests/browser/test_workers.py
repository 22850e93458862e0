"""The Workers page in a real browser: quiet a worker and watch its order and state
change, stop all after a confirmation, and follow a running job's link.

The workers are rows written by the test (a real process obeying the orders is in
tests/processes/test_worker_orders_dashboard.py); "obeying" is the test setting the
row's state as the worker's heartbeat would.
"""

import pytest
from playwright.sync_api import expect

from core import queue
from core.models import Job, Worker
from tests.dashboard.conftest import add_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def operator_start():
    """operator_page lands on the Workers page."""
    return "/workers/"


def worker_row(page, worker_id: str):
    return page.locator(f'#worker-table tr[data-worker="{worker_id}"]')


def test_nav_leads_to_the_workers_page(operator_page, live_server):
    page = operator_page
    page.goto(f"{live_server.url}/cron/")
    page.locator(".mainnav").get_by_role("link", name="Workers").click()
    expect(page).to_have_url(f"{live_server.url}/workers/")
    expect(page.locator('.mainnav a[aria-current="page"]')).to_have_text("Workers")


def test_operator_quiets_a_worker_and_sees_the_order_then_the_state(operator_page, live_server):
    add_worker("w1")
    add_worker("w2")
    page = operator_page
    page.reload()
    worker_row(page, "w1").get_by_role("button", name="Quiet").click()

    expect(page.locator(".messages")).to_contain_text("Worker w1: quiet ordered")
    row = worker_row(page, "w1")
    expect(row.locator(".worker-order")).to_contain_text("quiet ordered by operator")
    expect(row.locator(".worker-order")).to_contain_text("waits for its next heartbeat")
    expect(row.get_by_role("button", name="Quiet")).to_have_count(0)
    expect(row.get_by_role("button", name="Resume")).to_be_visible()
    expect(worker_row(page, "w2").locator(".worker-order")).to_have_count(0)
    assert Worker.objects.get(id="w1").ordered_by == "operator"

    # The worker's next heartbeat reports it quiet; the live refresh shows it.
    Worker.objects.filter(id="w1").update(state="quiet")
    expect(row.locator(".worker-state .badge").first).to_have_text("quiet")
    expect(row.locator(".worker-order")).not_to_contain_text("waits")


def test_stop_all_asks_first_and_orders_every_live_worker(operator_page, live_server):
    add_worker("w1")
    add_worker("w2")
    page = operator_page
    page.reload()
    dialogs = []

    page.once("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.locator("#stop-all").click()
    expect(page.locator("#stop-all")).to_be_visible()
    assert set(Worker.objects.values_list("order", flat=True)) == {""}

    page.once("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    page.locator("#stop-all").click()
    expect(page.locator(".messages")).to_contain_text("Stop ordered to 2 live worker(s)")
    expect(page.locator(".worker-order.pending-order")).to_have_count(2)
    assert set(Worker.objects.values_list("order", flat=True)) == {"stop"}
    assert (
        dialogs
        == [
            "Stop all 2 live workers? Each finishes what it runs and exits; "
            "no job runs until a worker is started again.",
        ]
        * 2
    )


def test_a_running_job_links_to_its_page(operator_page, live_server):
    add_worker("w1")
    job = queue.enqueue("mail.send")
    Job.objects.filter(pk=job.pk).update(status="processing", locked_by="w1")
    page = operator_page
    page.reload()
    worker_row(page, "w1").get_by_role("link", name=f"#{job.pk} mail.send").click()
    expect(page).to_have_url(f"{live_server.url}/jobs/{job.pk}/")
