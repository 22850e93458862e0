"""Searching inside jobs in a real browser: a payload term typed in the job list's
search box leaves only the matching row; an id the other filters hide is linked."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core.models import Job
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


def test_an_id_search_hidden_by_the_time_filter_links_to_the_job(operator_page, live_server):
    old = enqueue("order", {"customer": {"id": 42}})
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    page = operator_page
    page.goto(f"{live_server.url}/jobs/?since=1h")
    page.fill("#job-search", f"#{old.pk}")
    page.press("#job-search", "Enter")
    expect(page.locator("td.empty")).to_contain_text("matches the search but not the other")
    page.get_by_role("link", name=f"Job #{old.pk}").click()
    expect(page).to_have_url(f"{live_server.url}/jobs/{old.pk}/")
