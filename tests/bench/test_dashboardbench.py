"""manage.py dashboardbench: every page, filter and API list timed, slow ones flagged."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from core import queue
from core.bench import dashboardbench, pages
from core.bench.dashboardbench import PageTiming, percentile
from core.insights.filters import JobFilterForm

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def jobs():
    """A few jobs, one with the rare tag and the rare customer."""
    queue.enqueue("x", {"customer": pages.RARE_CUSTOMER}, tags=["vip", pages.RARE_TAG])
    queue.enqueue("y", {"customer": 1}, idempotency_key="order-1", queue="emails")


def labels(report) -> set[str]:
    return {page.label for page in report.pages}


def test_http_bench_times_every_dashboard_page_and_api_list(jobs):
    report = dashboardbench.run_http(runs=1)
    assert {"overview", "overview-counts", "jobs", "job-counts", "queues", "workers"} <= labels(
        report
    )
    assert {"api jobs", "api metrics", "api job (pending)", "job (pending)"} <= labels(report)
    # /api/health answers 503 while no worker runs: timed all the same.
    assert all(page.status == 200 for page in report.pages if page.label != "api health")


def test_http_bench_times_the_job_list_and_the_api_under_the_rare_tag_and_payload(jobs):
    found = labels(dashboardbench.run_http(runs=1, only=pages.RARE_TAG))
    assert f"jobs, tags={pages.RARE_TAG} (rare)" in found
    assert f"api jobs, tags={pages.RARE_TAG} (rare)" in found
    found = labels(dashboardbench.run_http(runs=1, only="customer"))
    assert f"jobs, payload customer={pages.RARE_CUSTOMER} (rare)" in found
    assert f"api jobs, payload customer={pages.RARE_CUSTOMER} (rare)" in found


def test_http_bench_reads_server_time_and_query_count_from_the_server(jobs):
    report = dashboardbench.run_http(runs=2, only="queues")
    page = next(page for page in report.pages if page.label == "queues")
    assert page.queries > 0
    assert page.median_ms > 0
    assert "server time" in report.clock


def test_every_filter_of_the_filter_form_is_timed_or_said_to_be_untimed(jobs):
    unsampled: list = []
    cases = pages.filter_cases(pages._newest(), unsampled)
    timed = {name for _, query in cases for name in query}
    untimed = {what.removeprefix("filter ") for what, _ in unsampled}
    assert set(JobFilterForm.base_fields) <= timed | untimed


def test_post_only_routes_are_listed_as_not_timed(jobs):
    report = dashboardbench.run_http(runs=1, only="queue-pause")
    assert ("queue-pause", "not a GET page (405)") in report.skipped
    assert not report.pages


def test_a_page_over_the_median_or_p95_target_or_not_200_is_slow():
    page = PageTiming("p", "/", 200, median_ms=100, p95_ms=250, max_ms=260, queries=3)
    assert not page.slow(150, 300)
    assert page.slow(99, 300)
    assert page.slow(150, 249)
    assert PageTiming("p", "/", 500, 1, 1, 1, 1).slow(150, 300)


def test_the_health_checks_503_without_workers_is_a_right_answer_not_a_slow_page():
    assert not PageTiming("api health", "/api/health", 503, 20, 25, 25, 12).slow(150, 300)
    assert PageTiming("api jobs", "/api/jobs", 503, 20, 25, 25, 12).slow(150, 300)


def test_p95_is_the_nearest_rank_percentile():
    assert percentile(list(range(1, 21)), 0.95) == 19
    assert percentile([5.0], 0.95) == 5.0


def test_in_process_bench_times_every_page_too(jobs):
    report = dashboardbench.run(runs=1)
    assert {"overview-counts", "jobs", "api jobs"} <= labels(report)
    assert all(page.queries > 0 for page in report.pages if page.label.startswith("jobs"))


def test_bench_removes_the_user_it_logs_in_as(jobs):
    dashboardbench.run_http(runs=1, only="queues")
    assert not get_user_model().objects.filter(username=dashboardbench.BENCH_USER).exists()


def test_command_prints_a_line_per_page_and_a_verdict(jobs):
    out = StringIO()
    call_command("dashboardbench", "--runs", "1", "--only", "queues", stdout=out)
    text = out.getvalue()
    assert "dashboardbench on" in text
    assert "times: server time" in text
    assert "queues " in text
    assert text.rstrip().splitlines()[-1] in (
        "all 1 pages met",
        "1 of 1 page(s) over 150 ms median or 300 ms p95: queues",
    )


def test_command_flags_pages_over_the_target(jobs):
    out = StringIO()
    call_command(
        "dashboardbench", "--runs", "1", "--only", "queues", "--target-ms", "0.0001",
        stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "SLOW" in text
    assert "1 of 1 page(s) over 0.0001 ms median" in text


def test_command_refuses_a_url_that_is_not_http():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--url takes an http:// URL"):
        call_command("dashboardbench", "--url", "ftp://example.com")
