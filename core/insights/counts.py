"""Job counts that never stall a page: exact when cheap, estimated when not.

On PostgreSQL a count is exact when the planner expects it to be small and
counting it fits in the page's time budget; otherwise it is the planner's
estimate and says so. SQLite has no estimates: it counts, except a filter's status
tabs, which it counts newest first within the budget and shows as a lower bound
when the budget ends first.
"""

import time
from collections import Counter as CountValues
from dataclasses import dataclass
from functools import partial

from django.core.exceptions import EmptyResultSet
from django.db.models import Count as CountRows
from django.db.models import Max, Min, QuerySet

from core import conf
from core.drivers import get_driver
from core.models import Job, JobStatus


@dataclass(frozen=True, slots=True)
class Count:
    """A row count, and whether it is exact or the planner's estimate."""

    value: int
    exact: bool = True
    #: Not exact either: at least ``value`` (found before the time budget ran out).
    at_least: bool = False

    def __str__(self) -> str:
        if self.at_least:
            return f"{_short(self.value)}+"
        if self.exact:
            return f"{self.value:,}"
        return f"≈ {_short(self.value)}"

    @property
    def note(self) -> str:
        """What an inexact count is, for a tooltip ("" when exact)."""
        if self.at_least:
            return "at least this many: only the newest jobs were counted in time"
        return "" if self.exact else "estimated by the database planner"


def _short(n: int) -> str:
    if n < 1_000:
        return str(n)
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if round(n / size, 1) >= 1:
            return f"{n / size:.1f}".removesuffix(".0") + suffix
    return str(n)


class Counter:
    """Counts that share one time budget (``DASHBOARD_COUNT_SECONDS``)."""

    def __init__(self, seconds: float | None = None) -> None:
        self.limit = conf.get("DASHBOARD_EXACT_COUNT_LIMIT")
        budget = conf.get("DASHBOARD_COUNT_SECONDS") if seconds is None else seconds
        self.deadline = time.monotonic() + budget
        self.driver = get_driver()

    def remaining(self) -> float:
        """Seconds left of the budget."""
        return self.deadline - time.monotonic()

    def estimate(self, queryset: QuerySet) -> int:
        """The planner's row estimate (0 on databases without one)."""
        if not self.driver.supports_estimates or queryset.query.is_empty():
            return 0
        try:
            return self.driver.estimate_count(queryset.order_by())
        except EmptyResultSet:  # a filter that can match nothing, e.g. ids=[]
            return 0

    def count(self, queryset: QuerySet, estimate: int | None = None) -> Count:
        """Exact up to the limit if the budget allows, else the estimate, marked so."""
        queryset = queryset.order_by()
        if not self.driver.supports_estimates or queryset.query.is_empty():
            return Count(queryset.count())
        if estimate is None:
            estimate = self.estimate(queryset)
        # Far above the limit a capped count would only confirm "more than".
        if estimate <= 2 * self.limit and self.remaining() > 0.001:
            counted = self.driver.run_within(
                self.remaining(), lambda: queryset[: self.limit + 1].count()
            )
            if counted is not None:
                if counted <= self.limit:
                    return Count(counted)
                return Count(max(estimate, counted), exact=False)
        return Count(estimate, exact=False)


def count(queryset: QuerySet) -> Count:
    """One count within its own budget (see Counter)."""
    return Counter().count(queryset)


def status_counts(queryset: QuerySet[Job], counter: Counter | None = None) -> dict[str, Count]:
    """Counts of ``queryset`` per status, plus ``all``; the smallest are counted first."""
    counter = counter or Counter()
    if not counter.driver.supports_estimates and queryset.query.where:
        counts = _sliced_status_counts(queryset.order_by(), counter)
    else:
        counts = _status_counts(queryset, counter)
    values = counts.values()
    counts["all"] = Count(
        sum(c.value for c in values),
        exact=all(c.exact for c in values),
        at_least=any(c.at_least for c in values),
    )
    return counts


def _status_counts(queryset: QuerySet[Job], counter: Counter) -> dict[str, Count]:
    estimates = {s: counter.estimate(queryset.filter(status=s)) for s in JobStatus.values}
    counts = {}
    for status in sorted(JobStatus.values, key=estimates.__getitem__):
        counts[status] = counter.count(queryset.filter(status=status), estimates[status])
    return {status: counts[status] for status in JobStatus.values}


#: Ids SQLite groups by status in its first statement when counting a filter's tabs.
FIRST_SLICE = 10_000


