"""Server time and SQL query count of every dashboard page, filter and API list.

Over HTTP (the default): a real threaded server with DEBUG off runs in this process and
reports each request's server time (inside the WSGI app: middleware, view, queries,
rendering; not the socket) and query count; or ``base_url`` names a running server,
timed by wall time over loopback. In process (``http=False``): Django's test client,
timed around each request. Pages come from ``core.bench.pages``."""

import math
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from core.bench import httptiming
from core.bench.pages import Discovery, Page, discover

#: The user the benchmark logs in as; created for the run and deleted after it.
BENCH_USER = "queueadmin-dashboardbench"
#: Targets (issue 19): server time at the median and at the 95th percentile.
MEDIAN_TARGET_MS, P95_TARGET_MS = 150.0, 300.0
#: Answers to the warm-up request that mean "not a page to time as it stands".
SKIPPED = {
    405: "not a GET page (405)",
    404: "needs query parameters (404 without them)",
}

#: Answers other than 200 that are right for a page: /api/health says 503 while a
#: served queue has no live worker, as on a benchmark database.
ALSO_RIGHT = {"api health": (503,)}


@dataclass(frozen=True)
class PageTiming:
    """How one URL fared over the runs (times in ms; queries None: not known)."""

    label: str
    url: str
    status: int
    median_ms: float
    p95_ms: float
    max_ms: float
    queries: int | None

    def slow(self, median_target: float, p95_target: float) -> bool:
        """True when the page missed a target or did not answer 200 (or another answer
        right for it: the health check's 503 while no worker runs)."""
        wrong = self.status != 200 and self.status not in ALSO_RIGHT.get(self.label, ())
        return wrong or self.median_ms > median_target or self.p95_ms > p95_target


@dataclass
class Report:
    """Every page timed, what was not timed and why, and how the times were taken."""

    pages: list[PageTiming]
    skipped: list[tuple[str, str]]
    clock: str


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0.95: the value 95% of samples do not pass)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _timing(page: Page, samples: list[tuple[int, float, int | None]]) -> PageTiming:
    times = [ms for _, ms, _ in samples]
    return PageTiming(
        page.label,
        page.url,
        samples[-1][0],
        statistics.median(times),
        percentile(times, 0.95),
        max(times),
        samples[-1][2],
    )


@contextmanager
def _bench_user() -> Iterator:
    user, _ = get_user_model().objects.get_or_create(
        username=BENCH_USER, defaults={"is_staff": True, "is_superuser": True}
    )
    try:
        yield user
    finally:
        user.delete()


def _measure(
    found: Discovery, runs: int, fetch: Callable[[Page], tuple[int, float, int | None]],
    progress: Callable[[PageTiming], None] | None, only: str,
) -> list[PageTiming]:  # fmt: skip
    results = []
    for page in found.pages:
        if only not in page.label:
            continue
        status = fetch(page)[0]  # warm-up (caches, plans, connections)
        if status in SKIPPED:
            found.unsampled.append((page.label, SKIPPED[status]))
            continue
        timing = _timing(page, [fetch(page) for _ in range(runs)])
        results.append(timing)
        if progress:
            progress(timing)
    return results


def run_http(
    runs: int = 20,
    base_url: str | None = None,
    progress: Callable[[PageTiming], None] | None = None,
    only: str = "",
) -> Report:
    """Time every page ``runs`` times (after a warm-up request) over HTTP: on a server
    started here with DEBUG off, or on the running server at ``base_url``."""
    found = discover()
    with _bench_user() as user:
        login = Client()
        login.force_login(user)
        cookie = {settings.SESSION_COOKIE_NAME: login.cookies[settings.SESSION_COOKIE_NAME].value}
        with httptiming.serving() if base_url is None else nullcontext(base_url) as url:
            fetcher = httptiming.Fetcher(url, cookie)

            def fetch(page: Page):
                sample = fetcher.get(page.url, {"HX-Request": "true"} if page.fragment else None)
                ms = sample.wall_ms if sample.server_ms is None else sample.server_ms
                return sample.status, ms, sample.queries

            try:
                pages = _measure(found, runs, fetch, progress, only)
            finally:
                fetcher.close()
    clock = (
        "wall time over loopback"
        if base_url
        else "server time inside the WSGI app (threaded server, DEBUG=0)"
    )
    return Report(pages, found.unsampled, clock)


def run(
    runs: int = 5, progress: Callable[[PageTiming], None] | None = None, only: str = ""
) -> Report:
    """Time every page ``runs`` times (after a warm-up request) with the test client."""
    found = discover()
    with _bench_user() as user:
        client = Client()
        client.force_login(user)

        def fetch(page: Page):
            headers = {"HX-Request": "true"} if page.fragment else {}
            with CaptureQueriesContext(connection) as queries:
                began = time.perf_counter()
                response = client.get(page.url, headers=headers)
                ms = (time.perf_counter() - began) * 1000
            return response.status_code, ms, len(queries.captured_queries)

        with override_settings(ALLOWED_HOSTS=["testserver"]):
            pages = _measure(found, runs, fetch, progress, only)
    return Report(pages, found.unsampled, "test client, in process (the settings' DEBUG)")
