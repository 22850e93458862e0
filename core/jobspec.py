"""Validation of job fields, shared by enqueue, edits and (later) cron templates.

Every check raises InvalidJobError with a message naming the field, before
anything is written.
"""

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from core import conf
from core.drivers.base import INSERT_FIELDS
from core.exceptions import InvalidJobError
from core.models import RetryBackoff

PRIORITY_MIN, PRIORITY_MAX = -100, 100
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]*$")

#: Keyword options of ``enqueue`` besides job_type and payload.
ENQUEUE_OPTIONS = frozenset(INSERT_FIELDS) - {"job_type", "payload"} | {"delay"}

#: Fields ``edit_job``/``edit_jobs`` may change (``delay`` sets run_at); the
#: idempotency key and dependencies are fixed at enqueue.
EDITABLE_FIELDS = ENQUEUE_OPTIONS - {"idempotency_key", "depends_on"} | {"job_type", "payload"}


def _fail(field: str, message: str) -> InvalidJobError:
    return InvalidJobError(f"{field}: {message}")


def _name(field: str, value: Any, max_length: int, *, pattern: bool = True) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(field, f"must be a non-empty string, got {value!r}")
    if len(value) > max_length:
        raise _fail(field, f"must be at most {max_length} characters")
    if pattern and not _NAME_RE.match(value):
        raise _fail(field, f"{value!r} may hold only letters, digits and _ . : @ / -")
    return value


def _optional_name(field: str, value: Any, max_length: int, *, pattern: bool = True) -> str | None:
    return None if value is None else _name(field, value, max_length, pattern=pattern)


