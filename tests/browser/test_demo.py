"""The demo of `make run` in a real browser: from an empty database, enqueue_demo and a
real `runworker` make every page of the dashboard's navigation show live content, and an
operator approves the demo's waiting job on the Tokens page.

The worker is a `manage.py runworker --queue '*'` process, as `make run` starts it; the
demo's push subscription delivers to this test's ``live_server``.
"""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from core.models import Job, WaitToken
from tests.browser.conftest import log_in, make_staff
from tests.workers import start_runworker, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: The navigation's links, in order: each one is visited below.
NAV = [
    "Overview",
    "Charts",
    "Jobs",
    "Queues",
    "Tokens",
    "Cron",
    "Streams",
    "Workers",
    "API keys",
    "Admin",
]
#: Live content may take a few worker polls and dashboard refreshes to show.
SLOW = 20_000
NONZERO = re.compile(r"^[1-9]\d*$")


@pytest.fixture
def demo_worker(live_server, tmp_path):
    """The demo enqueued against ``live_server`` and a runworker serving every queue."""
    call_command("enqueue_demo", base_url=live_server.url, stdout=StringIO())
    log_path = tmp_path / "runworker.log"
    with log_path.open("w") as log:
        proc = start_runworker(
            "--queue", "*", "--concurrency", "8", "--poll-interval", "0.1", "--grace", "1",
            log=log,
        )  # fmt: skip
        try:
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            print(log_path.read_text())  # shown when the test fails


def visit(page, name: str) -> None:
    """Follow the navigation's link ``name``."""
    page.locator(".mainnav").get_by_role("link", name=name, exact=True).click()
    if name != "Admin":
        expect(page.locator('.mainnav a[aria-current="page"]')).to_have_text(name)


def job(job_type: str) -> Job:
    return wait_for(
        lambda: Job.objects.filter(job_type=job_type).first(), message=f"a {job_type} job"
    )


