"""The Queues page in a real browser: open it from the nav, pause a queue (its row
updates in place), set a max concurrency after one refused try, search the channel
policies and edit one.

Each test drives Debian's Chromium against ``live_server``.
"""

import pytest
from playwright.sync_api import expect

from core import queue
from core.models import ChannelPolicy, Queue
from tests.browser.conftest import mark_document, same_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def operator_start():
    """operator_page lands on the Jobs page."""
    return "/jobs/"


def queue_row(page, name):
    return page.locator(f'#queue-table tr[data-queue="{name}"]')


def channel_row(page, name):
    return page.locator(f'#channel-table tr[data-channel="{name}"]')


def test_an_operator_pauses_a_queue_and_sets_its_max_concurrency(operator_page, live_server):
    page = operator_page
    queue.enqueue("test.echo", queue="mail")
    queue.enqueue("test.echo", queue="mail")
    queue.enqueue("test.echo", queue="reports")

    page.locator(".mainnav").get_by_role("link", name="Queues").click()
    expect(page).to_have_url(f"{live_server.url}/queues/")
    expect(page.locator('.mainnav a[aria-current="page"]')).to_have_text("Queues")
    expect(page.locator("h1")).to_have_text("Queues")
    row = queue_row(page, "mail")
    expect(row.locator('td[data-status="pending"]')).to_have_text("2")
    expect(row).to_have_attribute("data-paused", "false")
    mark_document(page)

    # Pause: the row swaps in place, with its badge and a Resume button.
    row.get_by_role("button", name="Pause").click()
    expect(row).to_have_attribute("data-paused", "true")
    expect(row.locator(".queue-paused")).to_have_text("paused")
    expect(row.get_by_role("status")).to_contain_text("Queue mail paused")
    expect(row.get_by_role("button", name="Resume")).to_be_visible()
    assert Queue.objects.get(name="mail").paused
    assert same_document(page)

    # Edit limits: a refused value first, explained beside its field, nothing saved.
    row.get_by_role("link", name="Edit limits").click()
    form = page.locator("#queue-limits")
    expect(form.locator("h2")).to_contain_text("mail")
    form.get_by_label("Max concurrency").fill("0")
    form.get_by_role("button", name="Save limits").click()
    expect(page.locator("#limits-max_concurrency_error")).to_have_text(
        "Must be at least 1; leave empty for no limit."
    )
    assert Queue.objects.get(name="mail").max_concurrency is None

    page.locator("#queue-limits").get_by_label("Max concurrency").fill("3")
    page.locator("#queue-limits").get_by_role("button", name="Save limits").click()
    expect(page.locator("#panel-done")).to_contain_text(
        "Queue mail saved: max concurrency 3, no rate limit."
    )
    # The table refreshes itself after the save.
    expect(queue_row(page, "mail").locator(".queue-running")).to_have_text("0 / 3")
    expect(queue_row(page, "mail")).to_have_attribute("data-paused", "true")  # still paused
    row = Queue.objects.get(name="mail")
    assert (row.max_concurrency, row.paused) == (3, True)
    assert same_document(page)

    # Resume from the refreshed row.
    queue_row(page, "mail").get_by_role("button", name="Resume").click()
    expect(queue_row(page, "mail")).to_have_attribute("data-paused", "false")
    assert not Queue.objects.get(name="mail").paused


def test_an_operator_searches_channels_and_edits_a_policy(operator_page, live_server):
    page = operator_page
    for name in ("acme-eu", "acme-us", "globex", "initech"):
        queue.set_channel_policy(name, max_concurrency=1)
    queue.enqueue("test.echo", channel="acme-us")
    page.goto(f"{live_server.url}/queues/")
    expect(page.locator("#channel-table tr.channel-row")).to_have_count(4)
    mark_document(page)

    page.get_by_label("Channel name contains").fill("acme")
    expect(page.locator("#channel-table tr.channel-row")).to_have_count(2)
    expect(channel_row(page, "globex")).to_have_count(0)
    expect(page).to_have_url(f"{live_server.url}/queues/?q=acme")
    expect(channel_row(page, "acme-us").locator(".channel-pending")).to_have_text("1")

    channel_row(page, "acme-us").get_by_role("link", name="Edit").click()
    form = page.locator("#channel-form")
    expect(form.locator("h2")).to_contain_text("acme-us")
    expect(form.get_by_label("Max concurrency")).to_have_value("1")
    form.get_by_label("Max concurrency").fill("4")
    form.get_by_label("Release interval (seconds)").fill("2.5")
    form.get_by_role("button", name="Save policy").click()
    expect(page.locator("#panel-done")).to_contain_text(
        "Channel acme-us saved: max concurrency 4, release interval 2.5 s."
    )
    row = channel_row(page, "acme-us")
    expect(row.locator(".channel-running")).to_have_text("0 / 4")
    expect(row.locator(".channel-interval")).to_have_text("2.5 s")
    # The refreshed table keeps the search.
    expect(page.locator("#channel-table tr.channel-row")).to_have_count(2)
    policy = ChannelPolicy.objects.get(name="acme-us")
    assert (policy.max_concurrency, policy.release_interval) == (4, 2.5)
    assert same_document(page)
