"""Searching inside jobs: what ``payload``, ``output`` and ``errors`` filters accept.

Two forms, the same for the three JSON columns:

- containment, ``payload={"customer": {"id": 42}}``: the column holds this object (and
  maybe more), nested objects and arrays compared by containment as PostgreSQL's
  ``@>`` does (an array contains another when it holds each of its elements);
- key paths, ``payload_has={"customer.id": 42}``: the value at each dotted path,
  exactly the containment of the nested object the paths spell (so the same index
  serves both). A path's segments are object keys.

Scalars compare by JSON type and value: ``42`` matches ``42`` and ``42.0`` but not
``"42"``; ``true`` matches neither ``1`` nor ``"true"``; ``null`` matches only a null.
For ``errors`` the object is matched against each recorded error (one entry must hold
all of it), e.g. ``errors={"type": "TimeoutError"}``.
"""

import json
import math
from typing import Any

from core.exceptions import InvalidJobError
from core.validation import MAX_BIGINT, storable

#: The JSON columns that can be searched inside, and the filter names for each.
COLUMNS = ("payload", "output", "errors")
#: Longest filter object, as JSON text.
MAX_JSON = 4000
#: Deepest nesting of a filter object, and most segments of a key path.
MAX_DEPTH = 10
#: Most key paths in one filter.
MAX_PATHS = 50
#: Longest key path, in characters.
MAX_PATH = 500


def _check_value(name: str, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InvalidJobError(f"{name}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidJobError(f"{name}: object keys must be strings, got {key!r}")
            _check_value(name, item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_value(name, item, depth + 1)
    elif isinstance(value, bool) or value is None or isinstance(value, str):
        pass
    elif isinstance(value, int):
        if not -MAX_BIGINT <= value <= MAX_BIGINT:
            raise InvalidJobError(f"{name}: integers must fit in 64 bits, got {value}")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidJobError(f"{name}: numbers must be finite, got {value}")
    else:
        raise InvalidJobError(f"{name}: not a JSON value: {value!r}")


def _checked(name: str, value: Any) -> Any:
    _check_value(name, value, 0)
    if not storable(value):
        raise InvalidJobError(
            f"{name}: strings may not contain NUL (\\u0000) characters or unpaired surrogates"
        )
    if len(json.dumps(value)) > MAX_JSON:
        raise InvalidJobError(f"{name}: longer than {MAX_JSON} characters as JSON")
    return value


def containment(name: str, value: Any) -> list[dict]:
    """A containment filter's objects: one JSON object, or a list of them (all must be
    contained); InvalidJobError otherwise."""
    objects = value if isinstance(value, list) else [value]
    if not objects or not all(isinstance(o, dict) for o in objects):
        raise InvalidJobError(
            f'{name}: must be a JSON object such as {{"customer": 42}}, got {value!r}'
        )
    return [_checked(name, o) for o in objects]


def path_segments(name: str, path: Any) -> list[str]:
    """The keys of a dotted key path (``"customer.id"``); InvalidJobError for an empty
    segment or an over-long path."""
    if not isinstance(path, str):
        raise InvalidJobError(f"{name}: key paths must be strings, got {path!r}")
    if len(path) > MAX_PATH:
        raise InvalidJobError(f"{name}: key path longer than {MAX_PATH} characters")
    segments = path.split(".")
    if not all(segments):
        raise InvalidJobError(
            f"{name}: key path {path!r} has an empty segment; write keys joined by dots, "
            "e.g. customer.id"
        )
    if len(segments) > MAX_DEPTH:
        raise InvalidJobError(f"{name}: key path {path!r} has more than {MAX_DEPTH} keys")
    return segments


def paths_object(name: str, paths: Any) -> dict:
    """The object the key paths spell: ``{"customer.id": 42, "plan": "pro"}`` is
    ``{"customer": {"id": 42}, "plan": "pro"}``. Paths that overlap (``a`` and ``a.b``)
    are an InvalidJobError."""
    if not isinstance(paths, dict) or not paths:
        raise InvalidJobError(
            f"{name}: must be a non-empty mapping of key paths to values such as "
            f'{{"customer.id": 42}}, got {paths!r}'
        )
    if len(paths) > MAX_PATHS:
        raise InvalidJobError(f"{name}: at most {MAX_PATHS} key paths")
    keyed = {path: tuple(path_segments(name, path)) for path in paths}
    for path, keys in keyed.items():
        for other, other_keys in keyed.items():
            if other != path and other_keys[: len(keys)] == keys:
                raise InvalidJobError(f"{name}: key paths {path!r} and {other!r} overlap")
    spelled: dict = {}
    for path, keys in keyed.items():
        node = spelled
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = paths[path]
    return _checked(name, spelled)


def search_value(text: str) -> Any:
    """A value typed in a query string or the search box: JSON when it is JSON (``42``,
    ``true``, ``"42"``, ``{"a": 1}``), the text itself otherwise (``a@b.c``)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def error_text(value: Any) -> str:
    """The ``error`` filter: text to find in the latest error message."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidJobError(f"error: must be non-empty text, got {value!r}")
    if len(value) > MAX_PATH:
        raise InvalidJobError(f"error: longer than {MAX_PATH} characters")
    if not storable(value):
        raise InvalidJobError(
            "error: may not contain NUL (\\u0000) characters or unpaired surrogates"
        )
    return value