def _sliced_status_counts(queryset: QuerySet[Job], counter: Counter) -> dict[str, Count]:
    """Without a planner (SQLite), a filter's counts need a scan of the table: it is
    grouped by status one slice of ids at a time, newest first, the slice doubling
    while the budget allows. The first slice is always counted; if the budget ends
    before the oldest id, each count is what was found so far, marked as a lower
    bound (scaling it up would mislead: a time filter's jobs are not spread evenly)."""
    found = dict.fromkeys(JobStatus.values, 0)
    low, high = Job.objects.order_by().aggregate(low=Min("id"), high=Max("id")).values()
    top, size = high, FIRST_SLICE
    while top is not None and top >= low:
        started, left = time.monotonic(), counter.remaining()
        bottom = max(low, top - size + 1)
        rows = queryset.filter(id__range=(bottom, top)).values_list("status")
        rows = rows.annotate(n=CountRows("id"))
        # The first slice is always counted to the end; later ones stop at the budget.
        first = top == high
        counted = list(rows) if first else counter.driver.run_within(left, partial(list, rows))
        if counted is None:
            break
        for status, n in counted:
            found[status] += n
        top = bottom - 1
        if counter.remaining() <= 0:
            break
        if time.monotonic() - started < left / 4:
            size *= 2
    if top is None or top < low:
        return {status: Count(n) for status, n in found.items()}
    return {status: Count(n, exact=False, at_least=True) for status, n in found.items()}


def _exact_cells(counter: Counter, statuses: list[str]) -> dict[str, dict[str, Count]] | None:
    def group():
        rows = (
            Job.objects.filter(status__in=statuses)
            .order_by()
            .values_list("queue", "status")
            .annotate(n=CountRows("id"))
        )
        return list(rows)

    if not counter.driver.supports_estimates:
        rows = group()
    elif counter.remaining() <= 0.001:
        return None
    else:
        rows = counter.driver.run_within(counter.remaining(), group)
        if rows is None:
            return None
    table: dict[str, dict[str, Count]] = {}
    for queue, status, n in rows:
        table.setdefault(queue, {})[status] = Count(n)
    return table


#: Newest jobs whose values stand for all jobs where the database keeps no statistics.
SAMPLE = 10_000


def sampled_shares(column: str, size: int = SAMPLE) -> dict[str, float]:
    """The share of each value of ``column`` among the newest ``size`` jobs (an estimate
    of its share of all jobs, for databases without planner statistics)."""
    values = list(Job.objects.order_by("-id").values_list(column, flat=True)[:size])
    found = CountValues(values)
    return {value: n / len(values) for value, n in found.items()}


def queue_status_counts(
    queues: list[str], counter: Counter | None = None
) -> tuple[dict[str, Count], dict[str, dict[str, Count]]]:
    """Per-status totals and a per-queue, per-status table of every job.

    The table is counted in one GROUP BY over the statuses whose totals are
    exact and together within a tenth of the limit, if the budget allows; other cells are
    the planner's estimates for each queue in ``queues`` or common in the table (without
    a planner, SQLite, each queue's share of the newest jobs applied to the total).
    ``counter`` shares a page's budget (a new one by default).
    """
    counter = counter or Counter()
    totals = status_counts(Job.objects.all(), counter)
    exact: list[str] = []
    rows = 0
    for status in sorted(JobStatus.values, key=lambda s: totals[s].value):
        # Grouping reads every row it counts: keep it to a tenth of the limit (no
        # index has the queue and the status: SQLite took 2.7 s at a million jobs).
        if totals[status].exact and rows + totals[status].value <= counter.limit // 10:
            exact.append(status)
            rows += totals[status].value
    table = _exact_cells(counter, exact) if exact else {}
    if table is None:
        table, exact = {}, []
    shares = counter.driver.frequent_values("queue")
    if not shares and not counter.driver.supports_estimates and len(exact) < len(JobStatus):
        shares = sampled_shares("queue")
    for queue in sorted(set(table) | set(queues) | set(shares)):
        cells = table.setdefault(queue, {})
        for status in JobStatus.values:
            if status in exact:
                cells.setdefault(status, Count(0))
            elif not totals[status].value:
                cells[status] = Count(0)
            elif queue in shares:
                # As the planner would: the queue's share of all rows, applied
                # to the status total (one statistics read for every cell).
                cells[status] = Count(round(totals[status].value * shares[queue]), exact=False)
            else:
                qs = Job.objects.filter(status=status, queue=queue)
                cells[status] = Count(counter.estimate(qs), exact=False)
    return totals, dict(sorted(table.items()))
