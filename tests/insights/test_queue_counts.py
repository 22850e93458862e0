"""The per-queue, per-status table: grouped exactly only when small, estimated otherwise."""

import pytest
from django.db import connection

from core import queue
from core.insights import counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limit(settings):
    """Exact counts up to 20 jobs: grouping up to 2 (and time enough on a busy machine)."""
    settings.QUEUEADMIN = {
        **settings.QUEUEADMIN,
        "DASHBOARD_EXACT_COUNT_LIMIT": 20,
        "DASHBOARD_COUNT_SECONDS": 30,
    }


def enqueue(count: int, name: str) -> None:
    queue.enqueue_many([{"job_type": "x", "queue": name} for _ in range(count)])


def test_a_status_within_a_tenth_of_the_limit_is_grouped_exactly(small_limit):
    enqueue(2, "a")
    totals, table = counts.queue_status_counts(["a"])
    assert table["a"]["pending"] == counts.Count(2)
    assert totals["pending"] == counts.Count(2)


def test_a_status_over_a_tenth_of_the_limit_gets_estimated_cells(small_limit):
    enqueue(6, "a")
    enqueue(4, "b")
    totals, table = counts.queue_status_counts(["a", "b"])
    assert totals["pending"] == counts.Count(10)  # the total is still exact
    assert not table["a"]["pending"].exact
    assert not table["b"]["pending"].exact


def test_without_planner_statistics_a_cell_is_the_queues_share_of_the_newest_jobs(
    small_limit,
):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL estimates from its planner statistics")
    enqueue(6, "a")
    enqueue(4, "b")
    _, table = counts.queue_status_counts(["a", "b"])
    assert table["a"]["pending"] == counts.Count(6, exact=False)
    assert table["b"]["pending"] == counts.Count(4, exact=False)


def test_sampled_shares_are_each_values_share_of_the_newest_jobs():
    enqueue(3, "old")
    enqueue(1, "a")
    enqueue(1, "b")
    assert counts.sampled_shares("queue", size=2) == {"a": 0.5, "b": 0.5}
    assert counts.sampled_shares("queue")["old"] == pytest.approx(0.6)
