"""The search box's syntax: searching inside jobs by typing terms.

Terms, separated by spaces, all of which must hold:

- ``payload.customer.id=42``: the value at a key path (``output.…``, ``errors.…`` too);
  the value is JSON when it reads as JSON (``42``, ``true``, ``"42"``, ``{"a": 1}``),
  text otherwise (``payload.email=ann@example.com``);
- ``payload:{"customer": 42}``: containment of a JSON object (``output:``, ``errors:``);
- ``error:timeout`` or ``error:"connection refused"``: text in the latest error message;
- ``worker:<id>``: the jobs a worker is running.

Text that starts with none of these is an id (``123``, ``#123``) or an idempotency key,
as before.
"""

import json
import re
from typing import Any

from core.exceptions import InvalidJobError
from core.jobs.contents import COLUMNS, search_value

#: Words that start a search term, and what follows them.
PREFIXES = (*(f"{c}." for c in COLUMNS), *(f"{c}:" for c in COLUMNS), "error:", "worker:")
_PATH_TERM = re.compile(r"(" + "|".join(COLUMNS) + r")\.([^\s=]*)=")
_TERM = re.compile(r"(" + "|".join(COLUMNS) + r"|error|worker):")
_DECODER = json.JSONDecoder()
#: Where a JSON value may start.
_JSON_START = re.compile(r'[{\["\-0-9tfn]')


def is_structured(text: str) -> bool:
    """Whether the search box text uses the term syntax (else: an id or a key)."""
    return text.lstrip().startswith(PREFIXES)


def _value(text: str, at: int, *, json_only_quoted: bool) -> tuple[Any, int]:
    """The value starting at ``at`` and where it ends: a JSON value followed by a space
    or the end, else the word up to the next space."""
    if _JSON_START.match(text, at) and (text[at] == '"' or not json_only_quoted):
        try:
            value, end = _DECODER.raw_decode(text, at)
        except (ValueError, RecursionError):
            pass
        else:
            if end == len(text) or text[end].isspace():
                return value, end
    end = at
    while end < len(text) and not text[end].isspace():
        end += 1
    word = text[at:end]
    if not word:
        raise InvalidJobError(f"a search term has no value at position {at + 1}")
    return (word if json_only_quoted else search_value(word)), end


def _put(found: dict[str, Any], name: str, value: Any) -> None:
    if name in found and found[name] != value:
        raise InvalidJobError(f"{name}: give it once in the search")
    found[name] = value


def parse(text: str) -> dict[str, Any]:
    """``filter_jobs`` keywords from search terms: ``payload``/``output``/``errors`` (lists
    of objects), ``*_has`` (key paths to values), ``error`` and ``worker``.
    InvalidJobError names the term it cannot read."""
    found: dict[str, Any] = {}
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return found
        if path := _PATH_TERM.match(text, at):
            column, key = path.groups()
            value, at = _value(text, path.end(), json_only_quoted=False)
            paths = found.setdefault(f"{column}_has", {})
            if key in paths:
                raise InvalidJobError(f"{column}.{key}: give it once in the search")
            paths[key] = value
        elif term := _TERM.match(text, at):
            name = term.group(1)
            value, at = _value(text, term.end(), json_only_quoted=name in ("error", "worker"))
            if name in COLUMNS:
                found.setdefault(name, []).append(value)
            elif not isinstance(value, str):
                raise InvalidJobError(f"{name}: needs text, got {value!r}")
            else:
                _put(found, name, value)
        else:
            word = text[at:].split(maxsplit=1)[0]
            raise InvalidJobError(
                f"cannot read {word!r}: search terms are payload.key=value, "
                'payload:{"key": value} (also output and errors), error:text, worker:id'
            )
