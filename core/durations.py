"""Durations as people write them: ``30``, ``1.5``, ``"500ms"``, ``"15m"``, ``"1h30m"``, ``"2w"``.

``parse_duration`` is the one parser every option taking a span of time goes
through (enqueue options, job edits, tokens, ``ctx.wait_for``, cron templates,
policies, subscriptions, the API, the dashboard forms, the commands' options),
so they all accept the same spellings and fail with the same message.
Imports: exceptions only.
"""

import argparse
import calendar
import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from core.exceptions import QueueError

__all__ = [
    "DURATION_HELP",
    "InvalidDurationError",
    "add_months",
    "duration_option",
    "duration_problem",
    "format_duration",
    "parse_duration",
]

#: What a duration may be, for error messages and help texts.
DURATION_HELP = 'use seconds or a number with ms, s, m, h, d or w, e.g. "15m"'

#: Seconds in one of each unit. Units are case-insensitive; months and years are
#: left out on purpose: their length varies (``ctx.wait_for(months=…)`` adds
#: calendar months instead).
UNITS = {
    "ms": 0.001,
    "msec": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
    "wk": 604800.0,
    "wks": 604800.0,
    "week": 604800.0,
    "weeks": 604800.0,
}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PLAIN = re.compile(rf"{_NUMBER}")
_PART = re.compile(rf"\s*({_NUMBER})\s*([a-z]+)")
_CALENDAR = re.compile(r"\d\s*(mo|mon|mons|month|months|y|yr|yrs|year|years)\b")


class InvalidDurationError(QueueError, ValueError):
    """A value is not a duration (or is negative); its message names the field."""


def duration_problem(value: Any) -> tuple[float | None, str | None]:
    """``(seconds, None)`` for a duration, or ``(None, what is wrong)`` without the field's name."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool) or not isinstance(value, int | float | str):
        return None, f"must be a number of seconds, a timedelta or a duration string, got {value!r}"
    elif isinstance(value, str):
        seconds = _parse_text(value)
        negative = value.strip().startswith("-") and _parse_text(value.strip()[1:]) is not None
        if seconds is None and negative:
            return None, f"must be zero or more seconds, got {_quoted(value)}"
        if seconds is None:
            if _CALENDAR.search(value.strip().lower()):
                return None, (
                    f"{_quoted(value)} is not a duration: months and years vary in length "
                    '(use days or weeks, e.g. "30d")'
                )
            return None, f"{_quoted(value)} is not a duration ({DURATION_HELP})"
    else:
        seconds = float(value) if isinstance(value, float) or abs(value) < 10**300 else math.inf
    if not math.isfinite(seconds):
        return None, f"must be a finite number of seconds, got {_quoted(value)}"
    if seconds < 0:
        return None, f"must be zero or more seconds, got {_quoted(value)}"
    return float(seconds), None


def parse_duration(value: Any, *, field: str) -> float:
    """``value`` in seconds: a number of seconds (zero or more), a timedelta, or a
    string such as ``"30"``, ``"1.5"``, ``"500ms"``, ``"15m"``, ``"48h"``,
    ``"7d"``, ``"2w"`` or ``"1h30m"``. Raises InvalidDurationError naming ``field``."""
    seconds, problem = duration_problem(value)
    if problem is not None:
        raise InvalidDurationError(f"{field}: {problem}")
    return seconds


def format_duration(seconds: float) -> str:
    """``seconds`` the way parse_duration reads it back, shortest units first
    left out: ``5400`` → ``"1h30m"``, ``0.5`` → ``"500ms"``, ``0`` → ``"0s"``."""
    if seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"cannot format {seconds!r} as a duration")
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    parts = []
    for unit, size in (("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)):
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    whole, rest = divmod(millis, 1000)
    if rest and not parts and not whole:
        parts.append(f"{rest}ms")
    elif rest:
        parts.append(f"{whole}.{rest:03d}".rstrip("0") + "s")
    elif whole:
        parts.append(f"{whole}s")
    return "".join(parts)


def duration_option(bare_unit: str = "s", *, positive: bool = False) -> Callable[[str], float]:
    """An argparse ``type`` for the commands' options: a duration in seconds, where a
    bare number counts in ``bare_unit`` (``"m"`` for ``--reclaim-older-than 30``)."""
    scale = UNITS[bare_unit]

    def parse(text: str) -> float:
        seconds, problem = duration_problem(text)
        if problem is None and _PLAIN.fullmatch(text.strip()):
            seconds *= scale
        if problem is None and positive and seconds == 0:
            problem = f"must be more than zero, got {_quoted(text)}"
        if problem is not None:
            raise argparse.ArgumentTypeError(problem)
        return seconds

    parse.__name__ = "duration"
    return parse


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus ``months`` calendar months (negative: back), in its own
    timezone, the wall-clock time kept; a day the target month lacks becomes
    its last (Jan 31 + 1 month = Feb 28, or 29 in a leap year)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError(f"{moment} plus {months} months is out of range")
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _parse_text(text: str) -> float | None:
    """Seconds in ``text``, or None if it is not a duration (a sign is not one)."""
    text = text.strip().lower()
    if not text:
        return None
    if _PLAIN.fullmatch(text):
        return float(text)
    total, position = 0.0, 0
    while position < len(text):
        match = _PART.match(text, position)
        if match is None or match.group(2) not in UNITS:
            return None
        total += float(match.group(1)) * UNITS[match.group(2)]
        position = match.end()
    return total


def _quoted(value: Any) -> str:
    """``value`` for a message: a string in double quotes, cut at 40 characters."""
    if not isinstance(value, str):
        return repr(value)
    return f'"{value[:40]}…"' if len(value) > 40 else f'"{value}"'
