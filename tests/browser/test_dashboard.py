"""The operator dashboard in a real browser: htmx fragments, live refresh, actions.

Each test drives Debian's Chromium against ``live_server`` (same process, so
the ``settings`` fixture reaches the views) and checks the database where an
action must have changed it. Run with UPDATE_SCREENSHOTS=1 to refresh the
pictures in docs/screenshots/.
"""

import os
import random
import re
import time
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core.models import Job, JobEvent, JobStatus, Worker
from core.queue import enqueue, enqueue_many
from tests.browser.conftest import log_in, make_staff, mark_document, same_document
from tests.workers import BackgroundWorker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --- helpers -----------------------------------------------------------------


def make_job(job_type: str = "reports.build", status: str = "pending", **fields) -> Job:
    """Enqueue a job, then force its status (with plausible timestamps) and ``fields``."""
    queue = fields.pop("queue", "default")
    payload = fields.pop("payload", {"n": 1})
    tags = fields.pop("tags", [])
    job = enqueue(job_type, payload, queue=queue, tags=tags)
    now = timezone.now()
    stamps = {
        "processing": {"started_at": now, "attempts": 1, "locked_by": "test-worker"},
        "waiting": {"started_at": now, "attempts": 1, "wait_until": now + timedelta(hours=1)},
        "completed": {"started_at": now, "completed_at": now, "attempts": 1, "progress": 100},
        "failed": {"started_at": now, "failed_at": now, "attempts": 3, "max_attempts": 3},
        "cancelled": {"cancelled_at": now},
    }.get(status, {})
    Job.objects.filter(pk=job.pk).update(status=status, **{**stamps, **fields})
    return Job.objects.get(pk=job.pk)


def row_ids(page) -> set[int]:
    """Ids of the job rows shown in the job table."""
    ids = page.locator("#job-table tr.job-row").evaluate_all("rows => rows.map(r => r.id)")
    return {int(i.removeprefix("job-")) for i in ids}


# --- tests ---------------------------------------------------------------------


def test_login_lands_on_overview_whose_counts_and_chart_load_after_the_page(page, live_server):
    make_job("emails.send", "completed", queue="emails")
    make_job("emails.send", "failed", queue="emails")
    make_job("reports.build", "pending")
    make_staff("operator", superuser=True)

    log_in(page, live_server, "operator", "/")

    expect(page.locator("h1")).to_have_text("Overview")
    counts = page.locator("#overview-counts table.counts")
    expect(counts).to_be_visible()
    expect(counts.locator("tbody th", has_text="emails")).to_be_visible()
    expect(counts.locator("tfoot td[data-status=failed]")).to_have_text("1")
    expect(page.locator("#overview-metrics svg.throughput")).to_be_visible()
    expect(page.locator("#completed-hour")).to_have_text("1")
    expect(page.locator("#failed-hour")).to_have_text("1")
    expect(page.get_by_text("Counting jobs…")).to_have_count(0)
    expect(page.get_by_text("Loading the last hour…")).to_have_count(0)


def test_jobs_list_filters_by_queue_and_status_tab(operator_page, live_server):
    page = operator_page
    emails_pending = {make_job("emails.send", queue="emails").pk for _ in range(3)}
    emails_failed = {make_job("emails.digest", "failed", queue="emails").pk for _ in range(2)}
    for status in ("pending", "failed", "completed", "completed"):
        make_job("billing.charge", status, queue="billing")

    page.goto(f"{live_server.url}/jobs/")
    tabs = page.locator("#status-tabs")
    expect(tabs.locator("[data-status=all] .count")).to_have_text("9")
    expect(page.locator("#job-table tr.job-row")).to_have_count(9)

    page.locator("#job-filters input[name=queue]").fill("emails")
    page.locator("#job-filters").get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/jobs/\?.*queue=emails"))
    expect(page.locator("#job-table tr.job-row")).to_have_count(5)
    assert row_ids(page) == emails_pending | emails_failed
    expect(tabs.locator("[data-status=all] .count")).to_have_text("5")
    expect(tabs.locator("[data-status=pending] .count")).to_have_text("3")
    expect(tabs.locator("[data-status=failed] .count")).to_have_text("2")
    expect(tabs.locator("[data-status=completed] .count")).to_have_text("0")

    tabs.locator("[data-status=failed]").click()
    expect(page).to_have_url(re.compile(r"status=failed"))
    assert "queue=emails" in page.url
    expect(page.locator("#job-table tr.job-row")).to_have_count(2)
    assert row_ids(page) == emails_failed
    expect(page.locator("#job-table tr.job-row[data-status=failed]")).to_have_count(2)
    expect(tabs.locator("[data-status=failed] .count")).to_have_text("2")
    expect(tabs.locator(".count", has_text="…")).to_have_count(0)


