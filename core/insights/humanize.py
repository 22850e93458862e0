"""Numbers, durations and times written for people: shared by the dashboard's
templates (as filters of ``{% load queueadmin %}``), its views and ``explain``."""

import json
from datetime import datetime
from typing import Any

from django.utils import timezone


def pretty_json(value: Any) -> str:
    """Indented JSON text (the template escapes it like any other string)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds >= 1:
        seconds = round(seconds, 1)  # 59.96 s reads "1m 00s", not "60 s"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"


def duration(seconds: float | None) -> str:
    """Seconds as a short human duration ("340 ms", "2.5 s", "3m 04s", "5h 10m")."""
    return "-" if seconds is None else _span(seconds)


def age(moment: datetime | None) -> str:
    """How long ago ``moment`` was ("3m 04s ago"), or how far ahead ("in 5m 00s")."""
    if moment is None:
        return "-"
    seconds = (timezone.now() - moment).total_seconds()
    return f"{_span(seconds)} ago" if seconds >= 0 else f"in {_span(seconds)}"


def field_value(job: Any, name: str) -> str:
    """``job``'s field ``name`` as text: JSON for lists, ISO time for datetimes."""
    value = getattr(job, name)
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def lookup(mapping: dict, key: str) -> Any:
    """``mapping[key]``, or None."""
    return mapping.get(key) if mapping else None


def when(value: datetime | str | None) -> str:
    """A time (a datetime or the ISO text stored in JSON) as local "Y-m-d H:M:S"."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return "-"
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime("%Y-%m-%d %H:%M:%S")
