"""The "New job" form in a real browser: fill it, submit, land on the job's page."""

import pytest
from playwright.sync_api import expect

from core.models import Job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_new_job_form_enqueues_and_shows_the_job_page(operator_page, live_server):
    page = operator_page
    page.goto(f"{live_server.url}/jobs/")
    page.locator("#new-job").click()
    expect(page).to_have_url(f"{live_server.url}/jobs/new/")
    expect(page.locator("#job-types option[value='queueadmin.noop']")).to_have_count(1)

    page.locator("#id_job_type").fill("queueadmin.noop")
    page.locator("#id_payload").fill('{"order": 42,\n "lines": [1, 2]}')
    page.locator("#id_queue").fill("mail")
    page.locator("#id_priority").fill("7")
    page.locator("#id_tags").fill("manual, urgent")
    page.locator("#enqueue").click()

    job = Job.objects.get()
    expect(page).to_have_url(f"{live_server.url}/jobs/{job.pk}/")
    expect(page.locator(".messages")).to_contain_text(f"Job #{job.pk} queueadmin.noop enqueued.")
    expect(page.locator("#job-payload")).to_contain_text('"order": 42')
    expect(page.locator("#job-events")).to_contain_text("added by operator")
    assert (job.queue, job.priority, job.tags) == ("mail", 7, ["manual", "urgent"])


def test_new_job_form_with_bad_json_shows_line_and_column(operator_page, live_server):
    page = operator_page
    page.goto(f"{live_server.url}/jobs/new/")
    page.locator("#id_job_type").fill("queueadmin.noop")
    page.locator("#id_payload").fill('{\n  "a": 1\n  "b": 2\n}')
    page.locator("#enqueue").click()

    expect(page.locator("#id_payload_error")).to_have_text(
        "Not valid JSON: Expecting ',' delimiter at line 3, column 3."
    )
    expect(page.locator("#id_payload")).to_have_value('{\n  "a": 1\n  "b": 2\n}')
    expect(page.locator("#id_job_type")).to_have_value("queueadmin.noop")
    assert not Job.objects.exists()
