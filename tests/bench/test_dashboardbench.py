"""manage.py dashboardbench: every dashboard page timed, with its query count."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from core import queue
from core.bench import dashboardbench

pytestmark = pytest.mark.django_db


def test_bench_times_every_page_and_reports_http_200():
    queue.enqueue("x", tags=["vip"], idempotency_key="order-1")
    results = dashboardbench.run(runs=1)
    labels = {page.label for page in results}
    assert {"overview (frame)", "overview counts", "jobs, all", "workers"} <= labels
    assert "jobs, pending + tags" in labels
    assert "job detail (pending)" in labels
    assert all(page.status == 200 for page in results)
    assert all(page.queries > 0 for page in results)


def test_bench_removes_the_user_it_logs_in_as():
    dashboardbench.run(runs=1)
    assert not get_user_model().objects.filter(username=dashboardbench.BENCH_USER).exists()


def test_command_prints_a_line_per_page_and_a_verdict():
    queue.enqueue("x")
    out = StringIO()
    call_command("dashboardbench", "--runs", "1", "--target-ms", "100000", stdout=out)
    text = out.getvalue()
    assert "dashboardbench on" in text
    assert "overview counts" in text
    assert text.rstrip().endswith("all pages met")