def test_after_the_demo_every_page_in_the_navigation_is_alive(page, live_server, demo_worker):
    make_staff("operator", superuser=True)
    log_in(page, live_server, "operator")
    page.select_option("#live-interval", "1")  # remembered for the other pages
    assert page.locator(".mainnav a").all_inner_texts() == NAV

    # Overview: jobs done and failed in the last hour, the worker, both queues.
    expect(page.locator("#workers-alive")).to_have_text("1", timeout=SLOW)
    expect(page.locator("#completed-hour")).to_have_text(NONZERO, timeout=SLOW)
    expect(page.locator("#failed-hour")).to_have_text("1", timeout=SLOW)
    counts = page.locator("#overview-counts tbody tr")
    expect(counts.filter(has_text="default")).to_have_count(1)
    expect(counts.filter(has_text="emails")).to_have_count(1)

    # Jobs: the job that failed all its attempts, and its dead-letter job.
    visit(page, "Jobs")
    charge, dead = job("demo.charge_card"), job("demo.dead_letter")
    expect(page.locator(f"#job-{charge.pk}")).to_have_attribute("data-status", "failed")
    expect(page.locator(f"#job-{charge.pk}")).to_contain_text("3/3")
    expect(page.locator(f"#job-{dead.pk}")).to_have_attribute(
        "data-status", "completed", timeout=SLOW
    )
    page.locator(f"#job-{dead.pk} a").first.click()
    expect(page.locator("#job-output")).to_contain_text(f"DEAD-{charge.pk}", timeout=SLOW)

    # Queues: both queues, the rate limit of "emails", the channel policy in use.
    visit(page, "Queues")
    default = page.locator('tr.queue-row[data-queue="default"]')
    emails = page.locator('tr.queue-row[data-queue="emails"]')
    expect(default.locator('td[data-status="completed"]')).to_have_text(NONZERO)
    expect(default.locator(".queue-rate")).to_have_text("no limit")
    expect(emails.locator(".queue-rate")).to_contain_text("/ 2 per 10 s")
    expect(emails.locator('td[data-status="completed"]')).to_have_text(NONZERO, timeout=SLOW)
    acme = page.locator('tr.channel-row[data-channel="tenant-acme"]')
    expect(acme.locator(".channel-running")).to_contain_text("/ 1")
    expect(acme.locator(".channel-interval")).to_have_text("10 s")
    expect(acme.locator(".channel-last")).not_to_contain_text("never", timeout=SLOW)

    # Tokens: the approval job waits; it is completed further down.
    visit(page, "Tokens")
    approval = job("demo.approval")
    token_row = page.locator(f'#token-table tr[data-job="{approval.pk}"]')
    expect(token_row).to_have_attribute("data-status", "waiting", timeout=SLOW)
    expect(token_row).to_contain_text("demo.approval")
    expect(token_row.locator(".countdown")).to_contain_text("in 23h")

    # Cron: the every-minute schedule with its last run (the demo ran it once at start).
    visit(page, "Cron")
    cron = page.locator('tr.cron-row[data-name="demo-every-minute"]')
    expect(cron).to_have_attribute("data-status", "active")
    expect(cron.locator(".cron-expression")).to_have_text("* * * * *")
    expect(cron.locator(".cron-words")).to_have_text("Every minute")
    expect(cron.locator(".fire-times li")).to_have_count(5)
    expect(cron.locator(".cron-last .badge")).to_have_text("completed", timeout=SLOW)
    expect(cron.locator(".cron-last a")).to_have_text(re.compile(r"^#\d+$"))

    # Streams: the topic, its pushed group caught up, its slow group lagging, the hook.
    visit(page, "Streams")
    topic = page.locator('#stream-topics section.topic[data-topic="demo.orders"]')
    expect(topic.locator("tr.partition-row")).to_have_count(2)
    expect(topic.locator(".topic-end")).to_have_text(NONZERO, timeout=SLOW)
    billing = topic.locator('tr.group-row[data-group="billing"]')
    expect(billing.locator(".group-pushers")).to_contain_text("demo-billing-hook")
    for partition in (0, 1):
        cell = billing.locator(f'.group-offset[data-partition="{partition}"]')
        expect(cell).to_have_attribute("data-committed", NONZERO, timeout=SLOW)
    expect(billing.locator(".group-lag")).to_have_text("0", timeout=SLOW)
    analytics = topic.locator('tr.group-row[data-group="analytics"]')
    expect(analytics).to_have_attribute("data-lag", NONZERO, timeout=SLOW)
    expect(analytics.locator('.group-offset[data-partition="0"]')).to_have_attribute(
        "data-committed", NONZERO
    )
    hook = topic.locator('tr.subscription-row[data-subscription="demo-billing-hook"]')
    expect(hook.locator(".sub-endpoint")).to_have_text(f"{live_server.url}/examples/hook/")
    expect(hook.locator(".sub-success")).not_to_contain_text("never", timeout=SLOW)
    expect(hook).to_have_attribute("data-active", "true")

    # Workers: the runworker process, alive, serving every queue.
    visit(page, "Workers")
    worker = page.locator("#worker-table tr[data-worker]")
    expect(worker).to_have_count(1)
    expect(worker).not_to_have_class("stale")
    expect(worker.locator("td").nth(3)).to_have_text("all")

    # API keys: the demo's read-only key, its secret nowhere.
    visit(page, "API keys")
    key = page.locator("tr.apikey-row", has_text="demo: read-only key from enqueue_demo")
    expect(key).to_have_attribute("data-state", "active")
    expect(key.locator(".apikey-access")).to_have_text("read-only")
    expect(page.locator("#apikey-secret")).to_have_count(0)

    # Admin: the Django admin lists the demo's schedule too.
    visit(page, "Admin")
    page.get_by_role("link", name="Cron schedules").click()
    expect(page.locator("#result_list")).to_contain_text("demo-every-minute")

    # Approve the refund on the Tokens page: the waiting job finishes.
    page.goto(f"{live_server.url}/tokens/")
    token_row.locator("textarea").fill('{"approved": true}')
    token_row.get_by_role("button", name="Complete").click()
    expect(token_row).to_have_attribute("data-status", "completed")
    page.goto(f"{live_server.url}/jobs/{approval.pk}/")
    expect(page.locator("#job-status")).to_have_text("completed", timeout=SLOW)
    expect(page.locator("#job-output")).to_contain_text('"refunded": true')
    assert WaitToken.objects.get(job=approval).output == {"approved": True}
