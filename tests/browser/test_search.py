"""Searching inside jobs in a real browser: a payload term typed in the job list's
search box leaves only the matching row."""

import pytest
from playwright.sync_api import expect

from core.queue import enqueue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def operator_start() -> str:
    return "/jobs/"


def test_typing_a_payload_search_shows_only_the_matching_row(operator_page, live_server):
    match = enqueue("order", {"customer": {"id": 42}})
    other = enqueue("order", {"customer": {"id": 7}})
    page = operator_page
    page.goto(f"{live_server.url}/jobs/")
    expect(page.locator("tr.job-row")).to_have_count(2)
    page.fill("#job-search", "payload.customer.id=42")
    page.press("#job-search", "Enter")
    expect(page.locator("tr.job-row")).to_have_count(1)
    expect(page.locator(f"#job-{match.pk}")).to_be_visible()
    expect(page.locator(f"#job-{other.pk}")).to_have_count(0)
    expect(page.locator("#job-search")).to_have_value("payload.customer.id=42")


def test_a_bad_payload_search_shows_an_error_and_no_rows(operator_page, live_server):
    enqueue("order", {"customer": {"id": 42}})
    page = operator_page
    page.goto(f"{live_server.url}/jobs/")
    page.fill("#job-search", "payload.customer..id=42")
    page.press("#job-search", "Enter")
    expect(page.locator(".error[role=alert]")).to_contain_text("empty segment")
    expect(page.locator("tr.job-row")).to_have_count(0)
