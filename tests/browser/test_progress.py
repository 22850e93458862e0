"""static/queueadmin/progress.js in a real browser, on the example page /examples/progress/.

The example page starts a demo.slow job that a real worker (a thread of this
process) runs, while watchJob() polls the job's public status URL; the other
tests call watchJob() directly against tampered, stubbed or live status URLs.
"""

import json
import time
from itertools import pairwise

import pytest
from playwright.sync_api import expect

from core.models import Job
from core.queue import enqueue
from tests.browser.conftest import log_in, make_staff
from tests.workers import BackgroundWorker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE = "/examples/progress/"

#: Resolves with every callback watchJob made, once onDone or onError ran (then
#: waits ``settle`` ms more, so a callback or request after the end would be seen).
WATCH = """
([url, options, settle]) => new Promise((resolve) => {
  const calls = [];
  const finish = () => setTimeout(() => resolve(calls), settle);
  watchJob(url, {
    ...options,
    onProgress: (status) => calls.push(["progress", status.status, status.progress]),
    onDone: (status) => { calls.push(["done", status.status]); finish(); },
    onError: (error, status) => {
      calls.push(["error", error.message, error.httpStatus ?? null, status && status.status]);
      finish();
    },
  });
})
"""


@pytest.fixture
def example_page(page, live_server):
    """The example page, logged in (staff holding queueadmin.add_job) through the admin login form.

    Fails the test on an uncaught exception or a console error (a CSP violation,
    say) other than the failed loads some tests provoke on purpose.
    """
    # The example page enqueues jobs: it is for staff holding queueadmin.add_job.
    make_staff("visitor", "queueadmin.add_job")
    errors = []

    def on_console(msg):
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server, "visitor", PAGE)
    page.wait_for_load_state("load")  # the deferred scripts have run: the form is wired
    yield page
    assert not errors, errors


def status_requests(page) -> list[str]:
    """A list that fills with the URL of every status poll the page makes."""
    seen = []
    page.on("request", lambda r: seen.append(r.url) if "/api/status/" in r.url else None)
    return seen


def test_example_page_shows_progress_rising_to_completed_as_a_worker_runs_the_job(
    example_page, live_server, settings
):
    page = example_page
    settings.QUEUEADMIN = {**settings.QUEUEADMIN, "PROGRESS_INTERVAL": 0.1}
    polls = status_requests(page)
    status = page.locator("#job-status")
    bar = page.locator("#job-progress")

    page.fill("#id_steps", "5")
    page.fill("#id_step_seconds", "0.5")
    page.get_by_role("button", name="Start a job").click()
    expect(status).to_have_attribute("data-status", "pending")
    job = Job.objects.get()
    assert (job.job_type, job.payload) == ("demo.slow", {"steps": 5, "step_seconds": 0.5})

    with BackgroundWorker(queues=["default"], concurrency=1):
        expect(status).to_have_attribute("data-status", "completed", timeout=30_000)

    expect(status).to_have_text("completed")
    expect(page.locator("#job-percent")).to_have_text("100%")
    assert bar.evaluate("el => el.value") == 100
    assert json.loads(page.locator("#job-output").text_content()) == {"steps": 5}
    history = [int(v) for v in bar.get_attribute("data-progress-history").split(",")]
    assert history[0] == 0, history
    assert history == sorted(history), f"progress went back: {history}"
    assert any(0 < v < 100 for v in history), f"no intermediate progress: {history}"
    assert history[-1] == 100, history
    assert set(polls) == {f"{live_server.url}{job.status_url}"}

    # Finished: watchJob polls no more.
    count = len(polls)
    page.wait_for_timeout(1_500)
    assert len(polls) == count


def test_example_page_shows_the_servers_message_for_bad_input(example_page):
    page = example_page
    # The browser's own validation would stop steps=0; the server must refuse it anyway.
    page.locator("#start-form").evaluate("form => { form.noValidate = true; }")
    page.fill("#id_steps", "0")
    page.get_by_role("button", name="Start a job").click()

    expect(page.locator("#job-status")).to_have_attribute("data-status", "error")
    expect(page.locator("#job-status")).to_contain_text("steps:")
    assert not Job.objects.exists()


