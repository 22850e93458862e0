"""The overview's throughput chart: the minutes the rollup wrote come from JobStat, the
newer ones from the job table, none counted twice."""

from datetime import UTC, datetime, timedelta

import pytest

from core.insights.metrics import throughput
from core.maintenance.rollup import roll_minute
from core.models import JobStat
from tests.rollups import finished

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 12, 30, 20, tzinfo=UTC)
MINUTE = datetime(2026, 3, 1, 12, 20, tzinfo=UTC)


def bar_at(minute: datetime):
    [bar] = [bar for bar in throughput(NOW) if bar.minute == minute]
    return bar.completed, bar.failed


def test_rolled_up_minutes_are_read_from_the_rollup_not_the_job_table():
    JobStat.objects.create(minute=MINUTE, queue="mail", job_type="mail.send", completed=7)
    JobStat.objects.create(minute=MINUTE, queue="web", job_type="hook", completed=1, failed=2)
    assert bar_at(MINUTE) == (8, 2)


def test_minutes_after_the_last_rolled_up_one_are_counted_in_the_job_table():
    roll_minute(MINUTE)
    finished(MINUTE + timedelta(minutes=5, seconds=3))
    finished(MINUTE + timedelta(minutes=5, seconds=9), status="failed")
    assert bar_at(MINUTE + timedelta(minutes=5)) == (1, 1)


def test_a_rolled_up_minute_is_not_counted_twice():
    finished(MINUTE + timedelta(seconds=30))
    roll_minute(MINUTE)
    assert bar_at(MINUTE) == (1, 0)
    assert sum(bar.completed for bar in throughput(NOW)) == 1


def test_without_a_rollup_the_whole_hour_comes_from_the_job_table():
    finished(MINUTE + timedelta(seconds=30))
    finished(NOW - timedelta(seconds=5))
    assert sum(bar.completed for bar in throughput(NOW)) == 2
