"""Keyset pages for the dashboard's lists: never OFFSET, so page 1,000 costs what page 1 does."""

from collections.abc import Sequence
from typing import Any

from django.db.models import Q, QuerySet


def _after(order: Sequence[str], cursor: Sequence[Any]) -> Q:
    """Rows after ``cursor`` in ``order``: the first field past it, or equal and the
    next field past it, and so on (``-field`` orders descending)."""
    condition, equal = Q(), {}
    for field, value in zip(order, cursor, strict=True):
        name = field.removeprefix("-")
        step = "lt" if field.startswith("-") else "gt"
        condition |= Q(**equal, **{f"{name}__{step}": value})
        equal[name] = value
    return condition


def keyset_page(
    qs: QuerySet, order: Sequence[str], cursor: Sequence[Any] | None, size: int
) -> tuple[list, bool]:
    """Up to ``size`` rows of ``qs`` in ``order``, after the row whose ``order`` values
    are ``cursor`` (None: from the start); and whether more rows follow."""
    if cursor is not None:
        qs = qs.filter(_after(order, cursor))
    rows = list(qs.order_by(*order)[: size + 1])
    return rows[:size], len(rows) > size
