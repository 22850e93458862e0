"""The job spec: validation of job fields, shared by enqueue, edits and cron templates.

Every check raises InvalidJobError with a message naming the field, before
anything is written.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from core import conf
from core.drivers.rows import INSERT_FIELDS
from core.exceptions import InvalidJobError
from core.models import RetryBackoff
from core.validation import MAX_BIGINT, Checks

PRIORITY_MIN, PRIORITY_MAX = -100, 100

#: Keyword options of ``enqueue`` besides job_type and payload.
ENQUEUE_OPTIONS = frozenset(INSERT_FIELDS) - {"job_type", "payload"} | {"delay"}

#: Fields ``edit_job``/``edit_jobs`` may change (``delay`` sets run_at); the
#: idempotency key and dependencies are fixed at enqueue.
EDITABLE_FIELDS = ENQUEUE_OPTIONS - {"idempotency_key", "depends_on"} | {"job_type", "payload"}

#: The checks of job fields: they raise InvalidJobError naming the field.
check = Checks(InvalidJobError)


def json_value(field: str, value: Any) -> Any:
    """Return ``value`` as it will read back from the database, or raise if it is not JSON."""
    return check.json(field, value)


def datetime_value(field: str, value: Any) -> datetime:
    """Check that ``value`` is a timezone-aware datetime."""
    return check.datetime(field, value)


def tags_value(value: Any) -> list[str]:
    """Return tags as a list of unique non-empty strings, in the order given."""
    return check.strings("tags", value)


def _depends_on(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise check.fail("depends_on", f"must be a list of job ids, got {value!r}")
    ids = []
    for item in value:
        job_id = getattr(item, "pk", item)  # a Job or its id
        if isinstance(job_id, bool) or not isinstance(job_id, int) or not 1 <= job_id <= MAX_BIGINT:
            raise check.fail("depends_on", f"must hold job ids (positive integers), got {item!r}")
        ids.append(job_id)
    return list(dict.fromkeys(ids))


def _optional(clean):
    return lambda v: None if v is None else clean(v)


# One cleaner per field that enqueue and edits share.
_CLEANERS = {
    "job_type": lambda v: check.text("job_type", v, 200),
    "payload": lambda v: check.json("payload", v),
    "queue": lambda v: check.name("queue", v, 100),
    "channel": _optional(lambda v: check.name("channel", v, 200)),
    "priority": lambda v: check.integer("priority", v, PRIORITY_MIN, PRIORITY_MAX),
    "run_at": lambda v: check.moment("run_at", v),
    "max_attempts": lambda v: check.integer("max_attempts", v, 1, 1000),
    "retry_delay": lambda v: check.seconds("retry_delay", v),
    "retry_backoff": lambda v: check.choice("retry_backoff", v, RetryBackoff.values),
    "retry_delay_max": lambda v: check.seconds("retry_delay_max", v),
    "timeout": _optional(lambda v: check.seconds("timeout", v, positive=True)),
    "force_kill_on_timeout": lambda v: check.boolean("force_kill_on_timeout", v),
    "lock_timeout": _optional(lambda v: check.seconds("lock_timeout", v, positive=True)),
    "tags": tags_value,
    "idempotency_key": _optional(lambda v: check.text("idempotency_key", v, 255)),
    "depends_on": _depends_on,
    "dead_letter_job_type": _optional(lambda v: check.text("dead_letter_job_type", v, 200)),
}


def _resolve_run_at(fields: dict[str, Any], now: datetime) -> None:
    """Turn ``delay`` into ``run_at``; giving both is an error."""
    if "delay" not in fields:
        return
    if fields.get("run_at") is not None:
        raise InvalidJobError("give run_at or delay, not both")
    seconds = check.seconds("delay", fields.pop("delay"))
    try:
        fields["run_at"] = now + timedelta(seconds=seconds)
    except OverflowError:
        raise check.fail("delay", f"too far in the future: {seconds:g} seconds") from None


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
        "lock_timeout": None,
    }


#: Option values whose cleaned form a bulk enqueue remembers (hashable, immutable).
_REMEMBERED = frozenset({str, int, float, bool})


def _clean(name: str, value: Any, memo: dict | None) -> Any:
    """``value`` of field ``name`` cleaned; the same simple value is checked once per
    ``memo`` (one bulk enqueue), so a thousand jobs of one queue check it once."""
    if memo is None or type(value) not in _REMEMBERED:
        return _CLEANERS[name](value)
    key = (name, type(value), value)
    try:
        return memo[key]
    except KeyError:
        memo[key] = cleaned = _CLEANERS[name](value)
        return cleaned


def clean_job(
    job_type: Any,
    payload: Any = None,
    *,
    defaults: dict[str, Any] | None = None,
    memo: dict | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Validate ``enqueue`` arguments; return every INSERT_FIELDS value.

    ``run_at`` None means "now" (the database clock on PostgreSQL). Raises
    InvalidJobError naming the field. ``defaults`` (from job_defaults())
    saves recomputing them for every job of a bulk enqueue, and ``memo`` (a dict
    kept across its jobs) checking the same option values again.
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
            fields[name] = _clean(name, value, memo)
    fields["job_type"] = _clean("job_type", job_type, memo)
    fields["payload"] = _payload(payload)
    return fields


def _payload(payload: Any) -> Any:
    """A job's payload, checked (as given, not as it will read back)."""
    return None if payload is None else check.json("payload", payload, as_stored=False)


#: The spec keys that tell one job of a bulk enqueue from the next (see clean_spec).
_PER_JOB = frozenset({"payload", "idempotency_key"})
#: Option values clean_spec remembers a spec by (hashable and immutable).
_SPEC_TYPES = _REMEMBERED | {type(None), datetime}


def clean_spec(spec: Mapping[str, Any], defaults: dict[str, Any], memo: dict) -> dict[str, Any]:
    """``clean_job(**spec)`` for one job of a bulk enqueue. A spec's options besides its
    payload and idempotency key are checked once per distinct set of them (kept in
    ``memo``, one per bulk enqueue), when each is a str, number, bool, None or datetime:
    the jobs of one bulk enqueue mostly share them."""
    key = []
    for name, value in spec.items():
        if name in _PER_JOB:
            continue
        if value.__class__ not in _SPEC_TYPES:  # a list of tags, say: checked each time
            return clean_job(defaults=defaults, memo=memo, **spec)
        key.append((name, value.__class__, value))
    # A tuple of (name, type, value) triples: never equal to one of _clean's keys,
    # which share the memo.
    key = tuple(key)
    shared = memo.get(key)
    if shared is None:
        options = {name: value for name, value in spec.items() if name not in _PER_JOB}
        memo[key] = shared = clean_job(defaults=defaults, memo=memo, **options)
    fields = dict(shared)
    fields["payload"] = _payload(spec.get("payload"))
    idempotency_key = spec.get("idempotency_key")
    if idempotency_key is not None:
        fields["idempotency_key"] = _clean("idempotency_key", idempotency_key, None)
    return fields
