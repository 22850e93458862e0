"""The Cron page in a real browser: create a schedule through the form, see its next
runs, run it now and follow the job; an invalid expression is explained beside its field.

Each test drives Debian's Chromium against ``live_server``; a BackgroundWorker (a
thread of this process) runs the ``test.echo`` job where one is needed.
"""

import re

import pytest
from playwright.sync_api import expect

from core.models import CronSchedule, Job
from core.scheduling import cron
from tests.workers import BackgroundWorker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIRE_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d[05] UTC$")


@pytest.fixture
def operator_start():
    """operator_page lands on the Cron page."""
    return "/cron/"


def cron_row(page, schedule: CronSchedule):
    return page.locator(f"#cron-table tr#cron-{schedule.pk}")


def test_nav_leads_to_the_cron_page(operator_page, live_server):
    page = operator_page
    page.goto(f"{live_server.url}/tokens/")
    page.locator(".mainnav").get_by_role("link", name="Cron").click()
    expect(page).to_have_url(f"{live_server.url}/cron/")
    expect(page.locator('.mainnav a[aria-current="page"]')).to_have_text("Cron")
    expect(page.locator("h1")).to_have_text("Cron")


def test_create_a_schedule_see_its_next_runs_run_it_now_and_follow_the_job(
    operator_page, live_server
):
    page = operator_page
    page.get_by_role("link", name="New schedule").click()
    expect(page).to_have_url(f"{live_server.url}/cron/new/")
    expect(page.locator('.mainnav a[aria-current="page"]')).to_have_text("Cron")

    page.get_by_label("Name").fill("every-five")
    page.get_by_label("Expression").fill("*/5 * * * *")
    # The preview explains the expression and lists its next runs as it is typed.
    expect(page.locator("#cron-preview-words")).to_have_text("Every 5 minutes")
    expect(page.locator("#cron-preview time")).to_have_count(5)
    page.get_by_label("Job type").fill("test.echo")
    page.get_by_label("Payload").fill('{"hello": "cron"}')
    page.get_by_role("button", name="Create").click()

    expect(page).to_have_url(f"{live_server.url}/cron/")
    expect(page.locator(".messages")).to_contain_text("Schedule every-five created; next run ")
    schedule = CronSchedule.objects.get(name="every-five")
    assert schedule.next_run_at is not None
    row = cron_row(page, schedule)
    expect(row.locator(".cron-words")).to_have_text("Every 5 minutes")
    times = row.locator("ol.fire-times time")
    expect(times).to_have_count(5)
    texts = times.all_inner_texts()
    assert all(FIRE_TIME.match(text) for text in texts), texts
    assert len(set(texts)) == 5
    expect(row.locator(".cron-last")).to_have_text("never")

    row.get_by_role("button", name="Run now").click()
    job = Job.objects.get(job_type="test.echo")
    message = page.locator(".messages")
    expect(message).to_have_text(f"Schedule every-five ran: job #{job.pk} enqueued.")
    expect(cron_row(page, schedule).locator(".cron-last a")).to_have_text(f"#{job.pk}")

    message.get_by_role("link", name=f"job #{job.pk}").click()
    expect(page).to_have_url(f"{live_server.url}/jobs/{job.pk}/")
    expect(page.locator("h1")).to_contain_text("test.echo")

    page.goto(f"{live_server.url}/jobs/")
    expect(page.locator(f"#job-{job.pk}")).to_contain_text("test.echo")

    # A worker runs it; the Cron page shows the outcome by refreshing itself.
    page.goto(f"{live_server.url}/cron/")
    page.select_option("#live-interval", "1")
    with BackgroundWorker(queues=["default"], concurrency=1):
        expect(cron_row(page, schedule).locator(".cron-last .badge")).to_have_text(
            "completed", timeout=20_000
        )
    assert Job.objects.get(pk=job.pk).output == {"hello": "cron"}


def test_an_invalid_expression_is_explained_beside_its_field(operator_page, live_server):
    page = operator_page
    page.goto(f"{live_server.url}/cron/new/")
    page.get_by_label("Name").fill("broken")
    page.get_by_label("Expression").fill("every day at noon")
    expect(page.locator("#cron-preview-error")).to_contain_text("Not a valid cron expression")
    page.get_by_label("Job type").fill("test.echo")
    page.get_by_role("button", name="Create").click()

    expect(page).to_have_url(f"{live_server.url}/cron/new/")
    error = page.locator("#field-expression").get_by_role("alert")
    expect(error).to_contain_text("Not a valid cron expression: 'every day at noon'")
    expect(page.get_by_label("Expression")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Expression")).to_have_value("every day at noon")
    expect(page.get_by_label("Name")).to_have_value("broken")
    assert not CronSchedule.objects.exists()

    page.get_by_label("Expression").fill("0 12 * * 1-5")
    page.get_by_role("button", name="Create").click()
    expect(page).to_have_url(f"{live_server.url}/cron/")
    assert CronSchedule.objects.get(name="broken").expression == "0 12 * * 1-5"


def test_edit_pause_resume_and_remove(operator_page, live_server):
    page = operator_page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    schedule = cron.add_cron("nightly", "30 1 * * *", "test.echo", timezone="Europe/London")
    page.goto(f"{live_server.url}/cron/")
    row = cron_row(page, schedule)
    expect(row.locator(".cron-zone")).to_have_text("Europe/London")
    expect(row.locator("ol.fire-times time").first).to_contain_text("01:30")

    row.get_by_role("link", name="Edit").click()
    expect(page).to_have_url(f"{live_server.url}/cron/{schedule.pk}/edit/")
    page.get_by_label("Expression").fill("45 6 * * *")
    page.get_by_label("Time zone").fill("Asia/Kolkata")
    expect(page.locator("#cron-preview time").first).to_contain_text("06:45 IST")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(f"{live_server.url}/cron/")
    expect(page.locator(".messages")).to_contain_text("Schedule nightly saved; next run ")
    expect(row.locator("ol.fire-times time")).to_have_count(5)
    expect(row.locator("ol.fire-times time").first).to_contain_text("06:45 IST")

    row.get_by_role("button", name="Pause").click()
    expect(row).to_have_attribute("data-status", "paused")
    assert CronSchedule.objects.get(pk=schedule.pk).status == "paused"
    row.get_by_role("button", name="Resume").click()
    expect(row).to_have_attribute("data-status", "active")

    row.get_by_role("button", name="Remove").click()
    expect(page.locator(".messages")).to_contain_text("Schedule nightly removed")
    expect(row).to_have_count(0)
    assert dialogs == ["Remove schedule “nightly”? The jobs it enqueued stay."]
    assert not CronSchedule.objects.exists()


def test_the_table_refreshes_itself(operator_page, live_server):
    page = operator_page
    page.select_option("#live-interval", "1")
    expect(page.locator("#cron-table")).to_contain_text("No schedules yet.")
    schedule = cron.add_cron("later", "0 3 * * *", "test.echo")
    expect(cron_row(page, schedule)).to_be_visible()
