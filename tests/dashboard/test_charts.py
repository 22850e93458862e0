"""The Charts page: throughput, depth and per-type percentiles over 1 h / 24 h / 7 d,
per queue and job type, from the rollup only, in a bounded number of queries."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import queue
from core.maintenance.rollup import roll_hour, roll_minute
from core.models import JobStat
from tests.dashboard.conftest import html_reader, strict_html
from tests.rollups import finished

pytestmark = pytest.mark.django_db

html_of = html_reader("/charts/")


def rolled(job_type="mail.send", queue_name="mail", *, minutes_ago=3, count=1, run=0.2):
    """``count`` jobs finished ``minutes_ago`` minutes ago, rolled up."""
    at = timezone.now().replace(second=5, microsecond=0) - timedelta(minutes=minutes_ago)
    for _ in range(count):
        finished(at, job_type, queue_name, run=run, wait=1.0)
    roll_minute(at)
    roll_hour(at)


def figure(html: str) -> dict[str, str]:
    tag = re.search(r'<figure class="chart" id="throughput-chart"([^>]*)>', html).group(1)
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag))


def completed(html: str) -> int:
    return int(re.search(r'id="chart-completed">(\d+)<', html).group(1))


def test_the_page_shows_the_last_hour_of_all_queues_by_default(operator):
    rolled(count=2)
    html = html_of(operator)
    assert figure(html) == {"range": "1h", "queue": "", "job-type": ""}
    assert completed(html) == 2
    assert html.count('<rect class="completed"') == 60


@pytest.mark.parametrize(("key", "bars"), [("1h", 60), ("24h", 288), ("7d", 168)])
def test_each_range_draws_its_bars(operator, key, bars):
    rolled(minutes_ago=30)
    html = html_of(operator, data={"range": key})
    assert figure(html)["range"] == key
    assert html.count('<rect class="completed"') == bars
    assert completed(html) == 1


def test_a_job_older_than_the_hour_shows_in_the_day_only(operator):
    rolled(minutes_ago=90)
    assert completed(html_of(operator, data={"range": "1h"})) == 0
    assert completed(html_of(operator, data={"range": "24h"})) == 1


def test_a_queue_narrows_the_charts(operator):
    rolled("mail.send", "mail", count=2)
    rolled("report.build", "reports")
    html = html_of(operator, data={"queue": "reports"})
    assert figure(html)["queue"] == "reports"
    assert completed(html) == 1
    assert '<option value="reports" selected>' in html


def test_a_job_type_narrows_the_charts(operator):
    rolled("mail.send", "mail", count=2)
    rolled("report.build", "reports")
    html = html_of(operator, data={"range": "24h", "job_type": "mail.send"})
    assert figure(html) == {"range": "24h", "queue": "", "job-type": "mail.send"}
    assert completed(html) == 2
    assert '<option value="mail.send" selected>' in html


def test_each_job_type_gets_its_run_and_wait_percentiles(operator):
    rolled("mail.send", count=4, run=0.3)
    rolled("report.build", "reports", run=50.0)
    html = html_of(operator)
    rows = re.findall(r'<tr data-job-type="([^"]+)"', html)
    assert rows == ["mail.send", "report.build"]
    report = html.split('data-job-type="report.build"')[1].split("</tr>")[0]
    assert "Run p50" in html
    assert re.search(r"\d+(\.\d+)? ?s", report)


def test_queue_depth_is_charted(operator):
    queue.enqueue("mail.send", queue="mail")
    JobStat.objects.create(
        minute=timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=2),
        queue="mail",
        job_type="mail.send",
        depth=7,
    )
    html = html_of(operator)
    assert 'id="chart-depth">7<' in html
    assert "<polyline points=" in html


def test_a_bad_range_is_a_clear_error(operator):
    response = operator.get("/charts/", {"range": "1y"})
    assert response.status_code == 400
    assert "unknown range &#x27;1y&#x27;" in response.content.decode()


def test_the_page_keeps_to_the_csp(operator):
    rolled()
    strict_html(operator.get("/charts/", {"range": "24h"}))


def test_an_htmx_request_gets_the_chart_fragment(operator):
    rolled()
    response = operator.get(
        "/charts/", {"range": "24h"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="chart-panel"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert figure(html)["range"] == "24h"


def test_the_navigation_links_to_the_charts(operator):
    html = html_of(operator)
    assert re.search(r'<a href="/charts/" aria-current="page">Charts</a>', html)


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get("/charts/")
    assert response.status_code == 302


def queries_for(client, data) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/charts/", data)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


CHOICES = [
    {"range": key, **extra}
    for key in ("1h", "24h", "7d")
    for extra in ({}, {"queue": "mail"}, {"job_type": "mail.send"})
]


@pytest.mark.parametrize("data", CHOICES)
def test_the_charts_never_read_the_job_table_and_cost_a_few_queries(operator, data):
    rolled()
    operator.get("/charts/")  # session and permissions cached as on any page
    small = queries_for(operator, data)
    for n in range(5):
        rolled(f"type.{n}", f"queue.{n}", minutes_ago=n + 2, count=3)
    big = queries_for(operator, data)
    assert len(big) == len(small)
    # The series, the per-type totals and the queue choices; the rest is the session.
    assert len([sql for sql in big if "queueadmin_jobstat" in sql]) == 3
    assert not [sql for sql in big if '"queueadmin_job"' in sql]


def test_the_overview_chart_links_to_the_charts(operator):
    html = operator.get("/overview/metrics/").content.decode()
    assert '<a href="/charts/" id="more-charts">' in html


def test_unstorable_text_in_a_choice_is_refused(operator):
    response = operator.get("/charts/", {"job_type": "a\x00b"})
    assert response.status_code == 400
