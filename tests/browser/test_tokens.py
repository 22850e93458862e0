"""The Tokens page in a real browser: complete a parked job's token and watch the job finish.

Each test drives Debian's Chromium against ``live_server``; a BackgroundWorker
(a thread of this process) runs the ``test.approval`` job where one is needed.
"""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core.durable import tokens
from core.models import Job, WaitToken
from core.queue import enqueue
from tests.records import waiting_job
from tests.workers import BackgroundWorker, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def operator_start():
    """operator_page lands on the Tokens page."""
    return "/tokens/"


def token_row(page, token: WaitToken):
    return page.locator(f'#token-table tr[data-token="{token.id}"]')


def parked_token(job: Job) -> WaitToken | None:
    """The job's token once the worker has parked the job on it."""
    if not Job.objects.filter(pk=job.pk, status="waiting", wait_token__isnull=False).exists():
        return None
    return WaitToken.objects.filter(job_id=job.pk).first()


def test_nav_leads_to_the_tokens_page(operator_page, live_server):
    page = operator_page
    page.goto(f"{live_server.url}/jobs/")
    page.locator(".mainnav").get_by_role("link", name="Tokens").click()
    expect(page).to_have_url(f"{live_server.url}/tokens/")
    expect(page.locator('.mainnav a[aria-current="page"]')).to_have_text("Tokens")
    expect(page.locator("h1")).to_have_text("Tokens")


def test_completing_a_token_in_the_browser_lets_the_job_finish(operator_page, live_server):
    page = operator_page
    job = enqueue("test.approval", {})
    with BackgroundWorker(queues=["default"], concurrency=1, lease=0.6):
        token = wait_for(lambda: parked_token(job), timeout=30, message="the job to park")
        page.goto(f"{live_server.url}/tokens/")
        row = page.locator(f'#token-table tr[data-job="{job.pk}"]')
        expect(row).to_have_attribute("data-status", "waiting")
        expect(row.locator("code.token-id")).to_have_attribute("title", token.id)
        expect(row).to_contain_text("test.approval")
        row.locator("textarea").fill('{"approved": true}')
        row.get_by_role("button", name="Complete").click()
        expect(row).to_have_attribute("data-status", "completed")
        expect(row.get_by_role("status")).to_contain_text("completed")

        page.goto(f"{live_server.url}/jobs/{job.pk}/")
        page.select_option("#live-interval", "1")
        expect(page.locator("#job-status")).to_have_text("completed", timeout=20_000)
        expect(page.locator("#job-output")).to_contain_text('"approved": true')
    job = Job.objects.get(pk=job.pk)
    assert job.output == {"ok": True, "output": {"approved": True}, "error": None}
    assert WaitToken.objects.get(pk=token.pk).output == {"approved": True}


def test_invalid_json_shows_the_error_and_keeps_the_text(operator_page, live_server):
    page = operator_page
    token = waiting_job(timeout=600)
    page.goto(f"{live_server.url}/tokens/")
    row = token_row(page, token)
    row.locator("textarea").fill('{"approved": tru}')
    row.get_by_role("button", name="Complete").click()
    expect(row.get_by_role("alert")).to_contain_text(
        "Not valid JSON: Expecting value at line 1, column 14."
    )
    expect(row.get_by_role("alert")).to_contain_text("Nothing changed.")
    expect(row.locator("textarea")).to_have_value('{"approved": tru}')
    assert WaitToken.objects.get(pk=token.pk).status == "waiting"
    assert Job.objects.get(pk=token.job_id).status == "waiting"

    row.locator("textarea").fill('{"approved": true}')
    row.get_by_role("button", name="Complete").click()
    expect(row).to_have_attribute("data-status", "completed")
    assert WaitToken.objects.get(pk=token.pk).output == {"approved": True}
    assert Job.objects.get(pk=token.job_id).status == "pending"


def test_live_refresh_skips_the_table_while_the_operator_types(operator_page, live_server):
    page = operator_page
    first = waiting_job(timeout=600)
    page.select_option("#live-interval", "1")
    second = waiting_job(timeout=600)
    expect(token_row(page, second)).to_be_visible()  # the table refreshes by itself

    box = token_row(page, first).locator("textarea")
    box.fill('{"half": ')
    box.evaluate("el => { el.dataset.mark = 'kept'; }")
    third = waiting_job(timeout=600)
    page.wait_for_timeout(3_000)  # three refresh periods
    expect(box).to_have_value('{"half": ')
    expect(box).to_have_attribute("data-mark", "kept")  # the same element: never swapped
    expect(token_row(page, third)).to_have_count(0)

    box.fill("")
    page.locator("h1").click()  # the box loses the focus, empty
    expect(token_row(page, third)).to_be_visible()


def test_expire_asks_first_then_times_the_token_out(operator_page, live_server):
    page = operator_page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    token = waiting_job(timeout=600)
    page.goto(f"{live_server.url}/tokens/")
    row = token_row(page, token)
    row.get_by_role("button", name="Expire").click()
    expect(row).to_have_attribute("data-status", "timed_out")
    assert len(dialogs) == 1
    assert dialogs[0].startswith(f"Expire token {token.id[:8]}")
    assert WaitToken.objects.get(pk=token.pk).status == "timed_out"
    assert Job.objects.get(pk=token.job_id).status == "pending"


def test_status_tabs_filter_the_list(operator_page, live_server):
    page = operator_page
    waiting = waiting_job(timeout=600)
    done = waiting_job(timeout=600)
    tokens.complete_token(done.id, {"ok": 1})
    page.goto(f"{live_server.url}/tokens/")
    expect(token_row(page, waiting)).to_be_visible()
    expect(token_row(page, done)).to_have_count(0)
    page.locator("#token-tabs").get_by_role("link", name="completed").click()
    expect(page).to_have_url(f"{live_server.url}/tokens/?status=completed")
    expect(token_row(page, done)).to_be_visible()
    expect(token_row(page, waiting)).to_have_count(0)


def test_completing_from_the_job_page(operator_page, live_server):
    page = operator_page
    token = waiting_job(timeout=600)
    page.goto(f"{live_server.url}/jobs/{token.job_id}/")
    page.select_option("#live-interval", "1")
    box = page.locator("#job-tokens textarea")
    box.fill('{"approved": false}')
    page.wait_for_timeout(2_500)  # live refreshes of the job page must not wipe it
    expect(box).to_have_value('{"approved": false}')
    page.locator("#job-tokens").get_by_role("button", name="Complete").click()
    expect(page).to_have_url(f"{live_server.url}/jobs/{token.job_id}/")
    expect(page.locator(".messages")).to_contain_text(f"Token {token.id[:8]}… completed")
    expect(page.locator("#job-tokens tr.token-row")).to_have_attribute("data-status", "completed")
    expect(page.locator("#job-status")).to_have_text("pending")
    token = WaitToken.objects.get(pk=token.pk)
    assert token.output == {"approved": False}
    assert token.completed_at <= timezone.now()
