"""Redaction: the values of the payload keys named in ``QUEUEADMIN["REDACT"]`` shown as "•••".

Keys match case-insensitively at any depth (inside nested objects and lists).
The dashboard, the admin and the JSON API show jobs through ``redact``; handlers
get the stored, real values. ``restore`` keeps the stored value where an edited
payload still holds the mask, so an edit never writes "•••" into a job.
"""

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from core import conf
from core.checks import redact_problem
from core.exceptions import InvalidJobError

#: What a redacted value is shown as.
MASK = "•••"


def redacted_keys() -> frozenset[str]:
    """The REDACT setting's key names, lower-cased (empty: nothing is redacted)."""
    value = conf.get("REDACT")
    problem = redact_problem(value)
    if problem:  # `manage.py check` says so at startup; a page must not leak meanwhile
        raise ImproperlyConfigured(problem)
    return frozenset(key.lower() for key in value)


def redact(value: Any, keys: frozenset[str] | None = None) -> Any:
    """A copy of ``value`` (JSON) with the value of every redacted key replaced by MASK."""
    keys = redacted_keys() if keys is None else keys
    if not keys:
        return value
    return _redact(value, keys)


def _redact(value: Any, keys: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: MASK if isinstance(k, str) and k.lower() in keys else _redact(v, keys)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact(item, keys) for item in value]
    return value


def restore(edited: Any, stored: Any, keys: frozenset[str] | None = None) -> Any:
    """``edited`` with each redacted key that still holds MASK given the ``stored`` value
    at the same place; InvalidJobError ("payload: …") when there is none to keep."""
    keys = redacted_keys() if keys is None else keys
    if not keys:
        return edited
    return _restore(edited, stored, keys, "payload")


def _restore(edited: Any, stored: Any, keys: frozenset[str], path: str) -> Any:
    if isinstance(edited, dict):
        result = {}
        for key, value in edited.items():
            here = f"{path}.{key}"
            old = stored.get(key, _MISSING) if isinstance(stored, dict) else _MISSING
            if isinstance(key, str) and key.lower() in keys and value == MASK:
                if old is _MISSING:
                    raise InvalidJobError(
                        f"payload: {here[len('payload.') :]} holds {MASK}, the mask of a "
                        "redacted value, and nothing is stored there to keep; "
                        "type the real value"
                    )
                result[key] = old
            else:
                result[key] = _restore(value, None if old is _MISSING else old, keys, here)
        return result
    if isinstance(edited, list):
        olds = stored if isinstance(stored, list) else []
        return [
            _restore(item, olds[i] if i < len(olds) else None, keys, f"{path}[{i}]")
            for i, item in enumerate(edited)
        ]
    return edited


_MISSING = object()


def searched_redacted(column: str, filters: dict[str, Any]) -> str | None:
    """The first redacted key that ``filters`` (``filter_jobs`` keywords) search in
    ``column`` — by containment or by key path — or None. A dashboard or API user
    must not learn a hidden value by guessing it."""
    keys = redacted_keys()
    if not keys:
        return None
    for path in filters.get(f"{column}_has") or {}:
        for segment in path.split("."):
            if segment.lower() in keys:
                return segment
    return _key_in(filters.get(column) or [], keys)


def _key_in(value: Any, keys: frozenset[str]) -> str | None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key.lower() in keys:
                return key
            found = _key_in(item, keys)
            if found:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _key_in(item, keys)
            if found:
                return found
    return None