def test_status_tab_stays_marked_active_after_its_counts_load(operator_page, live_server):
    page = operator_page
    make_job("emails.send", "failed", queue="emails")
    make_job("emails.send", queue="emails")

    page.goto(f"{live_server.url}/jobs/?status=failed")
    tabs = page.locator("#status-tabs")
    expect(tabs.locator("[data-status=failed] .count")).to_have_text("1")  # counts loaded
    active = tabs.locator(".tab.active").evaluate_all("tabs => tabs.map(t => t.dataset.status)")
    assert active == ["failed"]


def test_retry_from_jobs_list_swaps_the_row_without_reload(operator_page, live_server):
    page = operator_page
    failed = make_job("reports.build", "failed")
    other = make_job("reports.build", "completed")

    page.goto(f"{live_server.url}/jobs/")
    page.locator("#live-toggle").uncheck()  # only the action's response may change the row
    row = page.locator(f"#job-{failed.pk}")
    expect(row.locator(".badge")).to_have_text("failed")
    mark_document(page)

    retry_url = f"/jobs/{failed.pk}/retry/"
    with page.expect_response(lambda r: r.url.endswith(retry_url)) as response:
        row.get_by_role("button", name="Retry").click()
    assert response.value.status == 200
    assert response.value.request.headers.get("hx-request") == "true"

    expect(row.locator(".badge")).to_have_text("pending")
    expect(row.get_by_role("button", name="Retry")).to_have_count(0)
    expect(row.get_by_role("button", name="Cancel")).to_be_visible()
    assert same_document(page)
    assert Job.objects.get(pk=failed.pk).status == JobStatus.PENDING
    assert Job.objects.get(pk=other.pk).status == JobStatus.COMPLETED
    event = JobEvent.objects.filter(job=failed, type="retried").get()
    assert event.metadata.get("actor") == "operator"


def test_retry_from_job_detail_page_shows_it_pending(operator_page, live_server):
    page = operator_page
    failed = make_job("reports.build", "failed")

    page.goto(f"{live_server.url}/jobs/{failed.pk}/")
    expect(page.locator("#job-status")).to_have_text("failed")
    page.locator("#job-live .actions").get_by_role("button", name="Retry").click()

    expect(page).to_have_url(f"{live_server.url}/jobs/{failed.pk}/")
    expect(page.locator("#job-status")).to_have_text("pending")
    expect(page.locator(".messages")).to_contain_text(f"Job #{failed.pk} retried.")
    expect(page.locator("#job-events li", has_text="retried")).to_contain_text("operator")
    assert Job.objects.get(pk=failed.pk).status == JobStatus.PENDING


def test_running_job_progress_bar_moves_without_reload(operator_page, live_server, settings):
    page = operator_page
    settings.QUEUEADMIN = {**settings.QUEUEADMIN, "PROGRESS_INTERVAL": 0.2}
    job = enqueue("test.progress_steps", {"steps": 8, "pause": 0.5})

    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    page.select_option("#live-interval", "1")
    expect(page.locator("#job-status")).to_have_text("pending")
    mark_document(page)

    read = "() => Number(document.querySelector('#job-progress').value)"
    seen = [page.evaluate(read)]
    with BackgroundWorker(queues=["default"], concurrency=1):
        expect(page.locator("#job-status")).to_have_text("processing")
        while seen[-1] < 100 and len(seen) < 12:
            page.wait_for_function(
                f"last => ({read})() > last", arg=seen[-1], timeout=10_000, polling=100
            )
            seen.append(page.evaluate(read))
        expect(page.locator("#job-status")).to_have_text("completed")

    assert all(a < b for a, b in pairwise(seen)), seen
    assert len([v for v in seen if 0 < v < 100]) >= 2, f"progress jumped: {seen}"
    expect(page.locator("#job-progress-value")).to_have_text("100%")
    assert same_document(page), "the page reloaded"


