"""Reading the per-minute job statistics (JobStat): run- and wait-time histograms per
job type over a time range, and their quantiles interpolated the way Prometheus'
``histogram_quantile`` does. Only the rollup table is read, never the job table."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Sum

from core.models import JobStat, JobStatHour
from core.models.stats import BOUNDS, TIMINGS, bucket_columns


def histogram_quantile(
    q: float, cumulative: tuple[int, ...], count: int, bounds: tuple[float, ...] = BOUNDS
) -> float | None:
    """The ``q`` quantile (0 < q ≤ 1) of a cumulative histogram: ``cumulative[i]`` values
    at most ``bounds[i]``, ``count`` in all (the +Inf bucket). Linear inside the bucket
    the rank falls in (from 0 for the first); a rank past the last bound gives that
    bound. None without values."""
    if not 0 < q <= 1:
        raise ValueError(f"a quantile is between 0 (excluded) and 1, not {q!r}")
    if count <= 0:
        return None
    rank = q * count
    lower, below = 0.0, 0
    for bound, at_most in zip(bounds, cumulative, strict=True):
        if at_most >= rank:
            return lower + (bound - lower) * (rank - below) / (at_most - below)
        lower, below = bound, at_most
    return bounds[-1]


@dataclass(frozen=True)
class Histogram:
    """A cumulative histogram of seconds: counts at most each of BOUNDS, count, sum."""

    buckets: tuple[int, ...]
    count: int
    sum: float

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile in seconds (see ``histogram_quantile``)."""
        return histogram_quantile(q, self.buckets, self.count)

    @property
    def p50(self) -> float | None:
        """The median in seconds."""
        return self.quantile(0.5)

    @property
    def p95(self) -> float | None:
        """The 95th percentile in seconds."""
        return self.quantile(0.95)


@dataclass(frozen=True)
class TypeStats:
    """One job type's totals over a range: jobs finished, run and wait histograms."""

    job_type: str
    completed: int
    failed: int
    run: Histogram
    wait: Histogram


def _sums(timings: tuple[str, ...]) -> dict[str, Sum]:
    columns = ["completed", "failed"]
    for timing in timings:
        columns += [f"{timing}_count", f"{timing}_sum", *bucket_columns(timing)]
    # Annotations may not reuse a field's name.
    return {f"total_{column}": Sum(column) for column in columns}


def _histogram(row: dict, timing: str) -> Histogram:
    return Histogram(
        buckets=tuple(row[f"total_{column}"] or 0 for column in bucket_columns(timing)),
        count=row[f"total_{timing}_count"] or 0,
        sum=float(row[f"total_{timing}_sum"] or 0.0),
    )


def by_job_type(
    start: datetime | None = None,
    end: datetime | None = None,
    queue: str | None = None,
    timings: tuple[str, ...] = TIMINGS,
    hourly: bool = False,
) -> list[TypeStats]:
    """Each job type's totals and histograms over [start, end) (None: unbounded), of
    one queue or all, by job type; one grouped query over the per-minute rows or
    (``hourly``, for whole hours) the per-hour ones."""
    model, column = (JobStatHour, "hour") if hourly else (JobStat, "minute")
    rows = model.objects.exclude(job_type="")
    if start is not None:
        rows = rows.filter(**{f"{column}__gte": start})
    if end is not None:
        rows = rows.filter(**{f"{column}__lt": end})
    if queue is not None:
        rows = rows.filter(queue=queue)
    grouped = rows.order_by("job_type").values("job_type").annotate(**_sums(timings))
    empty = Histogram(buckets=(0,) * len(BOUNDS), count=0, sum=0.0)
    return [
        TypeStats(
            job_type=row["job_type"],
            completed=row["total_completed"] or 0,
            failed=row["total_failed"] or 0,
            run=_histogram(row, "run") if "run" in timings else empty,
            wait=_histogram(row, "wait") if "wait" in timings else empty,
        )
        for row in grouped
    ]


def run_histograms() -> dict[str, Histogram]:
    """Run time per job type over everything the rollup keeps (its retention), from
    the per-hour rows."""
    return {stats.job_type: stats.run for stats in by_job_type(timings=("run",), hourly=True)}
