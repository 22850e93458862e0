"""Input checks shared by jobs, tokens, cron, policies, streams and subscriptions.

``Checks(error)`` raises ``error("<field>: <what is wrong>")``, so each caller
keeps its own exception class (InvalidJobError, InvalidPolicyError,
InvalidStreamError…) while the rules and the messages are written once.
Every check returns the cleaned value. Imports: exceptions and durations only.
"""

import json
import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from core.durations import duration_problem

#: What a queue or channel name may hold.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]*$")
NAME_RULE = "may hold only letters, digits and _ . : @ / -"

#: The longest span in seconds any option takes (retry delays and their cap,
#: timeouts, delays, retention): ten years of 365 days. Whatever is accepted can
#: be added to any date up to LATEST and stay within what PostgreSQL, SQLite
#: and Python's datetime hold.
MAX_SECONDS = 315_360_000.0
#: The range of moments a job may be scheduled at (``run_at``) or filtered by.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
#: How deeply a JSON value (payload, output, stream data, token data, state) may
#: nest: 200 levels of arrays and objects.
MAX_JSON_DEPTH = 200
#: The largest id, offset or count the bigint columns hold.
MAX_BIGINT = 2**63 - 1

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
            if text_problem(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return True


def text_problem(value: str) -> str | None:
    """Why the string ``value`` cannot be stored (it holds NUL or an unpaired
    surrogate: PostgreSQL takes neither, so no database does), or None."""
    bad = "\x00" in value
    if not bad and not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            bad = True
    return "may not contain NUL characters or unpaired surrogates" if bad else None


def json_problem(value: Any, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """What keeps ``value`` from being stored as JSON, found without recursion:
    nesting deeper than ``max_depth`` (a cycle counts as too deep), or a string
    (or key) no database can store. None if neither; json.dumps checks the rest."""
    # Containers seen, with the shallowest depth they were checked at: one met
    # again no deeper holds nothing new (shared parts are walked once).
    seen: dict[int, int] = {}
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return f"strings {problem}"
        elif isinstance(item, dict | list | tuple):
            depth += 1
            if depth > max_depth:
                return f"nests deeper than {max_depth} levels"
            if seen.get(id(item), max_depth + 1) <= depth:
                continue
            seen[id(item)] = depth
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((v, depth) for v in item.values())
            else:
                stack.extend((v, depth) for v in item)
    return None


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
        self.storable_text(field, value)
        if not controls and any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise self.fail(field, "may not contain control characters")
        return value

    def storable_text(self, field: str, value: str) -> str:
        """``value`` (a string) if the databases can store it: no NUL, no unpaired surrogate."""
        problem = text_problem(value)
        if problem:
            raise self.fail(field, problem)
        return value

    def lookup(self, field: str, value: Any) -> str:
        """A string to look up or filter by (any length, may be empty), that the
        databases can take as a parameter."""
        if not isinstance(value, str):
            raise self.fail(field, f"must be a string, got {value!r}")
        return self.storable_text(field, value)

    def name(self, field: str, value: Any, max_length: int = 200) -> str:
        """A name as queues and channels have: ``text`` matching NAME_PATTERN."""
        value = self.text(field, value, max_length)
        if not NAME_PATTERN.match(value):
            raise self.fail(field, f"{value!r} {NAME_RULE}")
        return value

    def names(
        self, field: str, value: Any, each: Callable | None = None, *, one: bool = True
    ) -> list[str]:
        """A non-empty list of names, each checked by ``each`` (``text`` by default); a
        bare string is one name when ``one``, and refused otherwise (not read as a list
        of its characters)."""
        if one and isinstance(value, str):
            value = [value]
        if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
            either = "a name or " if one else ""
            raise self.fail(field, f"must be {either}a list of names, got {value!r}")
        names = [(each or self.text)(field, item) for item in value]
        if not names:
            raise self.fail(field, "give at least one name")
        return names

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
        """A duration (seconds, a timedelta or a string such as ``"15m"``, read by
        core.durations.parse_duration): zero or more, or more than zero when
        ``positive``, and at most ``most`` (never more than MAX_SECONDS)."""
        given = value
        value, problem = duration_problem(value)
        if problem is not None and most is not None and problem.startswith("must be zero or more"):
            problem = f"must be more than 0 and at most {most:g} seconds, got {given!r}"
        if problem is not None:
            raise self.fail(field, problem)
        if value > MAX_SECONDS and (most is None or most >= MAX_SECONDS):
            raise self.fail(
                field, f"must be at most {MAX_SECONDS:,.0f} seconds (10 years), got {given!r}"
            )
        if most is not None and not 0 < value <= most:
            raise self.fail(
                field, f"must be more than 0 and at most {most:g} seconds, got {given!r}"
            )
        if positive and value == 0:
            raise self.fail(field, f"must be more than zero seconds, got {given!r}")
        return value

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
        ``as_stored``), or an error if it is not JSON (NaN, infinities, sets,
        objects), nests deeper than MAX_JSON_DEPTH or holds strings no database
        can store."""
        try:
            text = json.dumps(value, allow_nan=False)
        except RecursionError:
            raise self.fail(field, f"nests deeper than {MAX_JSON_DEPTH} levels") from None
        except (TypeError, ValueError) as exc:
            raise self.fail(field, f"must be JSON-serialisable ({exc})") from None
        # The walk only when the text could hide a problem: no more brackets than
        # MAX_JSON_DEPTH cannot nest deeper, and every NUL or surrogate shows as an escape.
        suspect = text.count("[") + text.count("{") > MAX_JSON_DEPTH
        if suspect or _SUSPECT_ESCAPE.search(text):
            problem = json_problem(value)
            if problem:
                raise self.fail(field, problem)
        return json.loads(text) if as_stored else value

    def datetime(self, field: str, value: Any) -> datetime:
        """A timezone-aware datetime (to compare with, as a filter's bound: one whose
        UTC time lies beyond what datetime holds becomes its first or last moment)."""
        if not isinstance(value, datetime):
            raise self.fail(field, f"must be a datetime, got {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise self.fail(field, "must be timezone-aware (use django.utils.timezone)")
        try:
            value.astimezone(UTC)
        except OverflowError:
            edge = datetime.min if value.year == datetime.min.year else datetime.max
            return edge.replace(tzinfo=UTC)
        return value

    def moment(self, field: str, value: Any) -> datetime:
        """A timezone-aware datetime from EARLIEST up to (not including) LATEST: a
        time to store (run_at), with room for any delay added to it."""
        value = self.datetime(field, value)
        if not EARLIEST <= value < LATEST:
            raise self.fail(
                field,
                f"must be from {EARLIEST.year} up to (not including) {LATEST.year}, got {value}",
            )
        return value

    def identifier(self, field: str, value: Any, low: int = 1) -> int:
        """An integer id (or offset) from ``low`` up to what a bigint column holds."""
        return self.integer(field, value, low, MAX_BIGINT)

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
            problem = text_problem(item)
            if problem:
                raise self.fail(field, f"a tag {problem}")
        return list(dict.fromkeys(value))
