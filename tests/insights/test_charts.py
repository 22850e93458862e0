"""The Charts page's figures: ranges and their steps, series stepped in the database,
depth as the highest sample, filters, and clear errors for bad choices."""

from datetime import UTC, datetime, timedelta

import pytest

from core.insights import charts
from core.maintenance.rollup import roll_hour, roll_minute
from core.models import JobStat
from tests.rollups import finished

NOW = datetime(2026, 3, 1, 12, 30, 20, tzinfo=UTC)


def test_each_range_has_its_step_and_bar_count():
    steps = {key: (r.step, r.span.total_seconds() // r.step) for key, r in charts.RANGES.items()}
    assert steps == {"1h": (60, 60), "24h": (300, 288), "7d": (3600, 168)}


def test_the_window_ends_with_the_step_holding_now():
    start, end = charts.window(charts.RANGES["24h"], NOW)
    assert end == datetime(2026, 3, 1, 12, 35, tzinfo=UTC)
    assert end - start == timedelta(hours=24)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("2w", None, None), "unknown range '2w'"),
        (("1h", "q" * 101, None), "queue is at most 100"),
        (("1h", None, "t" * 201), "job type is at most 200"),
    ],
)
def test_a_bad_choice_is_refused_with_a_clear_error(args, message):
    with pytest.raises(charts.ChartError, match=message):
        charts.clean(*args)


def test_no_choice_means_the_last_hour_of_everything():
    assert charts.clean(None, "", "") == (charts.RANGES["1h"], None, None)


@pytest.mark.django_db
def test_the_last_hour_has_a_bar_per_minute():
    finished(datetime(2026, 3, 1, 12, 10, 5, tzinfo=UTC), run=0.1)
    finished(datetime(2026, 3, 1, 12, 10, 6, tzinfo=UTC), status="failed")
    roll_minute(datetime(2026, 3, 1, 12, 10, tzinfo=UTC))
    chart = charts.chart("1h", now=NOW)
    assert len(chart.bars) == 60
    [bar] = [b for b in chart.bars if b.completed or b.failed]
    assert (bar.start, bar.completed, bar.failed) == (
        datetime(2026, 3, 1, 12, 10, tzinfo=UTC),
        1,
        1,
    )


@pytest.mark.django_db
def test_a_day_is_stepped_by_five_minutes_in_the_database():
    for minute in (0, 1, 4, 5):
        finished(datetime(2026, 3, 1, 11, minute, 5, tzinfo=UTC))
        roll_minute(datetime(2026, 3, 1, 11, minute, tzinfo=UTC))
    chart = charts.chart("24h", now=NOW)
    counts = {b.start.strftime("%H:%M"): b.completed for b in chart.bars if b.completed}
    assert counts == {"11:00": 3, "11:05": 1}
    assert chart.completed == 4


@pytest.mark.django_db
def test_a_week_is_stepped_by_hours():
    for day in (1, 3):
        at = NOW - timedelta(days=day)
        finished(at)
        roll_minute(at)
        roll_hour(at)
    chart = charts.chart("7d", now=NOW)
    assert len(chart.bars) == 168
    assert sum(1 for b in chart.bars if b.completed) == 2


@pytest.mark.django_db
def test_depth_is_the_highest_total_sampled_in_a_step():
    minute = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    for offset, depths in ((0, (3, 4)), (1, (10, 0)), (2, (2, 2))):
        for queue_name, depth in zip(("a", "b"), depths, strict=True):
            JobStat.objects.create(
                minute=minute + timedelta(minutes=offset),
                queue=queue_name,
                job_type="t",
                depth=depth,
            )
    day = charts.chart("24h", now=NOW)
    assert day.peak_depth == 10
    assert charts.chart("24h", queue="b", now=NOW).peak_depth == 4


@pytest.mark.django_db
def test_a_queue_or_job_type_narrows_the_series():
    at = datetime(2026, 3, 1, 12, 10, 5, tzinfo=UTC)
    finished(at, "mail.send", "mail")
    finished(at, "mail.send", "mail")
    finished(at, "report.build", "reports")
    roll_minute(at)
    assert charts.chart("1h", now=NOW).completed == 3
    assert charts.chart("1h", queue="mail", now=NOW).completed == 2
    assert charts.chart("1h", job_type="report.build", now=NOW).completed == 1
    assert charts.chart("1h", queue="mail", job_type="report.build", now=NOW).completed == 0


@pytest.mark.django_db
def test_timing_rows_scale_bars_to_the_slowest_p95():
    at = datetime(2026, 3, 1, 12, 10, 5, tzinfo=UTC)
    finished(at, "fast", run=0.01)
    finished(at, "slow", run=50.0)
    roll_minute(at)
    rows = {r.stats.job_type: r for r in charts.timing_rows(charts.chart("1h", now=NOW).types)}
    assert rows["slow"].run_p95_width == "100.0"
    assert float(rows["fast"].run_p95_width) < 1.0
