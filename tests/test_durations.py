"""core.durations: the one duration parser, its formatter and calendar months."""

import argparse
from datetime import UTC, datetime, timedelta

import pytest

from core.durations import (
    InvalidDurationError,
    add_months,
    duration_option,
    format_duration,
    parse_duration,
)
from core.exceptions import InvalidJobError, QueueError
from core.validation import Checks


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (30, 30.0),
        (1.5, 1.5),
        (0, 0.0),
        (timedelta(minutes=2), 120.0),
        ("30", 30.0),
        ("1.5", 1.5),
        ("500ms", 0.5),
        ("5s", 5.0),
        ("15m", 900.0),
        ("48h", 172_800.0),
        ("7d", 604_800.0),
        ("2w", 1_209_600.0),
        ("1h30m", 5400.0),
        ("1h 30m 10s", 5410.0),
        (" 15M ", 900.0),
        ("2 Hours", 7200.0),
        ("1.5h", 5400.0),
        (".5s", 0.5),
    ],
)
def test_parse_duration_reads_numbers_timedeltas_and_unit_strings(value, seconds):
    assert parse_duration(value, field="timeout") == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5x", 'timeout: "5x" is not a duration (use seconds or a number with ms, s, m, h'),
        ("", 'timeout: "" is not a duration'),
        ("1h30", 'timeout: "1h30" is not a duration'),
        ("m", 'timeout: "m" is not a duration'),
        ("-5s", 'timeout: must be zero or more seconds, got "-5s"'),
        (-1, "timeout: must be zero or more seconds, got -1"),
        ("1mo", 'timeout: "1mo" is not a duration: months and years vary in length'),
        ("2 years", "months and years vary in length"),
        (float("nan"), "timeout: must be a finite number of seconds"),
        (10**400, "timeout: must be a finite number of seconds"),
        ("9" * 400, "timeout: must be a finite number of seconds"),
        (True, "timeout: must be a number of seconds, a timedelta or a duration string"),
        (None, "timeout: must be a number of seconds, a timedelta or a duration string"),
    ],
)
def test_parse_duration_rejects_what_is_not_a_duration_naming_the_field(value, message):
    with pytest.raises(InvalidDurationError) as caught:
        parse_duration(value, field="timeout")
    assert str(caught.value).startswith(message) or message in str(caught.value)


def test_a_duration_error_is_a_queue_error_and_a_value_error():
    with pytest.raises(QueueError):
        parse_duration("soon", field="delay")
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon", field="delay")


def test_checks_seconds_takes_duration_strings_and_keeps_the_callers_error_class():
    check = Checks(InvalidJobError)
    assert check.seconds("retry_delay", "2m") == 120.0
    with pytest.raises(InvalidJobError, match=r'^retry_delay: "2x" is not a duration'):
        check.seconds("retry_delay", "2x")
    with pytest.raises(InvalidJobError, match="at most 315,360,000 seconds"):
        check.seconds("retry_delay", "600w")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.5, "500ms"), (5400, "1h30m"), (90061.5, "1d1h1m1.5s"), (1_209_600, "2w")],
)
def test_format_duration_writes_what_parse_duration_reads_back(seconds, text):
    assert format_duration(seconds) == text
    assert parse_duration(text, field="x") == seconds


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2024, 1, 31, 9, tzinfo=UTC), 1, datetime(2024, 2, 29, 9, tzinfo=UTC)),
        (datetime(2023, 1, 31, 9, tzinfo=UTC), 1, datetime(2023, 2, 28, 9, tzinfo=UTC)),
        (datetime(2024, 2, 29, tzinfo=UTC), 12, datetime(2025, 2, 28, tzinfo=UTC)),
        (datetime(2024, 11, 15, tzinfo=UTC), 3, datetime(2025, 2, 15, tzinfo=UTC)),
    ],
)
def test_add_months_counts_calendar_months_and_clamps_the_day(moment, months, expected):
    assert add_months(moment, months) == expected


def test_duration_option_counts_a_bare_number_in_its_unit_and_reads_units():
    minutes = duration_option("m")
    assert minutes("30") == 1800.0
    assert minutes("2h") == 7200.0
    with pytest.raises(argparse.ArgumentTypeError, match="is not a duration"):
        minutes("soon")
    with pytest.raises(argparse.ArgumentTypeError, match="more than zero"):
        duration_option(positive=True)("0")
