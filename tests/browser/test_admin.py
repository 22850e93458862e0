"""The admin in a real browser: log in with the demo login, retry a failed job."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from core import queue
from core.models import Job
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_login(settings) -> tuple[str, str]:
    """The login `make run` prints (the command is refused unless DEBUG is on)."""
    settings.DEBUG = True
    out = StringIO()
    call_command("ensure_demo_user", stdout=out)
    match = re.search(r"username '([^']+)', password '([^']+)'", out.getvalue())
    assert match, out.getvalue()
    return match.group(1), match.group(2)


def log_in_to_admin(page, live_server, username, password):
    log_in(page, live_server, username, "/admin/", password=password)
    page.wait_for_selector("text=Site administration")


def test_demo_login_opens_the_admin(page, live_server, demo_login):
    log_in_to_admin(page, live_server, *demo_login)
    assert page.locator("a", has_text="Jobs").first.is_visible()


def test_operator_retries_a_failed_job_from_the_job_list(page, live_server, demo_login):
    failed = queue.enqueue("billing.charge", {"order": 7})
    Job.objects.filter(pk=failed.pk).update(status="failed", attempts=3, max_attempts=3)
    log_in_to_admin(page, live_server, *demo_login)
    page.goto(f"{live_server.url}/admin/queueadmin/job/?status__exact=failed")
    page.check(f"input[name=_selected_action][value='{failed.pk}']")
    page.select_option("select[name=action]", "retry_selected")
    page.click("button[name=index]")
    page.wait_for_selector("text=Retried 1 job(s).")
    assert Job.objects.get(pk=failed.pk).status == "pending"
    page.goto(f"{live_server.url}/admin/queueadmin/job/{failed.pk}/change/")
    assert page.locator("text=retried").first.is_visible()
    assert '"order": 7' in page.content()
