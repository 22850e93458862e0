"""ctx.wait_for: durations, weeks, calendar months and years; ctx.defer and tokens take
durations too (both databases)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.utils import timezone

from core import queue
from core.durable.context import JobContext
from core.durable.waits import Defer, Sleep
from core.exceptions import InvalidJobError

pytestmark = pytest.mark.django_db


def _ctx() -> JobContext:
    job = queue.enqueue("durations.wait")
    return JobContext(
        job_id=job.pk,
        job_type=job.job_type,
        queue=job.queue,
        attempt=1,
        max_attempts=1,
        worker_id="w",
    )


def _wake(monkeypatch, now: datetime | None = None, *args, **kwargs) -> datetime:
    ctx = _ctx()
    if now is not None:
        monkeypatch.setattr(timezone, "now", lambda: now)
    with pytest.raises(Sleep) as caught:
        ctx.wait_for(*args, **kwargs)
    return caught.value.until


JAN_31 = datetime(2024, 1, 31, 9, 30, tzinfo=UTC)


def test_wait_for_takes_a_duration_string_as_its_first_argument(monkeypatch):
    assert _wake(monkeypatch, JAN_31, "1h30m") == JAN_31 + timedelta(minutes=90)


def test_wait_for_adds_weeks(monkeypatch):
    assert _wake(monkeypatch, JAN_31, weeks=2, days=1) == JAN_31 + timedelta(days=15)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"months": 1}, datetime(2024, 2, 29, 9, 30, tzinfo=UTC)),
        ({"months": 13}, datetime(2025, 2, 28, 9, 30, tzinfo=UTC)),
        ({"years": 1}, datetime(2025, 1, 31, 9, 30, tzinfo=UTC)),
        ({"months": 1, "hours": 1}, datetime(2024, 2, 29, 10, 30, tzinfo=UTC)),
    ],
)
def test_wait_for_months_and_years_are_calendar_ones_clamped_to_the_months_last_day(
    monkeypatch, kwargs, expected
):
    assert _wake(monkeypatch, JAN_31, **kwargs) == expected


@override_settings(TIME_ZONE="Europe/Paris")
def test_wait_for_months_counts_in_the_projects_time_zone(monkeypatch):
    # 23:30 UTC on Jan 31 is already Feb 1 in Paris: one month on is Mar 1 in Paris.
    now = datetime(2024, 1, 31, 23, 30, tzinfo=UTC)
    wake = _wake(monkeypatch, now, months=1)
    assert wake == datetime(2024, 3, 1, 0, 30, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("5x",), {}, 'wait_for: "5x" is not a duration'),
        ((-5,), {}, "wait_for: must be zero or more seconds"),
        ((), {"months": 1.5}, "wait_for: months must be a whole number"),
        ((), {"years": -1}, "wait_for: years must be a whole number"),
        ((), {"weeks": -1}, "wait_for: the time must not be negative"),
        ((), {"years": 9000}, "wait_for: the wake-up time is out of range"),
    ],
)
def test_wait_for_refuses_bad_times_naming_the_field(args, kwargs, message):
    with pytest.raises(InvalidJobError, match=message):
        _ctx().wait_for(*args, **kwargs)


def test_defer_takes_a_duration_string():
    with pytest.raises(Defer) as caught:
        _ctx().defer("2m")
    assert caught.value.delay == 120.0


def test_create_token_takes_a_duration_string_timeout():
    ctx = _ctx()
    before = timezone.now()
    token = ctx.create_token(timeout="2h")
    assert before + timedelta(hours=2) <= token.timeout_at <= timezone.now() + timedelta(hours=2)