def test_bulk_cancel_of_a_filter_confirms_then_cancels_in_chunks(
    operator_page, live_server, settings
):
    # Small chunks and (almost) no time budget: one chunk per request, so the
    # action takes several round trips. (0 seconds makes no progress at all;
    # see core/dashboard/views/bulk.py bulk_run.) The counts get a budget a loaded
    # machine keeps (their 0.1 s ran out once beside another suite: "≈ 1").
    settings.QUEUEADMIN = {
        **settings.QUEUEADMIN,
        "BULK_CHUNK_SIZE": 7,
        "DASHBOARD_BULK_SECONDS": 0.001,
        "DASHBOARD_COUNT_SECONDS": 5,
    }
    page = operator_page
    bulk = [j.pk for j in enqueue_many([{"job_type": "bulk.item", "queue": "bulk"}] * 30)]
    others = [j.pk for j in enqueue_many([{"job_type": "bulk.item", "queue": "other"}] * 5)]
    runs = []
    page.on("request", lambda r: runs.append(r.url) if "/jobs/bulk/run/" in r.url else None)

    page.goto(f"{live_server.url}/jobs/")
    page.locator("#live-toggle").uncheck()  # only the action may refresh the table
    page.locator("#job-filters input[name=queue]").fill("bulk")
    page.locator("#job-filters").get_by_role("button", name="Filter").click()
    expect(page.locator("#job-table tr.job-row")).to_have_count(30)

    page.get_by_role("button", name="Cancel all…").click()
    expect(page.locator("#bulk-total")).to_have_text("30")
    expect(page.locator("#bulk-panel")).to_contain_text("queue=bulk")
    mark_document(page)
    page.locator("#bulk-confirm").click()

    expect(page.locator("#bulk-done")).to_have_text("Done: cancelled 30 job(s).")
    expect(page.locator("#job-table tr.job-row[data-status=cancelled]")).to_have_count(30)
    expect(page.locator("#job-table tr.job-row[data-status=pending]")).to_have_count(0)
    assert same_document(page)
    assert len(runs) >= 2, runs  # the work was split over several requests
    cancelled = set(Job.objects.filter(status="cancelled").values_list("id", flat=True))
    assert cancelled == set(bulk)
    assert set(Job.objects.filter(id__in=others).values_list("status", flat=True)) == {"pending"}
    assert JobEvent.objects.filter(type="cancelled").count() == 30


def test_script_in_job_data_shows_as_text_and_never_runs(operator_page, live_server):
    page = operator_page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    job = make_job(
        f"evil{SCRIPT}{IMG}",
        "failed",
        payload={"note": SCRIPT, "html": IMG},
        tags=[SCRIPT, IMG],
        output={"echo": SCRIPT},
        errors=[{"attempt": 1, "message": SCRIPT, "type": IMG, "traceback": SCRIPT, "reason": IMG}],
    )

    page.goto(f"{live_server.url}/jobs/")
    row = page.locator(f"#job-{job.pk}")
    expect(row).to_contain_text(f"evil{SCRIPT}{IMG}")
    expect(row.locator("span.tag", has_text=SCRIPT)).to_have_text(SCRIPT)
    expect(row.locator("span.tag", has_text=IMG)).to_have_text(IMG)
    # Once more after htmx re-rendered the table (a live refresh).
    with page.expect_response(lambda r: r.url.endswith("/jobs/") and r.request.method == "GET"):
        page.select_option("#live-interval", "1")
    expect(row).to_contain_text(f"evil{SCRIPT}{IMG}")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("#job-table img, #job-table script").count() == 0

    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    expect(page.locator("h1")).to_contain_text(f"evil{SCRIPT}{IMG}")
    expect(page.locator("#job-payload")).to_contain_text(SCRIPT)
    expect(page.locator("#job-payload")).to_contain_text('onerror=\\"window.__pwned=1\\"')
    expect(page.locator("#job-output")).to_contain_text(SCRIPT)
    expect(page.locator(".attempt-error")).to_contain_text(SCRIPT)
    expect(page.locator(".attempt-error h3")).to_contain_text(IMG)
    with page.expect_response(lambda r: f"/jobs/{job.pk}/" in r.url and r.request.method == "GET"):
        page.select_option("#live-interval", "1")
    expect(page.locator(".attempt-error pre.traceback")).to_have_text(SCRIPT)
    assert page.locator("main img, main script").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []


