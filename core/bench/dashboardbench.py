"""Server time and SQL query count of each dashboard page on the current database."""

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from core.models import Job, JobStatus

#: The user the benchmark logs in as; created for the run and deleted after it.
BENCH_USER = "queueadmin-dashboardbench"


@dataclass(frozen=True)
class PageTiming:
    """How one URL fared over the runs."""

    label: str
    url: str
    status: int
    median_ms: float
    max_ms: float
    queries: int


def _sample(field: str, **filters) -> str | None:
    return (
        Job.objects.filter(**filters)
        .exclude(**{f"{field}__isnull": True})
        .order_by("-id")
        .values_list(field, flat=True)
        .first()
    )


def pages() -> list[tuple[str, str]]:
    """(label, url) of the pages to time: overview, list tabs and filters, details."""
    urls = [
        ("overview (frame)", "/"),
        ("overview counts", "/overview/counts/"),
        ("overview metrics", "/overview/metrics/"),
        ("jobs, all", "/jobs/"),
        ("jobs, tab counts", "/jobs/counts/"),
    ]
    urls += [(f"jobs, {status}", f"/jobs/?status={status}") for status in JobStatus.values]
    newest = Job.objects.order_by("-id").first()
    if newest is not None:
        tagged = Job.objects.exclude(tags=[]).order_by("-id").values_list("tags", flat=True)
        tags = tagged.first() or [""]
        filters = {
            "queue": newest.queue,
            "job_type": newest.job_type,
            "tags": tags[0],
            "since": "1h",
            "q": str(newest.id),
        }
        key = _sample("idempotency_key")
        for name, value in filters.items():
            if value:
                urls.append((f"jobs, {name}={value}", f"/jobs/?{urlencode({name: value})}"))
        # Every status tab with every single filter, and their tab counts.
        for status in JobStatus.values:
            for name, value in filters.items():
                if value and name != "q":
                    query = urlencode({"status": status, name: value})
                    urls.append((f"jobs, {status} + {name}", f"/jobs/?{query}"))
        for name, value in filters.items():
            if value and name != "q":
                urls.append((f"tab counts, {name}", f"/jobs/counts/?{urlencode({name: value})}"))
        if key:
            urls.append(("jobs, q=<idempotency key>", f"/jobs/?{urlencode({'q': key})}"))
        oldest = Job.objects.order_by("id").values_list("id", flat=True).first()
        urls.append(("jobs, oldest page", f"/jobs/?before={oldest + 51}"))
    for status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.PENDING):
        pk = Job.objects.filter(status=status).order_by("-id").values_list("id", flat=True).first()
        if pk:
            urls.append((f"job detail ({status})", f"/jobs/{pk}/"))
    urls.append(("workers", "/workers/"))
    urls.append(("queues", "/queues/"))
    return urls


@contextmanager
def _logged_in() -> Iterator[Client]:
    user, _ = get_user_model().objects.get_or_create(
        username=BENCH_USER, defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    try:
        with override_settings(ALLOWED_HOSTS=["testserver"]):
            yield client
    finally:
        user.delete()


def run(runs: int = 5) -> list[PageTiming]:
    """Time every page ``runs`` times (after one warm-up request each)."""
    results = []
    with _logged_in() as client:
        for label, url in pages():
            headers = {"HX-Request": "true"} if "/counts/" in url or "/metrics/" in url else {}
            client.get(url, headers=headers)
            times = []
            for _ in range(runs):
                with CaptureQueriesContext(connection) as queries:
                    start = time.perf_counter()
                    response = client.get(url, headers=headers)
                    times.append((time.perf_counter() - start) * 1000)
            results.append(
                PageTiming(
                    label,
                    url,
                    response.status_code,
                    statistics.median(times),
                    max(times),
                    len(queries.captured_queries),
                )
            )
    return results
