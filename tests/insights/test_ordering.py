"""Job lists under a creation-time filter: newest first by created_at (then id) through
job_created_idx, paged by a job id cursor, on the dashboard and in GET /api/jobs."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core import queue
from core.insights import ordering
from core.jobs.filters import filter_jobs
from core.models import ApiKey, Job
from tests.users import client_for, make_user

pytestmark = pytest.mark.django_db

#: A bound after every job the tests make.
LATER = "2100-01-01T00:00:00Z"


@pytest.fixture
def skewed():
    """Five jobs whose creation times run against their ids (as an enqueue inside a
    long transaction leaves them): the newest id was created first."""
    jobs = [queue.enqueue("a") for _ in range(5)]
    start = timezone.now() - timedelta(hours=1)
    for minutes, job in enumerate(reversed(jobs)):
        Job.objects.filter(pk=job.pk).update(created_at=start + timedelta(minutes=minutes))
    return [job.pk for job in jobs]  # oldest created last


@pytest.fixture
def reader():
    return {"HTTP_AUTHORIZATION": f"Bearer {ApiKey.create('reader')[1]}"}


def _api_ids(client, headers, query):
    body = client.get(f"/api/jobs?{query}", **headers).json()
    return [job["id"] for job in body["jobs"]], body["next_cursor"]


def test_a_time_filter_orders_by_creation_time():
    assert ordering.newest_first({"created_before": timezone.now()}) == ordering.BY_CREATED
    assert ordering.newest_first({"created_after": timezone.now()}) == ordering.BY_CREATED


def test_without_a_time_filter_lists_order_by_id():
    assert ordering.newest_first({"status": "pending"}) == ordering.BY_ID


def test_api_list_with_a_time_filter_is_newest_created_first(client, reader, skewed):
    ids, _ = _api_ids(client, reader, f"created_before={LATER}")
    assert ids == skewed  # created_at descending, which here is id ascending


def test_api_list_with_a_time_filter_pages_through_every_job_once(client, reader, skewed):
    seen, cursor = [], None
    while True:
        query = f"created_before={LATER}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        ids, cursor = _api_ids(client, reader, query)
        seen += ids
        if cursor is None:
            break
    assert seen == skewed


def test_api_next_page_survives_the_cursor_job_being_deleted(client, reader):
    # The page goes on from the nearest job below the cursor's id: exact wherever
    # creation times follow ids around the cursor, as they do outside long transactions.
    ids = [queue.enqueue("a").pk for _ in range(5)][::-1]
    first, cursor = _api_ids(client, reader, f"created_before={LATER}&limit=2")
    Job.objects.filter(pk=cursor).delete()
    rest, _ = _api_ids(client, reader, f"created_before={LATER}&limit=5&cursor={cursor}")
    assert (first, rest) == (ids[:2], ids[2:])


def test_dashboard_pages_older_and_newer_in_creation_order(settings, skewed):
    settings.QUEUEADMIN = {**getattr(settings, "QUEUEADMIN", {}), "DASHBOARD_PAGE_SIZE": 2}
    operator = client_for(make_user("operator", "view_job"))

    def page(extra=""):
        html = operator.get(f"/jobs/?created_before=2100-01-01T00:00{extra}").content.decode()
        rows = [int(i) for i in re.findall(r'id="job-(\d+)"', html)]
        older = re.search(r"[?&;]before=(\d+)", html)
        newer = re.search(r"[?&;]after=(\d+)", html)
        return rows, older and int(older[1]), newer and int(newer[1])

    first, older, _ = page()
    second, _, newer = page(f"&before={older}")
    back, _, _ = page(f"&after={newer}")
    assert (first, second, back) == (skewed[:2], skewed[2:4], skewed[:2])


def test_postgres_reads_a_time_filtered_list_through_job_created_idx(postgres_only):
    rows = filter_jobs(created_before=timezone.now()).order_by(*ordering.BY_CREATED)[:51]
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        # An empty table sorts a bitmap's few rows; a big one may not.
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan Backward using job_created_idx" in plan
