"""The Streams page in a real browser: open it from the nav, read a topic's lag, reset
a group's offset after confirming (the lag follows without a reload), see a refused
offset explained, and browse a partition's messages page by page.

Each test drives Debian's Chromium against ``live_server``.
"""

import pytest
from playwright.sync_api import expect

from core import streams
from tests.browser.conftest import mark_document, same_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def operator_start():
    """operator_page lands on the Cron page."""
    return "/cron/"


@pytest.fixture
def orders():
    """Topic orders/eu: partition 0 ends at 7, partition 1 at 2; billing has read
    everything, audit 3 messages of partition 0."""
    streams.create_topic("orders/eu", partitions=2)
    streams.publish_many(
        "orders/eu", [{"data": {"order": n}, "key": f"c{n}", "partition": 0} for n in range(7)]
    )
    streams.publish_many("orders/eu", [{"data": {"order": n}, "partition": 1} for n in range(2)])
    streams.commit("billing", "orders/eu", 0, 7)
    streams.commit("billing", "orders/eu", 1, 2)
    streams.commit("audit", "orders/eu", 0, 3)
    return "orders/eu"


def topic_section(page, name):
    return page.locator(f'#stream-topics section.topic[data-topic="{name}"]')


def group_row(page, topic, group):
    return topic_section(page, topic).locator(f'tr.group-row[data-group="{group}"]')


def test_an_operator_reads_the_lag_and_replays_a_partition_after_confirming(
    operator_page, live_server, orders
):
    page = operator_page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))

    page.locator(".mainnav").get_by_role("link", name="Streams").click()
    expect(page).to_have_url(f"{live_server.url}/streams/")
    expect(page.locator('.mainnav a[aria-current="page"]')).to_have_text("Streams")
    expect(page.locator("h1")).to_have_text("Streams")
    section = topic_section(page, orders)
    expect(section.locator("h2")).to_have_text("orders/eu")
    expect(section.locator('tr.partition-row[data-partition="0"] .partition-end')).to_have_text("7")
    billing = group_row(page, orders, "billing")
    audit = group_row(page, orders, "audit")
    expect(billing.locator(".group-lag")).to_have_text("0")
    expect(audit.locator(".group-lag")).to_have_text("6")  # 4 in partition 0, 2 in 1
    expect(audit.locator('.group-offset[data-partition="0"]')).to_have_attribute("data-lag", "4")
    mark_document(page)

    # Replay partition 0 for billing: the panel opens beside the table.
    billing.get_by_role("link", name="Reset offsets…").click()
    panel = page.locator("#offsets-panel")
    expect(panel.locator("h2")).to_have_text("Offsets of group billing on topic orders/eu")
    row = panel.locator('tr.offset-row[data-partition="0"]')
    expect(row.locator(".offset-committed")).to_have_text("7")
    row.get_by_role("button", name="Replay").click()

    expect(panel.get_by_role("status")).to_have_text(
        "Group billing on orders/eu[0]: offset set from 7 to 0."
    )
    assert dialogs == [
        "Replay partition 0 of “orders/eu” for group “billing”? Its offset goes from 7 to 0, "
        "so its 7 retained messages will be processed again."
    ]
    expect(panel.locator('tr.offset-row[data-partition="0"] .offset-committed')).to_have_text("0")
    # The table refreshes itself after the reset.
    expect(billing.locator(".group-lag")).to_have_text("7")
    expect(billing.locator('.group-offset[data-partition="0"]')).to_have_attribute(
        "data-committed", "0"
    )
    assert streams.committed("billing", orders, 0) == 0
    assert streams.committed("billing", orders, 1) == 2
    assert same_document(page)


def test_a_refused_offset_is_explained_and_a_set_offset_moves_the_lag(
    operator_page, live_server, orders
):
    page = operator_page
    answers = []

    def answer(dialog):
        answers.append(dialog.message)
        if len(answers) == 1:
            dialog.dismiss()
        else:
            dialog.accept()

    page.on("dialog", answer)
    page.goto(f"{live_server.url}/streams/")
    audit = group_row(page, orders, "audit")
    audit.get_by_role("link", name="Reset offsets…").click()
    panel = page.locator("#offsets-panel")
    row = panel.locator('tr.offset-row[data-partition="0"]')

    # Dismissed: nothing is sent.
    row.get_by_role("button", name="Skip to end").click()
    expect(panel.locator("#offsets-notice")).to_have_count(0)
    assert streams.committed("audit", orders, 0) == 3

    # Past the end: refused, explained, nothing written.
    row.get_by_label("New offset of partition 0").fill("99")
    row.get_by_role("button", name="Set").click()
    expect(panel.get_by_role("alert")).to_have_text(
        "Offset: 99 is past the end of orders/eu[0] (last offset 7). Nothing changed."
    )
    assert streams.committed("audit", orders, 0) == 3

    panel.locator('tr.offset-row[data-partition="0"]').get_by_label(
        "New offset of partition 0"
    ).fill("5")
    panel.locator('tr.offset-row[data-partition="0"]').get_by_role("button", name="Set").click()
    expect(panel.get_by_role("status")).to_have_text(
        "Group audit on orders/eu[0]: offset set from 3 to 5."
    )
    expect(audit.locator(".group-lag")).to_have_text("4")
    assert streams.committed("audit", orders, 0) == 5
    assert len(answers) == 3

    panel.get_by_role("button", name="Close").click()
    expect(page.locator("#offsets-panel")).to_have_count(0)


def test_the_lag_refreshes_itself_as_messages_arrive(operator_page, live_server, orders):
    page = operator_page
    page.goto(f"{live_server.url}/streams/")
    page.select_option("#live-interval", "1")
    billing = group_row(page, orders, "billing")
    expect(billing.locator(".group-lag")).to_have_text("0")
    streams.publish_many(orders, [{"data": n, "partition": 1} for n in range(3)])
    expect(billing.locator(".group-lag")).to_have_text("3")


def test_an_operator_browses_the_messages_of_a_partition(
    operator_page, live_server, orders, settings
):
    settings.QUEUEADMIN = {"DASHBOARD_PAGE_SIZE": 3}
    page = operator_page
    page.goto(f"{live_server.url}/streams/")
    partition = topic_section(page, orders).locator('tr.partition-row[data-partition="0"]')
    partition.get_by_role("link", name="Browse").click()
    expect(page).to_have_url(f"{live_server.url}/streams/messages/?topic=orders%2Feu&partition=0")
    expect(page.locator('.mainnav a[aria-current="page"]')).to_have_text("Streams")
    expect(page.locator("h1")).to_contain_text("orders/eu")
    offsets = page.locator("tr.message-row .message-offset")
    expect(offsets).to_have_text(["1", "2", "3"])
    first = page.locator('tr.message-row[data-offset="1"]')
    expect(first.locator(".message-key")).to_have_text("c0")
    expect(first.locator(".message-data")).to_have_text('{\n  "order": 0\n}')

    page.get_by_role("link", name="Newer →").click()
    expect(offsets).to_have_text(["4", "5", "6"])
    page.get_by_role("link", name="Newer →").click()
    expect(offsets).to_have_text(["7"])
    expect(page.get_by_role("link", name="Newer →")).to_have_count(0)

    page.get_by_role("link", name="Newest first").click()
    expect(offsets).to_have_text(["7", "6", "5"])

    page.get_by_label("Partition").select_option("1")
    page.get_by_label("After offset").fill("1")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("h1")).to_contain_text("partition 1")
    expect(offsets).to_have_text(["2"])
