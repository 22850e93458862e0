"""static/queueadmin/react.js (useJob, JobProvider) on a small React page in a real browser.

The page, tests/browser/react/app.js, imports the module as an application would.
index.html resolves "react" through an import map (an ES module build of the npm
packages, made here by esbuild; React is a test-only npm dependency, never loaded from
a CDN) and loads react.js, and the progress.js it imports, from the live server's
/static/; bundled.html loads esbuild's bundle of app.js, react.js and React. Both run
under a CSP as strict as the site's. Jobs are real, run by a real worker (a thread of
this process), and polled at their real status URLs. The pages and the built files are
answered by Playwright, at /react-test/ on the live server's origin.

Without node or the npm packages (`npm ci`; `make test` runs it) these tests are
skipped, and fail under CI.
"""

import base64
import hashlib
import re
import shutil
import subprocess
import time
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlencode, urlparse

import pytest
from playwright.sync_api import expect

from core.queue import enqueue
from tests.conftest import in_ci
from tests.workers import BackgroundWorker, run_burst

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PAGE_DIR = Path(__file__).resolve().parent / "react"
VENDOR_ENTRIES = ["vendor-react.js", "vendor-react-dom-client.js"]


def missing_npm_tools() -> str | None:
    """Why the React page cannot be built here, or None."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm not found: apt-get install -y nodejs npm, then npm ci"
    modules = ROOT / "node_modules"
    if not all((modules / name).is_dir() for name in ("react", "react-dom", "esbuild")):
        return "the npm test dependencies are not installed: run `npm ci` (make test does)"
    return None


def esbuild(*args: str) -> None:
    """Run node_modules' esbuild (development builds of React: its warnings show)."""
    command = [str(ROOT / "node_modules" / ".bin" / "esbuild"), *args]
    command += ["--bundle", "--format=esm", '--define:process.env.NODE_ENV="development"']
    subprocess.run([*command, "--log-level=warning"], cwd=ROOT, check=True, timeout=120)


@pytest.fixture(scope="session")
def react_builds(tmp_path_factory) -> dict[str, bytes]:
    """The files esbuild makes, by their path under /react-test/: vendor/ holds ES modules
    of "react" and "react-dom/client" sharing one React, for index.html's import map;
    bundle.js is app.js with React and static/queueadmin/react.js, for bundled.html."""
    reason = missing_npm_tools()
    if reason:
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("react-builds")
    entries = [str(PAGE_DIR / entry) for entry in VENDOR_ENTRIES]
    esbuild(*entries, "--splitting", f"--outdir={out / 'vendor'}")
    # As an application's bundler would: "queueadmin/react.js" is the file in static/.
    esbuild(
        str(PAGE_DIR / "app.js"),
        "--alias:queueadmin=./static/queueadmin",
        f"--outfile={out / 'bundle.js'}",
    )
    return {path.relative_to(out).as_posix(): path.read_bytes() for path in out.rglob("*.js")}


def page_csp(html: str) -> str:
    """The site's policy (SECURE_CSP), with the page's inline import map allowed by its hash."""
    import_map = re.search(r'<script type="importmap">(.*?)</script>', html, re.S)
    script_src = "'self'"
    if import_map:
        digest = base64.b64encode(hashlib.sha256(import_map.group(1).encode()).digest()).decode()
        script_src += f" 'sha256-{digest}'"
    return (
        f"default-src 'self'; script-src {script_src}; style-src 'self'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'"
    )


@pytest.fixture
def react_page(page, live_server, react_builds):
    """open(html="index.html", **query) shows a test page; fails the test on a console
    error or uncaught exception other than the failed loads some tests provoke on purpose."""
    files = {name: ("text/javascript", body, {}) for name, body in react_builds.items()}
    files["app.js"] = ("text/javascript", (PAGE_DIR / "app.js").read_bytes(), {})
    for name in ("index.html", "bundled.html"):
        html = (PAGE_DIR / name).read_text()
        files[name] = ("text/html", html.encode(), {"Content-Security-Policy": page_csp(html)})

    def serve(route):
        name = urlparse(route.request.url).path.removeprefix("/react-test/")
        if name not in files:
            route.fulfill(status=404, body="not found")
            return
        content_type, body, headers = files[name]
        route.fulfill(status=200, content_type=content_type, body=body, headers=headers)

    page.route(f"{live_server.url}/react-test/**", serve)
    errors = []

    def on_console(msg):
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def open_page(html="index.html", **query):
        page.goto(f"{live_server.url}/react-test/{html}?{urlencode(query)}")
        # React rendered the App, or recorded the error that stopped it.
        page.wait_for_function(
            "() => document.getElementById('root').childElementCount"
            " || document.body.dataset.renderError"
        )
        return page

    yield open_page
    assert not errors, errors