def _seconds(field: str, value: Any, *, allow_zero: bool = True) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(field, f"must be a number of seconds or a timedelta, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "more than zero"
        raise _fail(field, f"must be {bound} seconds, got {value!r}")
    return float(value)


def _integer(field: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(field, f"must be an integer, got {value!r}")
    if not low <= value <= high:
        raise _fail(field, f"must be between {low} and {high}, got {value}")
    return value


def _boolean(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(field, f"must be True or False, got {value!r}")
    return value


#: Escapes json.dumps writes for NUL and for surrogates (pairs of which encode
#: characters beyond U+FFFF; lone ones are not text).
_SUSPECT_ESCAPE = re.compile(r"\\u(0000|d[89a-f][0-9a-f]{2})")


def storable(value: Any) -> bool:
    """False if a string anywhere in a JSON value holds NUL or an unpaired surrogate,
    which PostgreSQL cannot store (so neither database takes them)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return False
            if not item.isascii():
                try:
                    item.encode()
                except UnicodeEncodeError:
                    return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return True


def json_value(field: str, value: Any) -> Any:
    """Return ``value`` as it will read back from the database, or raise if it is not JSON."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _fail(field, f"must be JSON-serialisable ({exc})") from None
    if _SUSPECT_ESCAPE.search(text) and not storable(value):
        raise _fail(field, "strings may not contain NUL characters or unpaired surrogates")
    return json.loads(text)


def datetime_value(field: str, value: Any) -> datetime:
    """Check that ``value`` is a timezone-aware datetime."""
    if not isinstance(value, datetime):
        raise _fail(field, f"must be a datetime, got {value!r}")
    if timezone.is_naive(value):
        raise _fail(field, "must be timezone-aware (use django.utils.timezone)")
    return value


def tags_value(value: Any) -> list[str]:
    """Return tags as a list of unique non-empty strings, in the order given."""
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise _fail("tags", f"must be a list of strings, got {value!r}")
    for tag in value:
        if not isinstance(tag, str) or not tag.strip():
            raise _fail("tags", f"every tag must be a non-empty string, got {tag!r}")
        if len(tag) > 100:
            raise _fail("tags", f"a tag must be at most 100 characters, got {tag[:20]!r}…")
    return list(dict.fromkeys(value))


def _depends_on(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise _fail("depends_on", f"must be a list of job ids, got {value!r}")
    ids = []
    for item in value:
        job_id = getattr(item, "pk", item)  # a Job or its id
        if isinstance(job_id, bool) or not isinstance(job_id, int) or job_id < 1:
            raise _fail("depends_on", f"must hold job ids (positive integers), got {item!r}")
        ids.append(job_id)
    return list(dict.fromkeys(ids))


# One cleaner per field that enqueue and edits share.
_CLEANERS = {
    "job_type": lambda v: _name("job_type", v, 200, pattern=False),
    "payload": lambda v: json_value("payload", v),
    "queue": lambda v: _name("queue", v, 100),
    "channel": lambda v: _optional_name("channel", v, 200),
    "priority": lambda v: _integer("priority", v, PRIORITY_MIN, PRIORITY_MAX),
    "run_at": lambda v: datetime_value("run_at", v),
    "max_attempts": lambda v: _integer("max_attempts", v, 1, 1000),
    "retry_delay": lambda v: _seconds("retry_delay", v),
    "retry_backoff": lambda v: _choice("retry_backoff", v, RetryBackoff.values),
    "retry_delay_max": lambda v: _seconds("retry_delay_max", v),
    "timeout": lambda v: None if v is None else _seconds("timeout", v, allow_zero=False),
    "force_kill_on_timeout": lambda v: _boolean("force_kill_on_timeout", v),
    "tags": tags_value,
    "idempotency_key": lambda v: _optional_name("idempotency_key", v, 255, pattern=False),
    "depends_on": _depends_on,
    "dead_letter_job_type": lambda v: _optional_name("dead_letter_job_type", v, 200, pattern=False),
}


def _choice(field: str, value: Any, choices: list[str]) -> str:
    if value not in choices:
        raise _fail(field, f"must be one of {', '.join(choices)}, got {value!r}")
    return value


def _resolve_run_at(fields: dict[str, Any], now: datetime) -> None:
    """Turn ``delay`` into ``run_at``; giving both is an error."""
    if "delay" not in fields:
        return
    if fields.get("run_at") is not None:
        raise InvalidJobError("give run_at or delay, not both")
    seconds = _seconds("delay", fields.pop("delay"))
    try:
        fields["run_at"] = now + timedelta(seconds=seconds)
    except OverflowError:
        raise _fail("delay", f"too far in the future: {seconds:g} seconds") from None


def clean_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate an edit of a pending job and return the model field values to set."""
    unknown = sorted(set(changes) - EDITABLE_FIELDS)
    if unknown:
        allowed = ", ".join(sorted(EDITABLE_FIELDS))
        raise InvalidJobError(f"cannot edit {', '.join(unknown)}; editable fields: {allowed}")
    if not changes:
        raise InvalidJobError("nothing to edit: give at least one field")
    fields = dict(changes)
    _resolve_run_at(fields, timezone.now())
    return {name: _CLEANERS[name](value) for name, value in fields.items()}


def _check_json(field: str, value: Any) -> Any:
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _fail(field, f"must be JSON-serialisable ({exc})") from None
    if _SUSPECT_ESCAPE.search(text) and not storable(value):
        raise _fail(field, "strings may not contain NUL characters or unpaired surrogates")
    return value


def job_defaults() -> dict[str, Any]:
    """The INSERT_FIELDS values of a job enqueued without options (settings applied)."""
    return {
        "queue": conf.get("DEFAULT_QUEUE"),
        "channel": None,
        "priority": 0,
        "run_at": None,
        "max_attempts": conf.get("DEFAULT_MAX_ATTEMPTS"),
        "retry_delay": float(conf.get("DEFAULT_RETRY_DELAY")),
        "retry_backoff": conf.get("DEFAULT_RETRY_BACKOFF"),
        "retry_delay_max": float(conf.get("DEFAULT_RETRY_DELAY_MAX")),
        "timeout": None,
        "force_kill_on_timeout": False,
        "tags": [],
        "idempotency_key": None,
        "depends_on": [],
        "dead_letter_job_type": None,
    }


def clean_job(
    job_type: Any, payload: Any = None, *, defaults: dict[str, Any] | None = None, **options: Any
) -> dict[str, Any]:
    """Validate ``enqueue`` arguments; return every INSERT_FIELDS value.

    ``run_at`` None means "now" (the database clock on PostgreSQL). Raises
    InvalidJobError naming the field. ``defaults`` (from job_defaults())
    saves recomputing them for every job of a bulk enqueue.
    """
    unknown = options.keys() - ENQUEUE_OPTIONS
    if unknown:
        raise InvalidJobError(
            f"unknown option {', '.join(sorted(unknown))}; "
            f"options: {', '.join(sorted(ENQUEUE_OPTIONS))}"
        )
    fields = dict(defaults or job_defaults())
    if options.get("delay") is None:
        options.pop("delay", None)
    else:
        _resolve_run_at(options, timezone.now())
    for name, value in options.items():
        if value is not None:
            fields[name] = _CLEANERS[name](value)
    fields["job_type"] = _CLEANERS["job_type"](job_type)
    fields["payload"] = _check_json("payload", payload)
    return fields


def event_metadata(actor: Any = None, **details: Any) -> dict[str, Any]:
    """Event metadata as JSON (datetimes as ISO strings), with the acting user if any."""
    if actor is not None:
        details["actor"] = str(actor)
    return json.loads(json.dumps(details, cls=DjangoJSONEncoder))
