"""get_job and find_jobs: every filter, tag modes, keyset pagination (on both databases)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core import queue
from core.exceptions import JobNotFound
from core.models import Job

pytestmark = pytest.mark.django_db


def ids(jobs):
    return sorted(job.pk for job in jobs)


@pytest.fixture
def tagged():
    """Jobs with known tag sets, by name."""
    return {
        "ab": queue.enqueue("t", tags=["a", "b"]),
        "a": queue.enqueue("t", tags=["a"]),
        "bc": queue.enqueue("t", tags=["b", "c"]),
        "none": queue.enqueue("t"),
        "ba": queue.enqueue("t", tags=["b", "a"]),
        "a:1": queue.enqueue("t", tags=["tenant:1", "a b"]),
    }


def test_get_job_returns_the_stored_job():
    job = queue.enqueue("x", {"k": "v"})
    assert queue.get_job(job.pk).payload == {"k": "v"}
    assert queue.get_job(str(job.pk)).pk == job.pk


def test_get_job_raises_job_not_found_for_a_missing_id():
    with pytest.raises(JobNotFound, match="no job with id 12345"):
        queue.get_job(12345)


@pytest.mark.parametrize(
    ("tags", "mode", "expected"),
    [
        (["a", "b"], "exact", ["ab", "ba"]),
        (["a"], "exact", ["a"]),
        ([], "exact", ["none"]),
        (["a", "b"], "all", ["ab", "ba"]),
        (["b"], "all", ["ab", "bc", "ba"]),
        ([], "all", ["ab", "a", "bc", "none", "ba", "a:1"]),
        (["a", "c"], "any", ["ab", "a", "bc", "ba"]),
        ([], "any", []),
        (["a"], "none", ["bc", "none", "a:1"]),
        (["a", "c"], "none", ["none", "a:1"]),
        (["tenant:1"], "all", ["a:1"]),
        (["a b"], "any", ["a:1"]),
        (["a"], "all", ["ab", "a", "ba"]),
    ],
)
def test_find_jobs_by_tags_in_each_mode(tagged, tags, mode, expected):
    found = queue.find_jobs(tags=tags, tag_mode=mode)
    assert ids(found) == sorted(tagged[name].pk for name in expected)


def test_find_jobs_tag_mode_defaults_to_all(tagged):
    assert ids(queue.find_jobs(tags=["a", "b"])) == sorted([tagged["ab"].pk, tagged["ba"].pk])


def test_find_jobs_does_not_match_a_tag_by_substring(tagged):
    assert queue.find_jobs(tags=["tenant"], tag_mode="any") == []


def test_find_jobs_filters_by_status_type_queue_and_channel():
    a = queue.enqueue("email", queue="mail", channel="c1")
    b = queue.enqueue("email", queue="mail")
    c = queue.enqueue("report", queue="reports")
    queue.cancel_job(b.pk)
    assert ids(queue.find_jobs(status="cancelled")) == [b.pk]
    assert ids(queue.find_jobs(status=["pending", "cancelled"])) == [a.pk, b.pk, c.pk]
    assert ids(queue.find_jobs(job_type="email")) == [a.pk, b.pk]
    assert ids(queue.find_jobs(job_type=["email", "report"], status="pending")) == [a.pk, c.pk]
    assert ids(queue.find_jobs(queue="reports")) == [c.pk]
    assert ids(queue.find_jobs(channel="c1")) == [a.pk]


def test_find_jobs_by_ids_and_idempotency_key():
    a = queue.enqueue("x", idempotency_key="order-7")
    b = queue.enqueue("x")
    queue.enqueue("x")
    assert ids(queue.find_jobs(idempotency_key="order-7")) == [a.pk]
    assert ids(queue.find_jobs(ids=[a.pk, b.pk])) == [a.pk, b.pk]


def test_find_jobs_by_run_at_range_includes_after_and_excludes_before():
    now = timezone.now()
    early = queue.enqueue("x", run_at=now - timedelta(hours=2))
    middle = queue.enqueue("x", run_at=now)
    queue.enqueue("x", run_at=now + timedelta(hours=2))
    found = queue.find_jobs(run_at_after=now - timedelta(hours=2), run_at_before=now)
    assert ids(found) == [early.pk]
    assert ids(queue.find_jobs(run_at_after=now, run_at_before=now + timedelta(hours=1))) == [
        middle.pk
    ]


def test_find_jobs_by_created_at_range():
    old = queue.enqueue("x")
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    new = queue.enqueue("x")
    cutoff = timezone.now() - timedelta(days=1)
    assert ids(queue.find_jobs(created_before=cutoff)) == [old.pk]
    assert ids(queue.find_jobs(created_after=cutoff)) == [new.pk]


def test_find_jobs_pages_newest_first_with_a_cursor():
    jobs = queue.enqueue_many([{"job_type": "x"} for _ in range(7)])
    all_ids = sorted((job.pk for job in jobs), reverse=True)
    first = queue.find_jobs(limit=3)
    second = queue.find_jobs(limit=3, cursor=first[-1].pk)
    third = queue.find_jobs(limit=3, cursor=second[-1].pk)
    assert [j.pk for j in first + second + third] == all_ids
    assert len(third) == 1


def test_find_jobs_pages_oldest_first_with_a_cursor():
    jobs = queue.enqueue_many([{"job_type": "x"} for _ in range(5)])
    first = queue.find_jobs(limit=2, newest_first=False)
    second = queue.find_jobs(limit=2, newest_first=False, cursor=first[-1].pk)
    assert [j.pk for j in first + second] == [job.pk for job in jobs[:4]]


def test_find_jobs_pagination_uses_no_offset(django_assert_num_queries):
    queue.enqueue_many([{"job_type": "x"} for _ in range(5)])
    with django_assert_num_queries(1) as captured:
        queue.find_jobs(limit=2, cursor=10**6)
    sql = captured.captured_queries[0]["sql"].upper()
    assert "OFFSET" not in sql
    assert '"ID" <' in sql
