"""The Streams message browser in a real browser: filter a partition's messages by type
(the Type column follows), see a malformed type explained, and read a bytes message
as its size and hex (issue 20 point 7).

Each test drives Debian's Chromium against ``live_server``.
"""

import pytest
from playwright.sync_api import expect

from core import streams

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def operator_start():
    """operator_page lands on the Cron page."""
    return "/cron/"


@pytest.fixture
def mixed():
    """Topic mixed: offsets 1-4 alternate order.placed and order.paid, 5 is bytes of
    type image/png, 6 has no type."""
    streams.publish_many(
        "mixed",
        [{"data": {"n": n}, "type": ("order.placed", "order.paid")[n % 2]} for n in range(4)]
        + [{"data": bytes(range(40)), "type": "image/png"}, {"data": {"n": 5}}],
    )
    return "mixed"


def test_an_operator_filters_messages_by_type_and_reads_a_bytes_message(
    operator_page, live_server, mixed
):
    page = operator_page
    page.goto(f"{live_server.url}/streams/messages/?topic={mixed}&partition=0")
    offsets = page.locator("tr.message-row .message-offset")
    types = page.locator("tr.message-row .message-type")
    expect(offsets).to_have_text(["1", "2", "3", "4", "5", "6"])
    expect(types).to_have_text(
        ["order.placed", "order.paid", "order.placed", "order.paid", "image/png", "none"]
    )
    blob = page.locator('tr.message-row[data-offset="5"]')
    expect(blob.locator(".message-size")).to_have_text("40 bytes")
    expect(blob.locator(".message-hex")).to_have_text(" ".join(f"{n:02x}" for n in range(32)))
    expect(blob.locator(".message-cut")).to_contain_text("8 more bytes not shown")

    page.get_by_label("Type").fill("order.paid")
    page.get_by_role("button", name="Show").click()
    expect(offsets).to_have_text(["2", "4"])
    expect(types).to_have_text(["order.paid", "order.paid"])
    expect(page.get_by_label("Type")).to_have_value("order.paid")

    page.get_by_role("link", name="Newest first").click()
    expect(offsets).to_have_text(["4", "2"])

    page.get_by_label("Type").fill("no spaces")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".type-error")).to_contain_text("Type: may hold only letters, digits")
    expect(offsets).to_have_count(0)
