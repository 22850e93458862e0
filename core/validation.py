"""Input checks shared by jobs, tokens, cron, policies, streams and subscriptions.

``Checks(error)`` raises ``error("<field>: <what is wrong>")``, so each caller
keeps its own exception class (InvalidJobError, InvalidPolicyError,
InvalidStreamError…) while the rules and the messages are written once.
Every check returns the cleaned value. Imports: exceptions only.
"""

import json
import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

#: What a queue or channel name may hold.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]*$")
NAME_RULE = "may hold only letters, digits and _ . : @ / -"

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


def positive(kind: type) -> Callable[[str], int | float]:
    """An argparse type for the commands' options: ``kind(text)`` that must be more than zero."""

    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise ValueError(text)
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


class Checks:
    """The checks, raising ``error`` (a QueueError subclass) with the field's name."""

    def __init__(self, error: type[Exception]) -> None:
        self.error = error

    def fail(self, field: str, message: str) -> Exception:
        """The error to raise for ``field``."""
        return self.error(f"{field}: {message}")

    def text(self, field: str, value: Any, max_length: int = 200, *, controls: bool = True) -> str:
        """A non-empty string of at most ``max_length`` characters without NUL
        (nor any control character when ``controls`` is False)."""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, f"must be a non-empty string, got {value!r}")
        if len(value) > max_length:
            raise self.fail(field, f"must be at most {max_length} characters")
        if "\x00" in value:
            raise self.fail(field, "may not contain NUL characters")
        if not controls and any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise self.fail(field, "may not contain control characters")
        return value

    def name(self, field: str, value: Any, max_length: int = 200) -> str:
        """A name as queues and channels have: ``text`` matching NAME_PATTERN."""
        value = self.text(field, value, max_length)
        if not NAME_PATTERN.match(value):
            raise self.fail(field, f"{value!r} {NAME_RULE}")
        return value

    def optional_text(self, field: str, value: Any, max_length: int = 200) -> str | None:
        """``text``, or None."""
        return None if value is None else self.text(field, value, max_length)

    def integer(self, field: str, value: Any, low: int, high: int | None = None) -> int:
        """An integer (not a bool) from ``low`` to ``high`` (None: no upper bound)."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(field, f"must be an integer, got {value!r}")
        if high is None and value < low:
            raise self.fail(field, f"must be an integer from {low}, got {value}")
        if high is not None and not low <= value <= high:
            raise self.fail(field, f"must be between {low} and {high}, got {value}")
        return value

    def seconds(
        self, field: str, value: Any, *, positive: bool = False, most: float | None = None
    ) -> float:
        """A finite number of seconds (or a timedelta): zero or more, or more than zero
        when ``positive``, and at most ``most``."""
        if isinstance(value, timedelta):
            value = value.total_seconds()
        if not _is_number(value):
            raise self.fail(field, f"must be a number of seconds or a timedelta, got {value!r}")
        if most is not None and not 0 < value <= most:
            raise self.fail(
                field, f"must be more than 0 and at most {most:g} seconds, got {value!r}"
            )
        if value < 0 or (positive and value == 0):
            bound = "more than zero" if positive else "zero or more"
            raise self.fail(field, f"must be {bound} seconds, got {value!r}")
        return float(value)

    def positive(self, field: str, value: Any) -> float:
        """A finite number above zero."""
        if not _is_number(value):
            raise self.fail(field, f"must be a positive number, got {value!r}")
        if value <= 0:
            raise self.fail(field, f"must be more than zero, got {value!r}")
        return value

    def boolean(self, field: str, value: Any) -> bool:
        """True or False."""
        if not isinstance(value, bool):
            raise self.fail(field, f"must be True or False, got {value!r}")
        return value

    def choice(self, field: str, value: Any, choices: list[str]) -> str:
        """One of ``choices``."""
        if value not in choices:
            raise self.fail(field, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def json(self, field: str, value: Any, *, as_stored: bool = True) -> Any:
        """``value`` as it will read back from the database (or as given, when not
        ``as_stored``), or an error if it is not JSON (NaN, sets, objects) or holds
        strings no database can store."""
        try:
            text = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            raise self.fail(field, f"must be JSON-serialisable ({exc})") from None
        if _SUSPECT_ESCAPE.search(text) and not storable(value):
            raise self.fail(field, "strings may not contain NUL characters or unpaired surrogates")
        return json.loads(text) if as_stored else value

    def datetime(self, field: str, value: Any) -> datetime:
        """A timezone-aware datetime."""
        if not isinstance(value, datetime):
            raise self.fail(field, f"must be a datetime, got {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise self.fail(field, "must be timezone-aware (use django.utils.timezone)")
        return value

    def strings(self, field: str, value: Any, max_length: int = 100) -> list[str]:
        """A list of unique non-empty strings (tags), in the order given."""
        if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
            raise self.fail(field, f"must be a list of strings, got {value!r}")
        for item in value:
            if not isinstance(item, str) or not item.strip():
                raise self.fail(field, f"every tag must be a non-empty string, got {item!r}")
            if len(item) > max_length:
                raise self.fail(
                    field, f"a tag must be at most {max_length} characters, got {item[:20]!r}…"
                )
            if "\x00" in item:
                raise self.fail(field, "a tag may not contain NUL characters")
        return list(dict.fromkeys(value))
