"""The Charts page in a real browser: open it from the nav, switch the range and the job
type, and see the chart change in place (htmx swaps the panel; the URL follows).

Each test drives Debian's Chromium against ``live_server``.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core.maintenance.rollup import roll_minute
from tests.browser.conftest import mark_document, same_document
from tests.rollups import finished

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def rolled(job_type: str, count: int, minutes_ago: int) -> None:
    at = timezone.now().replace(second=5, microsecond=0) - timedelta(minutes=minutes_ago)
    for _ in range(count):
        finished(at, job_type, run=0.2)
    roll_minute(at)


def test_an_operator_switches_range_and_job_type(operator_page, live_server):
    page = operator_page
    rolled("mail.send", 2, minutes_ago=3)
    rolled("report.build", 5, minutes_ago=120)

    page.locator(".mainnav").get_by_role("link", name="Charts").click()
    expect(page).to_have_url(f"{live_server.url}/charts/")
    chart = page.locator("#throughput-chart")
    expect(chart).to_have_attribute("data-range", "1h")
    expect(page.locator("#chart-completed")).to_have_text("2")
    mark_document(page)

    page.locator("#range-24h").click()
    expect(chart).to_have_attribute("data-range", "24h")
    expect(page.locator("#chart-completed")).to_have_text("7")
    expect(page).to_have_url(f"{live_server.url}/charts/?range=24h&queue=&job_type=")

    page.select_option("#chart-job-type", "report.build")
    page.get_by_role("button", name="Show").click()
    expect(chart).to_have_attribute("data-job-type", "report.build")
    expect(page.locator("#chart-completed")).to_have_text("5")
    expect(chart).to_have_attribute("data-range", "24h")
    expect(page.locator("#chart-job-type")).to_have_value("report.build")
    assert same_document(page)


def test_the_per_type_table_links_to_that_type(operator_page, live_server):
    page = operator_page
    rolled("mail.send", 1, minutes_ago=3)
    rolled("report.build", 3, minutes_ago=4)
    page.goto(f"{live_server.url}/charts/")
    page.locator('#type-timings tr[data-job-type="report.build"] a').click()
    expect(page.locator("#throughput-chart")).to_have_attribute("data-job-type", "report.build")
    expect(page.locator("#chart-completed")).to_have_text("3")