class FragmentRequests:
    """The page's requests for the overview's fragments: started, and still open."""

    def __init__(self, page) -> None:
        self.page = page
        self.started: list[str] = []
        self.open: set = set()
        page.on("request", self._start)
        page.on("requestfinished", self._end)
        page.on("requestfailed", self._end)

    @staticmethod
    def _ours(request) -> bool:
        return "/overview/" in request.url

    def _start(self, request) -> None:
        if self._ours(request):
            self.started.append(request.url)
            self.open.add(request)

    def _end(self, request) -> None:
        self.open.discard(request)

    def settle(self) -> int:
        """Wait until no request is open (htmx may send a queued one after it); the count."""
        quiet_since, deadline = None, time.monotonic() + 10
        while quiet_since is None or time.monotonic() - quiet_since < 0.3:
            assert time.monotonic() < deadline, f"requests still open: {self.open}"
            if self.open:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            self.page.wait_for_timeout(50)
        return len(self.started)

    def wait_for_one(self, action=None) -> None:
        """Wait for a fragment request started after (or by) ``action``."""
        with self.page.expect_request(self._ours, timeout=5000):
            if action:
                action()


#: Longer than two polling intervals of 1 s.
QUIET_MS = 2500


def test_live_switch_stops_and_resumes_polling(operator_page, live_server):
    page = operator_page
    fragments = FragmentRequests(page)
    page.goto(f"{live_server.url}/")
    page.select_option("#live-interval", "1")
    expect(page.locator("#live-state")).to_have_text("live")
    fragments.wait_for_one()  # polling runs

    page.locator("#live-toggle").uncheck()
    expect(page.locator("#live-state")).to_have_text("off")
    before = fragments.settle()
    page.wait_for_timeout(QUIET_MS)
    assert fragments.started[before:] == []

    fragments.wait_for_one(lambda: page.locator("#live-toggle").check())
    expect(page.locator("#live-state")).to_have_text("live")