def status_requests(page) -> list:
    """A list that fills with every status poll request the page makes."""
    seen = []
    page.on("request", lambda r: seen.append(r) if "/api/status/" in r.url else None)
    return seen


@pytest.mark.parametrize("html", ["index.html", "bundled.html"], ids=["import-map", "bundled"])
def test_use_job_follows_a_job_run_by_a_worker_from_pending_to_completed(react_page, html):
    job = enqueue("demo.slow", {"steps": 5, "step_seconds": 0.3})
    page = react_page(html, status=job.status_url, interval=100)
    view = page.locator("#job")

    expect(view).to_have_attribute("data-status", "pending")
    with BackgroundWorker(queues=["default"], concurrency=1):
        expect(view).to_have_attribute("data-status", "completed", timeout=30_000)

    expect(page.locator("#status")).to_have_text("completed")
    expect(page.locator("#percent")).to_have_text("100%")
    expect(page.locator("#output")).to_have_text('{"steps":5}')
    expect(page.locator("#error")).to_have_text("")
    assert page.locator("#bar").evaluate("el => el.value") == 100
    assert page.evaluate("window.jobEvents") == [["complete", "completed", {"steps": 5}]]
    history = page.evaluate("window.jobHistory")
    assert history[0] == [None, None, True, None], "not loading before the first answer"
    assert history[1] == ["pending", 0, False, None], history
    assert history[-1] == ["completed", 100, False, None], history
    progress = [entry[1] for entry in history[1:]]
    assert progress == sorted(progress), f"progress went back: {history}"
    assert any(0 < value < 100 for value in progress), f"no intermediate progress: {history}"
    assert "processing" in {entry[0] for entry in history}, history


def test_use_job_polls_no_more_once_the_job_is_finished(react_page, page):
    job = enqueue("demo.quick", {"name": "react"})
    run_burst(queues=["default"])
    polls = status_requests(page)

    react_page(status=job.status_url, interval=50)

    expect(page.locator("#job")).to_have_attribute("data-status", "completed")
    expect(page.locator("#output")).to_have_text('{"greeting":"hello react"}')
    page.wait_for_timeout(600)
    assert len(polls) == 1, [r.url for r in polls]
    assert page.evaluate("window.jobEvents") == [
        ["complete", "completed", {"greeting": "hello react"}]
    ]


def test_use_job_shows_the_error_of_a_job_that_fails_and_calls_on_failed_once(react_page, page):
    job = enqueue("test.fail", {"message": "bad input file"}, max_attempts=1)
    react_page(status=job.status_url, interval=100)
    view = page.locator("#job")

    expect(view).to_have_attribute("data-status", "pending")
    with BackgroundWorker(queues=["default"], concurrency=1):
        expect(view).to_have_attribute("data-status", "failed", timeout=30_000)

    expect(page.locator("#error")).to_have_text("bad input file")
    expect(view).to_have_attribute("data-loading", "false")
    assert page.evaluate("window.jobEvents") == [["failed", "bad input file", None, "failed"]]
    assert page.evaluate("window.jobHistory")[-1] == ["failed", 0, False, "bad input file"]


def test_use_job_stops_polling_when_the_component_unmounts(react_page, page):
    job = enqueue("demo.slow", {"steps": 1})  # no worker: it stays pending
    polls = status_requests(page)
    react_page(status=job.status_url, interval=50)
    expect(page.locator("#job")).to_have_attribute("data-status", "pending")
    page.wait_for_function("() => window.fetches >= 3")

    page.locator("#unmount").click()
    expect(page.locator("#unmounted")).to_be_visible()
    count = len(polls)
    page.wait_for_timeout(600)

    assert len(polls) == count, "it polled after the component unmounted"
    assert page.evaluate("window.jobEvents") == []


