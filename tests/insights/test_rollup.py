"""Reading the rollup: Prometheus-style quantiles from cumulative buckets, and the
per-job-type histograms summed over a range."""

from datetime import UTC, datetime, timedelta

import pytest

from core.insights import rollup
from core.insights.rollup import Histogram, histogram_quantile
from core.maintenance.rollup import roll_hour, roll_minute
from tests.rollups import finished

MINUTE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BOUNDS = (1.0, 2.0, 4.0)


def test_a_quantile_is_interpolated_inside_its_bucket():
    # 10 values: 2 at most 1 s, 8 at most 2 s, 10 at most 4 s.
    assert histogram_quantile(0.5, (2, 8, 10), 10, BOUNDS) == pytest.approx(1.5)
    assert histogram_quantile(0.9, (2, 8, 10), 10, BOUNDS) == pytest.approx(3.0)


def test_the_first_bucket_is_interpolated_from_zero():
    assert histogram_quantile(0.5, (4, 4, 4), 4, BOUNDS) == pytest.approx(0.5)


def test_a_rank_past_the_last_bound_gives_that_bound():
    assert histogram_quantile(0.95, (0, 0, 1), 10, BOUNDS) == 4.0


def test_an_empty_histogram_has_no_quantile():
    assert histogram_quantile(0.5, (0, 0, 0), 0, BOUNDS) is None


@pytest.mark.parametrize("q", [0, -0.1, 1.5])
def test_a_quantile_outside_zero_to_one_is_refused(q):
    with pytest.raises(ValueError, match="between 0"):
        histogram_quantile(q, (1, 1, 1), 1, BOUNDS)


def test_histogram_p50_and_p95_use_the_fixed_bounds():
    # All 100 values in (0.1, 0.25]: the median is halfway through that bucket.
    hist = Histogram(buckets=(0,) * 4 + (0,) + (100,) * 13, count=100, sum=17.5)
    assert hist.p50 == pytest.approx(0.175)
    assert hist.p95 == pytest.approx(0.1 + 0.15 * 0.95)


@pytest.mark.django_db
def test_by_job_type_sums_the_minutes_of_the_range():
    for n in range(3):
        finished(MINUTE + timedelta(minutes=n, seconds=5), "mail.send", run=0.3)
        roll_minute(MINUTE + timedelta(minutes=n))
    finished(MINUTE + timedelta(minutes=3, seconds=5), "mail.send", run=0.3)
    roll_minute(MINUTE + timedelta(minutes=3))
    [mail] = rollup.by_job_type(MINUTE, MINUTE + timedelta(minutes=3))
    assert (mail.job_type, mail.completed, mail.run.count) == ("mail.send", 3, 3)
    assert mail.run.sum == pytest.approx(0.9, abs=1e-3)
    assert 0.25 < mail.run.p50 <= 0.5


@pytest.mark.django_db
def test_by_job_type_keeps_to_one_queue_when_asked():
    finished(MINUTE + timedelta(seconds=5), "mail.send", "mail")
    finished(MINUTE + timedelta(seconds=5), "report.build", "reports")
    roll_minute(MINUTE)
    assert [t.job_type for t in rollup.by_job_type(queue="reports")] == ["report.build"]
    assert [t.job_type for t in rollup.by_job_type()] == ["mail.send", "report.build"]


@pytest.mark.django_db
def test_run_histograms_cover_every_job_type_kept():
    finished(MINUTE + timedelta(seconds=5), "mail.send", run=0.02)
    finished(MINUTE + timedelta(seconds=6), "mail.send", run=3.0)
    roll_minute(MINUTE)
    roll_hour(MINUTE)
    hist = rollup.run_histograms()["mail.send"]
    assert hist.count == 2
    assert (hist.buckets[0], hist.buckets[2], hist.buckets[-1]) == (0, 1, 2)