def set_visibility(page, hidden: bool) -> None:
    """Pretend the tab was hidden or shown again, as a browser does."""
    page.evaluate(
        """hidden => {
            Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
            Object.defineProperty(document, "visibilityState",
                {configurable: true, get: () => hidden ? "hidden" : "visible"});
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


def test_polling_pauses_while_the_tab_is_hidden(operator_page, live_server):
    page = operator_page
    fragments = FragmentRequests(page)
    page.goto(f"{live_server.url}/")
    page.select_option("#live-interval", "1")
    fragments.wait_for_one()  # polling runs

    set_visibility(page, hidden=True)
    expect(page.locator("#live-state")).to_have_text("paused")
    before = fragments.settle()
    page.wait_for_timeout(QUIET_MS)
    assert fragments.started[before:] == []
    assert page.locator("#live-toggle").is_checked()

    fragments.wait_for_one(lambda: set_visibility(page, hidden=False))
    expect(page.locator("#live-state")).to_have_text("live")


def test_view_only_staff_sees_no_action_buttons(page, live_server):
    failed = make_job("reports.build", "failed")
    make_job("reports.build", "pending", run_at=timezone.now() + timedelta(hours=1))
    make_job("reports.build", "processing")
    make_staff("viewer", "queueadmin.view_job", "queueadmin.view_worker")
    log_in(page, live_server, "viewer", "/jobs/")

    expect(page.locator("#job-table tr.job-row")).to_have_count(3)
    expect(page.locator("#status-tabs [data-status=all] .count")).to_have_text("3")
    expect(page.locator("main button:not(#job-filters button)")).to_have_count(0)
    expect(page.locator("#bulk-bar")).to_have_count(0)
    expect(page.locator("input[name=ids]")).to_have_count(0)
    expect(page.locator("#job-table th", has_text="Actions")).to_have_count(0)

    page.goto(f"{live_server.url}/jobs/{failed.pk}/")
    expect(page.locator("#job-status")).to_have_text("failed")
    expect(page.locator("main .actions")).to_have_count(0)
    expect(page.locator("main button, main a.button")).to_have_count(0)


# --- screenshots -----------------------------------------------------------------

DEMO_TYPES = [
    (
        "emails.send_welcome",
        "emails",
        ["tenant:acme"],
        {"user_id": 4812, "template": "welcome"},
        ("smtplib.SMTPServerDisconnected", "Connection unexpectedly closed"),
    ),
    (
        "emails.send_receipt",
        "emails",
        ["tenant:globex"],
        {"order_id": 99120, "amount_cents": 4200},
        ("smtplib.SMTPRecipientsRefused", "550 mailbox unavailable"),
    ),
    (
        "webhooks.deliver",
        "webhooks",
        ["api"],
        {"url": "https://hooks.example.com/t/81", "event": "order.paid"},
        ("requests.HTTPError", "503 Server Error: Service Unavailable"),
    ),
    (
        "billing.charge_card",
        "billing",
        ["tenant:acme", "vip"],
        {"customer": "cus_5521", "amount_cents": 12900, "currency": "usd"},
        ("billing.CardDeclined", "card declined: insufficient_funds"),
    ),
    (
        "images.resize",
        "default",
        [],
        {"image_id": 3310, "sizes": [64, 512]},
        ("PIL.UnidentifiedImageError", "cannot identify image file"),
    ),
    (
        "reports.generate",
        "reports",
        ["cron"],
        {"report": "weekly_sales", "format": "pdf"},
        ("psycopg.errors.QueryCanceled", "canceling statement due to statement timeout"),
    ),
]
#: Index in DEMO_TYPES of each failed job; the first is the one pictured.
FAILED_TYPES = [3, 2, 0, 5, 3]
DEMO_PLAN = (
    ["completed"] * 22
    + ["failed"] * 5
    + ["processing"] * 3
    + ["pending"] * 5
    + ["waiting"] * 2
    + ["cancelled"] * 3
)


def demo_traceback(job_type: str, kind: str, message: str) -> str:
    """A traceback as the worker records it, for a handler in the project's code."""
    module, func = job_type.split(".")
    return (
        "Traceback (most recent call last):\n"
        '  File "/app/core/worker/executor.py", line 58, in execute\n'
        "    result = handler(payload, ctx)\n"
        f'  File "/app/{module}/tasks.py", line 42, in {func}\n'
        "    response = client.call(payload)\n"
        f'  File "/app/{module}/client.py", line 117, in call\n'
        "    raise error_for(response)\n"
        f"{kind}: {message}\n"
    )


#: A failed job's attempts, in seconds before it failed: (started, failed).
FAILED_ATTEMPTS = [(130, 120), (90, 80), (45, 0)]
WORKER_IDS = ["web-1:4242", "web-2:5117"]


def demo_record(status: str, kind: tuple, now, rng: random.Random) -> dict:
    """The fields of one seeded job in ``status``, with a coherent timeline."""
    job_type, _, _, _, (error_type, message) = kind
    ago = timedelta(minutes=rng.uniform(1, 58))
    run, wait = timedelta(seconds=rng.uniform(0.2, 4)), timedelta(seconds=rng.uniform(0.1, 3))
    seconds = timedelta(seconds=1)
    if status == "completed":
        end = now - ago
        return {
            "created_at": end - run - wait,
            "run_at": end - run - wait,
            "started_at": end - run,
            "completed_at": end,
            "updated_at": end,
            "attempts": 1,
            "progress": 100,
            "output": {"ok": True, "ms": int(run.total_seconds() * 1000)},
        }
    if status == "failed":
        end = now - ago
        errors = [
            {
                "attempt": n,
                "at": (end - failed * seconds).isoformat(),
                "message": message,
                "type": error_type,
                "traceback": demo_traceback(job_type, error_type, message),
                "reason": "handler_error",
            }
            for n, (_, failed) in enumerate(FAILED_ATTEMPTS, 1)
        ]
        return {
            "created_at": end - 150 * seconds,
            "run_at": end - 50 * seconds,
            "started_at": end - 45 * seconds,
            "failed_at": end,
            "updated_at": end,
            "attempts": 3,
            "errors": errors,
        }
    if status == "processing":
        created = now - rng.uniform(20, 90) * seconds
        return {
            "created_at": created,
            "run_at": created,
            "started_at": created + seconds,
            "updated_at": now,
            "attempts": 1,
            "progress": rng.choice([12, 35, 62, 88]),
            "locked_by": rng.choice(WORKER_IDS),
            "locked_until": now + 30 * seconds,
        }
    if status == "pending":
        created = now - rng.uniform(5, 60) * seconds
        later = rng.choice([None, None, 10, 25])
        run_at = created if later is None else now + timedelta(minutes=later)
        return {"created_at": created, "run_at": run_at, "updated_at": created}
    if status == "waiting":
        created = now - ago
        return {
            "created_at": created,
            "run_at": created,
            "started_at": created + 2 * seconds,
            "updated_at": created + 3 * seconds,
            "attempts": 1,
            "progress": 40,
            "wait_until": now + timedelta(hours=2),
        }
    created = now - ago  # cancelled
    end = min(created + rng.uniform(30, 300) * seconds, now)
    return {"created_at": created, "run_at": created, "cancelled_at": end, "updated_at": end}


def add_failure_history(job: Job) -> None:
    """The events the worker writes for three failed attempts of ``job``."""
    end, (kind, message) = job.failed_at, (job.errors[0]["type"], job.errors[0]["message"])
    for n, (started, failed) in enumerate(FAILED_ATTEMPTS, 1):
        worker = WORKER_IDS[n % 2]
        meta = {"attempt": n, "reason": "handler_error", "error": f"{kind}: {message}"}
        history = [("processing", started, {"worker": worker, "attempt": n})]
        if n < len(FAILED_ATTEMPTS):
            history.append(("retried", failed, {**meta, "retry_in": 10.0 * 2 ** (n - 1)}))
        else:
            history.append(("failed", failed, meta))
        for event_type, seconds_before, metadata in history:
            event = JobEvent.objects.create(job=job, type=event_type, metadata=metadata)
            at = end - timedelta(seconds=seconds_before)
            JobEvent.objects.filter(pk=event.pk).update(at=at)


def seed_demo(now) -> Job:
    """40 jobs in every status, ids in creation order, finished over the last hour.

    Returns the failed billing job whose page is pictured.
    """
    rng = random.Random(7)
    plan = list(DEMO_PLAN)
    rng.shuffle(plan)
    failed_kinds = iter(FAILED_TYPES)
    rows = []
    for i, status in enumerate(plan):
        index = next(failed_kinds) if status == "failed" else i % len(DEMO_TYPES)
        rows.append((status, DEMO_TYPES[index], demo_record(status, DEMO_TYPES[index], now, rng)))
    rows.sort(key=lambda row: row[2]["created_at"])
    jobs = enqueue_many(
        {"job_type": job_type, "queue": queue, "tags": tags, "payload": {**payload, "n": i}}
        for i, (_, (job_type, queue, tags, payload, _), _) in enumerate(rows)
    )
    featured = None
    for job, (status, kind, values) in zip(jobs, rows, strict=True):
        Job.objects.filter(pk=job.pk).update(status=status, **values)
        if status == "failed" and kind[0] == "billing.charge_card" and featured is None:
            featured = Job.objects.get(pk=job.pk)
    assert featured is not None
    add_failure_history(featured)
    Worker.objects.create(
        id=WORKER_IDS[0],
        host="web-1",
        pid=4242,
        queues=["default", "emails", "webhooks", "billing", "reports"],
        concurrency=8,
        running=3,
        processed=27,
        started_at=now - timedelta(hours=3),
        heartbeat_at=now,
    )
    return featured


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC), path
    assert len(data) > 10_000, f"{path} is suspiciously small ({len(data)} bytes)"