def test_use_job_never_has_two_requests_in_flight(react_page, page):
    job = enqueue("demo.slow", {"steps": 1})
    # Each request takes 300 ms (the fetcher waits), ten times the polling interval.
    react_page(status=job.status_url, interval=30, delay=300)

    page.wait_for_function("() => window.fetches >= 4", timeout=10_000)

    assert page.evaluate("window.maxInFlight") == 1


def poll_gaps(page) -> list[float]:
    """Milliseconds between the starts of the fetcher's calls."""
    return [b - a for a, b in pairwise(page.evaluate("window.fetchTimes"))]


def test_job_provider_gives_its_fetcher_and_interval_to_the_hook(react_page, page):
    job = enqueue("demo.slow", {"steps": 1})
    polls = status_requests(page)
    react_page(status=job.status_url, interval=400)

    page.wait_for_function("() => window.fetches >= 4", timeout=10_000)

    assert {r.headers.get("x-queueadmin-test") for r in polls} == {"provider"}
    gaps = poll_gaps(page)
    assert len(gaps) >= 3, gaps
    assert all(gap >= 0.9 * 400 for gap in gaps), gaps


def test_a_job_provider_inside_another_overrides_only_what_it_sets(react_page, page):
    job = enqueue("demo.slow", {"steps": 1})
    polls = status_requests(page)
    react_page(status=job.status_url, interval=5000, inner=150)

    # Every 5 s, this would take 15 s.
    page.wait_for_function("() => window.fetches >= 4", timeout=3_000)

    assert {r.headers.get("x-queueadmin-test") for r in polls} == {"provider"}
    assert all(gap >= 0.9 * 150 for gap in poll_gaps(page)), poll_gaps(page)


def test_use_job_options_win_over_the_providers_even_as_new_functions_each_render(react_page, page):
    job = enqueue("demo.slow", {"steps": 1})
    polls = status_requests(page)
    react_page(status=job.status_url, interval=5000, own=150)

    page.wait_for_function("() => window.fetches >= 4", timeout=3_000)

    assert {r.headers.get("x-queueadmin-test") for r in polls} == {"hook"}
    # Each answer renders again, with a new fetcher: polling goes on at its pace.
    assert all(gap >= 0.9 * 150 for gap in poll_gaps(page)), poll_gaps(page)


def test_use_job_backs_off_on_server_errors_then_reports_giving_up(react_page, page, live_server):
    url = f"{live_server.url}/api/status/stubbed"
    times = []

    def answer_503(route):
        times.append(time.monotonic())
        route.fulfill(status=503, content_type="text/html", body="<h1>Service Unavailable</h1>")

    page.route(url, answer_503)
    react_page(status=url, interval=100, maxErrors=4)

    message = "gave up after 4 failed polls: the status URL answered HTTP 503"
    expect(page.locator("#error")).to_have_text(message)
    expect(page.locator("#job")).to_have_attribute("data-loading", "false")
    page.wait_for_timeout(500)
    assert len(times) == 4, "it did not stop after maxErrors failures"
    gaps = [b - a for a, b in pairwise(times)]
    # interval 100 ms, doubled after each consecutive failure: 200, 400, 800 ms.
    assert all(gap >= 0.9 * want for gap, want in zip(gaps, (0.2, 0.4, 0.8), strict=True)), gaps
    assert page.evaluate("window.jobEvents") == [["failed", message, None, None]]


def test_use_job_on_a_tampered_status_url_reports_the_404_and_stops(react_page, page, live_server):
    job = enqueue("demo.slow", {"steps": 1})
    job_id, signature = job.status_url.removeprefix("/api/status/").split(":")
    polls = status_requests(page)

    react_page(status=f"/api/status/{job_id}:{signature[:-2]}xx", interval=50)

    expect(page.locator("#error")).to_have_text("no such job status")
    page.wait_for_timeout(500)
    assert len(polls) == 1
    assert page.evaluate("window.jobEvents") == [["failed", "no such job status", 404, None]]
    expect(page.locator("#job")).to_have_attribute("data-status", "")


