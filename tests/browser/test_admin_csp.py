"""The admin keeps the dashboard's Content-Security-Policy: every changelist, change page
and add page of the app's models renders in Chromium without a CSP violation (no inline
style or script) and without a console error."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from core import queue, streams
from core.durable import tokens
from core.models import (
    ApiKey,
    ChannelPolicy,
    Job,
    JobEvent,
    JobStat,
    JobStatHour,
    MaintenanceTask,
    Queue,
    Subscription,
    WaitToken,
    Worker,
    WorkerDeath,
)
from tests.records import schedule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

APP_LABEL = "queueadmin"

# Pushes every CSP violation of the document into window.__cspViolations (installed
# through the DevTools protocol, so the policy under test does not block it).
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push({
    directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample,
    source: e.sourceFile, line: e.lineNumber,
  });
});
"""


@pytest.fixture
def operator_start() -> str:
    return "/admin/"


@pytest.fixture
def seeded():
    """One row of each model the app registers in the admin, JSON fields filled in."""
    now = timezone.now()
    job = queue.enqueue("billing.charge", {"order": 7, "note": "<b>not markup</b>"})
    Job.objects.filter(pk=job.pk).update(
        status="failed",
        attempts=3,
        max_attempts=3,
        output={"charged": False, "lines": ["a", "b"]},
        errors=[{"attempt": 1, "error": "ValueError: card declined", "at": now.isoformat()}],
        step_data={"reserve": {"ok": True}},
        failed_at=now,
    )
    if not JobEvent.objects.filter(job_id=job.pk).exists():
        JobEvent.objects.create(job_id=job.pk, type="enqueued")
    JobEvent.objects.filter(job_id=job.pk).update(metadata={"by": "ops", "reason": "test"})
    waiting = queue.enqueue("orders.approve", {"order": 8})
    token = tokens.create_token(waiting.pk, timeout=60, tags=["approval"])
    WaitToken.objects.filter(pk=token.pk).update(
        status="completed", output={"approved": True}, completed_at=now
    )
    schedule("nightly", payload={"report": "daily"})
    streams.create_topic("orders", partitions=1)
    streams.publish("orders", {"id": 7, "items": [1, 2]}, key="customer-42")
    streams.commit("billing", "orders", 0, 1)
    Subscription.objects.create(
        name="hook",
        topic_id="orders",
        group="mail",
        endpoint="https://example.com/hook",
        last_error="503 Service Unavailable",
        last_error_at=now,
        next_attempt={"0": now.isoformat()},
    )
    Queue.objects.update_or_create(name="default", defaults={"max_concurrency": 2})
    ChannelPolicy.objects.create(name="paced", release_interval=0.3)
    ApiKey.create("ci")
    Worker.objects.create(
        id="w1", host="h1", pid=1, concurrency=4, started_at=now, heartbeat_at=now
    )
    WorkerDeath.objects.create(
        worker="w0", host="h1", pid=2, reason="exited", detail={"exitcode": -9}, at=now
    )
    JobStat.objects.create(minute=now, queue="mail", job_type="test.echo", completed=3)
    JobStatHour.objects.create(hour=now, queue="mail", job_type="test.echo", completed=3)
    MaintenanceTask.objects.update_or_create(
        name="reclaim",
        defaults={
            "last_run_at": now - timedelta(seconds=5),
            "last_result": {"ok": True, "summary": "reclaimed 0 jobs", "seconds": 0.01},
        },
    )


def admin_pages() -> list[str]:
    """The changelist, first change page and (where allowed) add page of every model of
    the app in the admin; a model registered with no row seeded above fails here."""
    superuser = get_user_model().objects.get(username="operator")
    request = RequestFactory().get("/admin/")
    request.user = superuser
    urls = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        if opts.app_label != APP_LABEL:
            continue
        prefix = f"admin:{opts.app_label}_{opts.model_name}"
        urls.append(reverse(f"{prefix}_changelist"))
        obj = model.objects.order_by("pk").first()
        assert obj is not None, f"seed a {opts.model_name} in test_admin_csp.seeded"
        urls.append(reverse(f"{prefix}_change", args=[quote(obj.pk)]))
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"{prefix}_add"))
    return urls


def test_every_admin_page_of_the_app_keeps_the_csp(operator_page, live_server, seeded):
    page = operator_page
    console_errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.add_init_script(LISTEN)
    urls = admin_pages()
    models = {m for m in admin.site._registry if m._meta.app_label == APP_LABEL}
    assert len(models) >= 13  # jobs, events, cron, tokens, streams, policies, keys, workers…
    problems = {}
    for url in urls:
        console_errors.clear()
        response = page.goto(live_server.url + url)
        assert response.status == 200, url
        assert "style-src 'self'" in response.headers.get("content-security-policy", ""), url
        # Violation events are dispatched as tasks: let the queued ones run.
        page.evaluate("() => new Promise((done) => setTimeout(done, 50))")
        violations = page.evaluate("window.__cspViolations")
        if violations or console_errors:
            problems[url] = {"violations": violations, "console": list(console_errors)}
    assert problems == {}, f"{len(problems)} of {len(urls)} admin pages: {problems}"


def test_json_fields_are_styled_by_the_app_stylesheet(operator_page, live_server, seeded):
    job = Job.objects.get(job_type="billing.charge")
    operator_page.goto(f"{live_server.url}/admin/queueadmin/job/{job.pk}/change/")
    payload = operator_page.locator("pre.queueadmin-json", has_text="not markup")
    assert payload.evaluate("(pre) => getComputedStyle(pre).whiteSpace") == "pre-wrap"
    assert payload.get_attribute("style") is None


def test_the_page_showing_a_new_api_key_keeps_the_csp(operator_page, live_server):
    """Rendered by ApiKeyAdmin.response_add itself (no redirect): checked on its own."""
    page = operator_page
    console_errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
    page.add_init_script(LISTEN)
    page.goto(f"{live_server.url}/admin/queueadmin/apikey/add/")
    page.fill("#id_name", "deployer")
    page.click("input[name=_save]")
    page.wait_for_selector("text=Send it as a bearer token")
    page.evaluate("() => new Promise((done) => setTimeout(done, 50))")
    assert page.evaluate("window.__cspViolations") == []
    assert console_errors == []
