"""core.insights.counts: exact counts within a budget, estimates beyond it."""

import pytest
from django.db import connection

from core import queue
from core.drivers import get_driver
from core.insights import counts as counts_module
from core.insights.counts import Count, Counter, status_counts
from core.models import Job

pytestmark = pytest.mark.django_db


def add_jobs(n, **options):
    return queue.enqueue_many([{"job_type": "x", **options} for _ in range(n)])


def statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (Count(1234), "1,234"),
        (Count(999, exact=False), "≈ 999"),
        (Count(12_345, exact=False), "≈ 12.3k"),
        (Count(999_999, exact=False), "≈ 1M"),
        (Count(1_200_000, exact=False), "≈ 1.2M"),
        (Count(1_234, exact=False, at_least=True), "1.2k+"),
    ],
)
def test_a_count_prints_exact_digits_or_a_marked_estimate(count, text):
    assert str(count) == text


def test_a_small_count_within_the_budget_is_exact():
    add_jobs(5)
    assert Counter(seconds=5).count(Job.objects.all()) == Count(5)


def test_without_budget_left_postgres_shows_the_estimate(postgres_only):
    add_jobs(5)
    result = Counter(seconds=0).count(Job.objects.all())
    assert not result.exact


def test_sqlite_counts_exactly_even_without_budget(db):
    if connection.vendor != "sqlite":
        pytest.skip("checks SQLite's behaviour")
    add_jobs(5)
    assert Counter(seconds=0).count(Job.objects.all()) == Count(5)


def test_status_counts_add_up_to_all():
    add_jobs(3)
    add_jobs(2, queue="mail")
    Job.objects.filter(queue="mail").update(status="failed")
    counts = status_counts(Job.objects.all(), Counter(seconds=5))
    assert (counts["pending"], counts["failed"], counts["completed"]) == (
        Count(3),
        Count(2),
        Count(0),
    )
    assert counts["all"] == Count(5)


def test_a_filter_that_matches_nothing_counts_zero():
    assert Counter(seconds=5).count(Job.objects.none()) == Count(0)


def test_a_query_over_its_time_limit_is_cancelled_and_returns_none(postgres_only):
    before = statement_timeout()
    driver = get_driver()

    def slow():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(2)")
        return "finished"

    assert driver.run_within(0.05, slow) is None
    assert statement_timeout() == before
    assert Job.objects.count() == 0  # the connection is still usable


def test_a_query_within_its_time_limit_returns_and_restores_the_timeout(postgres_only):
    before = statement_timeout()
    assert get_driver().run_within(5, lambda: Job.objects.count()) == 0
    assert statement_timeout() == before


def test_frequent_queue_values_come_from_planner_statistics(postgres_only):
    add_jobs(50, queue="mail")
    add_jobs(50, queue="billing")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE queueadmin_job")
    assert get_driver().frequent_values("queue") == {"mail": 0.5, "billing": 0.5}


@pytest.fixture
def sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("checks SQLite's behaviour (PostgreSQL has planner estimates)")


def test_sqlite_counts_a_filter_exactly_slice_by_slice_within_the_budget(sqlite_only, monkeypatch):
    monkeypatch.setattr(counts_module, "FIRST_SLICE", 2)
    add_jobs(5, queue="mail")
    add_jobs(4)
    counts = status_counts(Job.objects.filter(queue="mail"), Counter(seconds=5))
    assert (counts["pending"], counts["all"]) == (Count(5), Count(5))


def test_sqlite_shows_a_lower_bound_when_a_filter_outlasts_the_budget(sqlite_only, monkeypatch):
    monkeypatch.setattr(counts_module, "FIRST_SLICE", 3)
    add_jobs(6, queue="mail")
    counts = status_counts(Job.objects.filter(queue="mail"), Counter(seconds=0))
    # Only the newest slice of ids was counted before the budget ran out.
    assert counts["pending"] == Count(3, exact=False, at_least=True)
    assert str(counts["all"]) == "3+"
    assert counts["completed"].note.startswith("at least")


def test_sqlite_interrupts_a_query_over_its_time_limit_and_returns_none(sqlite_only):
    def slow():
        with connection.cursor() as cursor:
            cursor.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                "WHERE i < 1000000000) SELECT count(*) FROM n"
            )
            return cursor.fetchone()[0]

    assert get_driver().run_within(0.05, slow) is None
    assert Job.objects.count() == 0  # the connection is still usable
    assert get_driver().run_within(5, lambda: Job.objects.count()) == 0
