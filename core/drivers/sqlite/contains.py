"""JSON containment on SQLite, with PostgreSQL's ``@>`` meaning (see
``Driver.contains_filter``), built from SQLite's JSON functions.

Objects are followed by JSON path (``json_type(doc, '$."customer"."id"')``), which is
cheap; arrays need ``json_each`` (some element must contain each element given), and so
do keys a quoted path label cannot name exactly (non-ASCII ones, which Django stores
escaped, and those holding a quote or a backslash). Scalars compare by JSON type and
SQL value: ``json_type`` tells ``true`` from ``1``, which ``json_extract`` does not.
"""

import json
import re

#: Object keys a quoted path label (``."key"``) names exactly.
_PLAIN_KEY = re.compile(r"[ !#-\[\]-~]+")
#: The JSON type of the scalars that have no SQL value to compare.
_TYPE_OF = {True: "true", False: "false", None: "null"}


class _Sql:
    """Parameters and unique aliases for one condition."""

    def __init__(self) -> None:
        self.params: list = []
        self.count = 0

    def param(self, value) -> str:
        self.params.append(value)
        return "%s"

    def alias(self) -> str:
        self.count += 1
        return f"qa_json_{self.count}"


def contains_sql(doc: str, value: dict | list) -> tuple[str, list]:
    """SQL (and its parameters) true when the JSON text ``doc`` contains ``value``."""
    sql = _Sql()
    # A quick substring test per key and value first: the JSON functions parse every
    # row's text, instr() only scans it, so rows that cannot match are dropped cheaply.
    quick = [f"instr({doc}, {sql.param(needle)}) > 0" for needle in sorted(_needles(value))]
    return _all([*quick, _at_path(sql, doc, "$", value)]), sql.params


def _needles(value) -> set[str]:
    """Text that JSON containing ``value`` must hold, as Python's json module (which
    queueadmin and Django use to store JSON, escaping non-ASCII) writes it: each plain
    key quoted, each ASCII string quoted, each number's digits (a float equal to an
    integer below 10**16 is written with its digits and ``.0``; any other float is
    written as its repr). Nothing where another spelling is possible."""
    if isinstance(value, dict):
        found = {f'"{key}"' for key in value if _PLAIN_KEY.fullmatch(key)}
        for item in value.values():
            found |= _needles(item)
        return found
    if isinstance(value, list):
        return set().union(*(_needles(item) for item in value))
    if isinstance(value, str):
        text = json.dumps(value)
        return {text} if text == json.dumps(value, ensure_ascii=False) else set()
    if isinstance(value, bool) or value is None:
        return set()
    if value == int(value):
        return {str(abs(int(value)))} if abs(value) < 10**16 else set()
    return {repr(abs(value))}


def _scalar(sql: _Sql, type_sql: str, value_sql, value) -> str:
    """``value_sql`` is a callable, so that its parameters come after ``type_sql``'s and
    none are added when the type alone decides."""
    if isinstance(value, bool) or value is None:
        return f"{type_sql} = '{_TYPE_OF[value]}'"
    kind = "= 'text'" if isinstance(value, str) else "IN ('integer', 'real')"
    return f"({type_sql} {kind} AND {value_sql()} = {sql.param(value)})"


def _all(tests: list[str]) -> str:
    return "(" + " AND ".join(tests) + ")"


# Parameters are appended in the order their %s appear in the SQL: build left to right.


def _at_path(sql: _Sql, doc: str, path: str, value) -> str:
    """``value`` is contained in the node at JSON ``path`` of ``doc``."""
    type_sql = f"json_type({doc}, {sql.param(path)})"
    if not isinstance(value, dict | list):
        return _scalar(sql, type_sql, lambda: f"json_extract({doc}, {sql.param(path)})", value)
    if isinstance(value, list):
        tests = [f"{type_sql} = 'array'"]
        for item in value:
            row = sql.alias()
            each = f"json_each({doc}, {sql.param(path)})"
            inner = _in_row(sql, row, item)
            tests.append(f"EXISTS (SELECT 1 FROM {each} AS {row} WHERE {inner})")
        return _all(tests)
    tests = [f"{type_sql} = 'object'"]
    for key, item in value.items():
        if _PLAIN_KEY.fullmatch(key):
            tests.append(_at_path(sql, doc, f'{path}."{key}"', item))
        else:
            row = sql.alias()
            each = f"json_each({doc}, {sql.param(path)})"
            match = f"{row}.key = {sql.param(key)}"
            inner = _in_row(sql, row, item)
            tests.append(f"EXISTS (SELECT 1 FROM {each} AS {row} WHERE {match} AND {inner})")
    return _all(tests)


def _in_row(sql: _Sql, row: str, value) -> str:
    """``value`` is contained in the json_each row ``row``."""
    if not isinstance(value, dict | list):
        return _scalar(sql, f"{row}.type", lambda: f"{row}.value", value)
    kind = "object" if isinstance(value, dict) else "array"
    # Only an object's or an array's value is JSON text; NULL (for the rest) holds nothing.
    doc = f"(CASE WHEN {row}.type = '{kind}' THEN {row}.value END)"
    return _at_path(sql, doc, "$", value)
