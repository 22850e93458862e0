"""Bulk delete in a real browser: of a filter with its confirmation, and of selected rows."""

import pytest
from playwright.sync_api import expect

from core.models import Job, JobEvent
from core.queue import edit_job, enqueue_many
from tests.browser.conftest import mark_document, same_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bulk_delete_of_a_filter_confirms_then_deletes_in_chunks(
    operator_page, live_server, settings
):
    settings.QUEUEADMIN = {
        **settings.QUEUEADMIN,
        "BULK_CHUNK_SIZE": 7,
        "DASHBOARD_BULK_SECONDS": 0.001,
    }
    page = operator_page
    doomed = [j.pk for j in enqueue_many([{"job_type": "bulk.item", "queue": "bulk"}] * 20)]
    edit_job(doomed[0], priority=4)  # an event that goes with its job
    others = [j.pk for j in enqueue_many([{"job_type": "bulk.item", "queue": "other"}] * 3)]
    runs = []
    page.on("request", lambda r: runs.append(r.url) if "/jobs/bulk/run/" in r.url else None)

    page.goto(f"{live_server.url}/jobs/")
    page.locator("#live-toggle").uncheck()
    page.locator("#job-filters input[name=queue]").fill("bulk")
    page.locator("#job-filters").get_by_role("button", name="Filter").click()
    expect(page.locator("#job-table tr.job-row")).to_have_count(20)

    page.locator("#delete-all").click()
    expect(page.locator("#bulk-total")).to_have_text("20")
    expect(page.locator("#bulk-panel")).to_contain_text("cannot be undone")
    assert Job.objects.count() == 23  # nothing happens before the confirmation
    mark_document(page)
    page.locator("#bulk-confirm").click()

    expect(page.locator("#bulk-done")).to_have_text("Done: deleted 20 job(s).")
    expect(page.locator("#job-table tr.job-row")).to_have_count(0)
    assert same_document(page)
    assert len(runs) >= 2, runs
    assert set(Job.objects.values_list("id", flat=True)) == set(others)
    assert not JobEvent.objects.filter(job_id=doomed[0]).exists()


def test_bulk_delete_of_selected_rows_asks_first(operator_page, live_server):
    page = operator_page
    jobs = [j.pk for j in enqueue_many([{"job_type": "sel.item"}] * 3)]
    page.goto(f"{live_server.url}/jobs/")
    page.locator("#live-toggle").uncheck()
    page.locator(f"#job-{jobs[0]} input[name=ids]").check()
    page.locator(f"#job-{jobs[1]} input[name=ids]").check()

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#delete-selected").click()
    expect(page.locator(f"#job-{jobs[0]}")).to_be_visible()
    assert Job.objects.count() == 3  # dismissed: nothing deleted

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#delete-selected").click()
    expect(page.locator(".messages")).to_contain_text("Deleted 2 job(s).")
    expect(page.locator("#job-table tr.job-row")).to_have_count(1)
    assert list(Job.objects.values_list("id", flat=True)) == [jobs[2]]