def test_watch_job_on_a_tampered_status_url_calls_on_error_once_and_stops(
    example_page, live_server
):
    page = example_page
    job = enqueue("demo.slow", {"steps": 1, "step_seconds": 0})
    ref = job.status_url.removeprefix("/api/status/")
    job_id, signature = ref.split(":")
    polls = status_requests(page)

    for tampered in (f"{int(job_id) + 1}:{signature}", f"{job_id}:{signature[:-2]}xx"):
        url = f"{live_server.url}/api/status/{tampered}"
        calls = page.evaluate(WATCH, [url, {"interval": 50}, 500])

        assert calls == [["error", "no such job status", 404, None]]
        assert polls.count(url) == 1, "it polled again after the 404"


def test_watch_job_on_a_failed_job_calls_on_error_with_its_message(example_page, live_server):
    page = example_page
    job = enqueue("demo.slow", {"steps": 1})
    Job.objects.filter(pk=job.pk).update(
        status="failed", errors=[{"type": "ValueError", "message": "bad input file"}]
    )

    calls = page.evaluate(WATCH, [f"{live_server.url}{job.status_url}", {}, 0])

    assert calls == [["progress", "failed", 0], ["error", "bad input file", None, "failed"]]


def test_watch_job_stop_prevents_any_further_request_and_callback(example_page, live_server):
    page = example_page
    job = enqueue("demo.slow", {"steps": 1})
    polls = status_requests(page)

    calls = page.evaluate(
        """([url]) => new Promise((resolve) => {
          const calls = [];
          const watcher = watchJob(url, {
            interval: 50,
            onProgress: (status) => { calls.push(status.status); watcher.stop(); },
            onDone: () => calls.push("done"),
            onError: () => calls.push("error"),
          });
          setTimeout(() => resolve(calls), 600);
        })""",
        [f"{live_server.url}{job.status_url}"],
    )

    assert calls == ["pending"]
    assert len(polls) == 1


def test_watch_job_retries_server_errors_with_backoff_then_gives_up(example_page, live_server):
    page = example_page
    url = f"{live_server.url}/api/status/stubbed"
    times = []

    def answer_503(route):
        times.append(time.monotonic())
        route.fulfill(status=503, content_type="text/html", body="<h1>Service Unavailable</h1>")

    page.route(url, answer_503)
    calls = page.evaluate(WATCH, [url, {"interval": 100, "maxErrors": 4}, 500])

    assert calls == [
        ["error", "gave up after 4 failed polls: the status URL answered HTTP 503", None, None]
    ]
    assert len(times) == 4, "it did not stop after maxErrors failures"
    gaps = [b - a for a, b in pairwise(times)]
    # interval 100 ms, doubled after each consecutive failure: 200, 400, 800 ms.
    assert all(gap >= 0.9 * want for gap, want in zip(gaps, (0.2, 0.4, 0.8), strict=True)), gaps


def test_watch_job_recovers_after_errors_and_reports_progress(example_page, live_server):
    page = example_page
    url = f"{live_server.url}/api/status/stubbed"
    bodies = [
        None,  # a network error
        (502, {"error": {"status": 502, "message": "bad gateway"}}),
        (200, {"status": "processing", "progress": 40, "finished": False}),
        (200, {"status": "completed", "progress": 100, "output": 1, "finished": True}),
    ]

    def answer(route):
        body = bodies.pop(0)
        if body is None:
            route.abort("connectionreset")
        else:
            route.fulfill(status=body[0], json=body[1])

    page.route(url, answer)
    calls = page.evaluate(WATCH, [url, {"interval": 100}, 300])

    assert calls == [
        ["progress", "processing", 40],
        ["progress", "completed", 100],
        ["done", "completed"],
    ]
    assert not bodies