def test_screenshots_of_overview_jobs_and_job_pages(operator_page, live_server, tmp_path):
    page = operator_page
    page.set_viewport_size({"width": 1280, "height": 800})
    featured = seed_demo(timezone.now())
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        out = ROOT / "docs" / "screenshots"
        out.mkdir(parents=True, exist_ok=True)
    else:
        out = tmp_path

    page.goto(f"{live_server.url}/")
    expect(page.locator("#completed-hour")).to_have_text("22")
    expect(page.locator("#failed-hour")).to_have_text("5")
    expect(page.locator("#workers-alive")).to_have_text("1")
    expect(page.locator("#overview-counts tfoot td[data-status=pending]")).to_have_text("5")
    drawn = page.evaluate(
        """() => ["completed", "failed"].map(kind =>
            [...document.querySelectorAll(`svg.throughput rect.${kind}`)]
                .filter(r => parseFloat(r.getAttribute("height")) > 0).length)"""
    )
    assert drawn[0] > 0, "no completed bar drawn"
    assert drawn[1] > 0, "no failed bar drawn"
    page.screenshot(path=out / "overview.png", full_page=True)

    page.goto(f"{live_server.url}/jobs/")
    expect(page.locator("#status-tabs [data-status=all] .count")).to_have_text("40")
    expect(page.locator("#job-table tr.job-row")).to_have_count(40)
    page.screenshot(path=out / "jobs.png", full_page=True)

    page.goto(f"{live_server.url}/jobs/{featured.pk}/")
    expect(page.locator("#job-status")).to_have_text("failed")
    expect(page.locator(".attempt-error")).to_have_count(3)
    expect(page.locator("#job-events li")).to_have_count(7)
    page.screenshot(path=out / "job.png", full_page=True)

    for name in ("overview.png", "jobs.png", "job.png"):
        assert_png(out / name)
