"""The dashboard's overview (counts, last-hour metrics) and workers page."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import queue
from core.insights.counts import Count, count
from core.models import Job, JobStatus
from tests.dashboard.conftest import add_worker
from tests.records import set_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def sqlite_only(db):
    if connection.vendor != "sqlite":
        pytest.skip("checks SQLite's behaviour")


def add_jobs(n, status="pending", **options):
    jobs = queue.enqueue_many([{"job_type": "x", **options} for _ in range(n)])
    Job.objects.filter(pk__in=[j.pk for j in jobs]).update(status=status)
    return jobs


def counts_table(response):
    """{queue: {status: text}} and {status: text} totals from the counts fragment."""
    rows = {queue: {s: str(c) for s, c in cells} for queue, cells in response.context["rows"]}
    totals = {s: str(c) for s, c in response.context["total_cells"]}
    return rows, totals


# -- the frame ---------------------------------------------------------------------------


def test_overview_frame_loads_its_panels_after_the_page(operator):
    html = operator.get("/").content.decode()
    for fragment in ("/overview/counts/", "/overview/metrics/"):
        match = re.search(rf'hx-get="{fragment}" hx-trigger="([^"]*)"', html)
        assert match, fragment
        assert "load" in [t.strip() for t in match.group(1).split(",")]
    assert "Counting jobs…" in html
    assert "Loading the last hour…" in html


def test_overview_frame_does_not_count_jobs(operator):
    add_jobs(5)
    operator.get("/")
    with CaptureQueriesContext(connection) as queries:
        response = operator.get("/")
    assert response.status_code == 200
    assert not [q["sql"] for q in queries.captured_queries if "queueadmin_job" in q["sql"]]
    assert not [q["sql"] for q in queries.captured_queries if "queueadmin_worker" in q["sql"]]


# -- the counts fragment ---------------------------------------------------------------------


def test_counts_fragment_shows_queue_by_status_and_totals(operator):
    add_jobs(3, "pending")
    add_jobs(2, "failed")
    add_jobs(4, "completed", queue="mail")
    add_jobs(1, "processing", queue="mail")
    response = operator.get("/overview/counts/")
    html = response.content.decode()
    assert "<html" not in html
    rows, totals = counts_table(response)
    zero = dict.fromkeys(JobStatus.values, "0")
    assert rows == {
        "default": {**zero, "pending": "3", "failed": "2"},
        "mail": {**zero, "completed": "4", "processing": "1"},
    }
    assert totals == {**zero, "pending": "3", "failed": "2", "completed": "4", "processing": "1"}
    assert '<td class="num" data-status="completed">4</td>' in html
    assert 'href="/jobs/?queue=mail&amp;status=completed">4</a>' in html
    assert "≈" not in html


def test_counts_fragment_lists_queues_of_live_workers_even_when_empty(operator):
    add_worker("w-live", queues=["billing"])
    add_worker("w-dead", queues=["graveyard"], heartbeat_age=timedelta(hours=1))
    add_jobs(1, queue="mail")
    rows, _ = counts_table(operator.get("/overview/counts/"))
    assert set(rows) == {"default", "billing", "mail"}
    assert set(rows["billing"].values()) == {"0"}


def test_counts_fragment_with_no_jobs(operator):
    response = operator.get("/overview/counts/")
    _, totals = counts_table(response)
    assert set(totals.values()) == {"0"}


def test_counts_above_the_limit_are_estimates_on_postgres(postgres_only, operator, settings):
    # Cells are grouped exactly while their statuses hold at most a tenth of the limit.
    settings.QUEUEADMIN = {"DASHBOARD_EXACT_COUNT_LIMIT": 30, "DASHBOARD_COUNT_SECONDS": 5}
    add_jobs(40, "pending")
    add_jobs(2, "failed")
    add_jobs(1, "completed", queue="mail")
    response = operator.get("/overview/counts/")
    html = response.content.decode()
    rows, totals = counts_table(response)
    assert totals["pending"].startswith("≈ ")
    assert totals["failed"] == "2"
    assert totals["completed"] == "1"
    assert totals["cancelled"] == "0"
    assert rows["default"]["pending"].startswith("≈ ")
    assert rows["default"]["failed"] == "2"
    assert rows["mail"]["completed"] == "1"
    assert '<td class="num estimate" data-status="pending">≈ ' in html
    assert "≈ marks an estimate: above 30 rows" in html


def test_count_above_the_limit_is_an_estimate_of_at_least_the_limit(postgres_only, settings):
    settings.QUEUEADMIN = {"DASHBOARD_EXACT_COUNT_LIMIT": 3}
    add_jobs(8)
    result = count(Job.objects.all())
    assert not result.exact
    assert result.value >= 4
    assert count(Job.objects.filter(pk__in=Job.objects.values("pk")[:3])) == Count(3)


def test_totals_are_always_exact_on_sqlite_and_big_cells_the_queues_share(
    sqlite_only, operator, settings
):
    settings.QUEUEADMIN = {"DASHBOARD_EXACT_COUNT_LIMIT": 3}
    add_jobs(8, "pending")
    add_jobs(2, "failed")
    response = operator.get("/overview/counts/")
    rows, totals = counts_table(response)
    assert totals["pending"] == "8"
    assert rows["default"]["pending"] == "≈ 8"
    assert count(Job.objects.all()) == Count(10)


@pytest.mark.parametrize(
    ("value", "exact", "text"),
    [
        (0, True, "0"),
        (999, True, "999"),
        (1234, True, "1,234"),
        (1_234_567, True, "1,234,567"),
        (1_234_567, False, "≈ 1.2M"),
        (12_000, False, "≈ 12k"),
        (12_345, False, "≈ 12.3k"),
        (1_000, False, "≈ 1k"),
        (999, False, "≈ 999"),
        (2_500_000_000, False, "≈ 2.5B"),
    ],
)
def test_count_formatting(value, exact, text):
    assert str(Count(value, exact=exact)) == text


# -- the metrics fragment ----------------------------------------------------------------------


def test_metrics_count_completed_and_failed_jobs_in_the_last_hour(operator):
    now = timezone.now()
    for age in (1, 5, 5, 50):
        set_status(queue.enqueue("x"), "completed", completed_at=now - timedelta(minutes=age))
    for age in (2, 30):
        set_status(queue.enqueue("x"), "failed", failed_at=now - timedelta(minutes=age))
    set_status(queue.enqueue("x"), "completed", completed_at=now - timedelta(hours=2))
    set_status(queue.enqueue("x"), "failed", failed_at=now - timedelta(minutes=90))
    response = operator.get("/overview/metrics/")
    html = response.content.decode()
    assert "<html" not in html
    assert '<p class="big" id="completed-hour">4</p>' in html
    assert '<p class="big" id="failed-hour">2</p>' in html
    bars = response.context["bars"]
    assert len(bars) == 60
    assert sum(b.completed for b in bars) == 4
    assert max(b.completed for b in bars) == 2  # the two finished five minutes ago
    assert 'aria-label="4 completed and 2 failed in the last hour"' in html


def test_metrics_show_wait_and_run_percentiles(operator):
    now = timezone.now()
    for wait, run in ((1, 10), (2, 20), (3, 30)):
        run_at = now - timedelta(minutes=10)
        started = run_at + timedelta(seconds=wait)
        set_status(
            queue.enqueue("x"),
            "completed",
            run_at=run_at,
            started_at=started,
            completed_at=started + timedelta(seconds=run),
        )
    response = operator.get("/overview/metrics/")
    timings = response.context["timings"]
    assert timings.sample == 3
    assert (timings.wait_p50, timings.wait_p95) == (2.0, 3.0)
    assert (timings.run_p50, timings.run_p95) == (20.0, 30.0)
    html = response.content.decode()
    assert '<p class="big">2 s / 3 s</p>' in html
    assert '<p class="big">20 s / 30 s</p>' in html
    assert "from the latest 3 completed jobs" in html


def test_metrics_without_completed_jobs_show_dashes(operator):
    html = operator.get("/overview/metrics/").content.decode()
    assert '<p class="big">- / -</p>' in html
    assert "no job completed in the last hour" in html
    assert '<p class="big" id="oldest-due">none</p>' in html


def test_metrics_show_workers_alive_and_registered(operator):
    add_worker("fresh-1")
    add_worker("fresh-2", heartbeat_age=timedelta(seconds=10))
    add_worker("stale", heartbeat_age=timedelta(hours=1))
    html = operator.get("/overview/metrics/").content.decode()
    assert re.search(r'id="workers-alive">2</a></p><p class="muted">of 3 registered</p>', html)


def test_metrics_show_the_age_of_the_oldest_due_pending_job(operator):
    now = timezone.now()
    done = queue.enqueue("x", run_at=now - timedelta(hours=3))
    set_status(done, "completed")  # not pending
    queue.enqueue("x", run_at=now + timedelta(hours=1))  # not due yet
    oldest = queue.enqueue("x", run_at=now - timedelta(minutes=7, seconds=30))
    queue.enqueue("x", run_at=now - timedelta(minutes=1))
    response = operator.get("/overview/metrics/")
    assert response.context["oldest_due"].id == oldest.id
    html = response.content.decode()
    assert re.search(r'id="oldest-due">7m 3\ds ago</p>', html)
    assert f"#{oldest.id}</a> in default has been due this long" in html


# -- the workers page ----------------------------------------------------------------------------


def test_workers_page_lists_each_worker(operator):
    add_worker(
        "host-a:101",
        host="host-a",
        pid=101,
        queues=["mail", "reports"],
        concurrency=8,
        running=3,
        heartbeat_age=timedelta(seconds=5),
    )
    add_worker("host-b:202", host="host-b", pid=202, concurrency=2)
    html = operator.get("/workers/").content.decode()
    row = re.search(r'<tr class="" data-worker="host-a:101">(.*?)</tr>', html, re.S).group(1)
    assert "<td>host-a</td>" in row
    assert '<td class="num">101</td>' in row
    assert "<td>mail, reports</td>" in row
    assert '<td class="num">8</td>' in row
    assert '<td class="num">3</td>' in row
    assert re.search(r"<td>\d\.?\d* s ago</td>", row)
    assert "2h 00m ago" in row
    assert "stale" not in row
    other = re.search(r'data-worker="host-b:202">(.*?)</tr>', html, re.S).group(1)
    assert "<td>all</td>" in other  # no queue list: every queue
    assert "2 alive of 2 registered" in html


def test_workers_page_flags_a_stale_worker(operator):
    add_worker("alive")
    add_worker("gone", heartbeat_age=timedelta(minutes=10))
    html = operator.get("/workers/").content.decode()
    gone = re.search(r'<tr class="stale" data-worker="gone">(.*?)</tr>', html, re.S)
    assert gone
    assert "10m 00s ago" in gone.group(1) or "10m 01s ago" in gone.group(1)
    assert '<strong class="badge failed">stale</strong>' in gone.group(1)
    assert '<tr class="" data-worker="alive">' in html
    assert html.count(">stale</strong>") == 1
    assert "1 alive of 2 registered" in html


def test_workers_page_respects_the_stale_setting(operator, settings):
    settings.QUEUEADMIN = {"WORKER_STALE_SECONDS": 5}
    add_worker("slow", heartbeat_age=timedelta(seconds=30))
    html = operator.get("/workers/").content.decode()
    assert '<tr class="stale" data-worker="slow">' in html


def test_workers_page_without_workers_explains_how_to_start_one(operator):
    html = operator.get("/workers/").content.decode()
    assert "No worker has registered." in html
    assert "manage.py runworker" in html


def test_workers_table_fragment_for_htmx(operator):
    add_worker("w1")
    response = operator.get(
        "/workers/", headers={"HX-Request": "true", "HX-Target": "worker-table"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="worker-table"')
    assert "<html" not in html
    assert 'data-worker="w1"' in html