def test_use_job_given_another_status_url_starts_over_and_follows_only_that_one(react_page, page):
    done = enqueue("demo.quick", {"name": "first"})
    run_burst(queues=["default"])
    pending = enqueue("demo.slow", {"steps": 1})
    polls = status_requests(page)
    react_page(status=done.status_url, next=pending.status_url, interval=50)
    expect(page.locator("#job")).to_have_attribute("data-status", "completed")
    page.evaluate("window.jobHistory = []")

    page.locator("#next").click()

    expect(page.locator("#job")).to_have_attribute("data-status", "pending")
    expect(page.locator("#output")).to_have_text("")
    page.wait_for_function("() => window.fetches >= 4")
    history = page.evaluate("window.jobHistory")
    assert history[:2] == [[None, None, True, None], ["pending", 0, False, None]], history
    assert [r.url for r in polls[1:]] == [polls[-1].url] * (len(polls) - 1)
    assert polls[-1].url.endswith(pending.status_url)


def test_use_job_without_a_status_url_follows_nothing(react_page, page):
    polls = status_requests(page)
    react_page(interval=50)

    expect(page.locator("#job")).to_have_attribute("data-loading", "false")
    page.wait_for_timeout(300)
    assert polls == []
    assert page.evaluate("window.fetches") == 0


def test_use_job_under_strict_mode_follows_the_job_and_calls_on_complete_once(react_page, page):
    job = enqueue("demo.slow", {"steps": 2, "step_seconds": 0.2})
    react_page(status=job.status_url, interval=100, strict=1)

    with BackgroundWorker(queues=["default"], concurrency=1):
        expect(page.locator("#job")).to_have_attribute("data-status", "completed", timeout=30_000)

    page.wait_for_timeout(300)
    assert page.evaluate("window.jobEvents") == [["complete", "completed", {"steps": 2}]]


def test_use_job_throws_a_type_error_for_an_unknown_option(react_page, page):
    job = enqueue("demo.slow", {"steps": 1})
    polls = status_requests(page)

    react_page(status=job.status_url, bad=1)  # useJob(url, {interval: 500, ...})

    assert page.evaluate("window.renderErrors") == [
        'TypeError: useJob: unknown option "interval" '
        "(known: fetcher, pollingInterval, maxErrors, onComplete, onFailed)"
    ]
    assert polls == []


def test_watch_job_sends_its_requests_through_the_given_fetcher(react_page, page):
    # react.js loads progress.js, so the page has watchJob too.
    job = enqueue("demo.slow", {"steps": 1})
    react_page()
    calls = page.evaluate(
        """(url) => new Promise((resolve) => {
          const calls = [];
          watchJob(url, {
            fetcher(input, init) {
              calls.push([input, init.credentials, init.cache, init.signal instanceof AbortSignal]);
              return fetch(input, init);
            },
            onProgress: (status) => calls.push(status.status),
            onError: (error) => { calls.push(error.message); resolve(calls); },
          });
          setTimeout(() => resolve(calls), 300);
        })""",
        job.status_url,
    )

    assert calls[:2] == [[job.status_url, "omit", "no-store", True], "pending"]


def test_watch_job_reports_a_fetcher_that_resolves_to_no_response(react_page, page):
    react_page()
    message = page.evaluate(
        """() => new Promise((resolve) => {
          watchJob("/api/status/x", {
            fetcher: async () => ({ nothing: true }),
            onError: (error, status) => resolve([error.name, error.message, status]),
          });
        })"""
    )

    assert message == [
        "TypeError",
        "the fetcher must resolve to a Response (status, ok, json()), got an object without them",
        None,
    ]


def test_watch_job_refuses_a_fetcher_that_is_not_a_function(react_page, page):
    react_page()
    message = page.evaluate(
        """() => { try { watchJob("/api/status/x", { fetcher: "fetch" }); }
                  catch (error) { return `${error.name}: ${error.message}`; } }"""
    )

    assert message == "TypeError: watchJob: fetcher must be a function, not string"
