"""The Charts page's figures: throughput and queue depth over 1 h / 24 h / 7 d, of one
queue and/or job type or all, and run/wait percentiles per job type, with their SVG
geometry. Read from the rollup only (JobStat per minute; JobStatHour for 7 d),
stepped in the database (1 min for 1 h, 5 min for 24 h, 1 h for 7 d)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from core.drivers import get_driver
from core.insights import metrics, rollup
from core.models import JobStatHour


@dataclass(frozen=True)
class Range:
    """A time range the charts offer, with the step its bars have."""

    key: str
    label: str
    span: timedelta
    #: Seconds per bar.
    step: int
    #: Read from the per-hour rows (whole hours) rather than the per-minute ones.
    hourly: bool = False


#: The ranges offered, by their key in the URL (``?range=24h``).
RANGES = {
    r.key: r
    for r in (
        Range("1h", "1 hour", timedelta(hours=1), 60),
        Range("24h", "24 hours", timedelta(hours=24), 300),
        Range("7d", "7 days", timedelta(days=7), 3600, hourly=True),
    )
}
DEFAULT_RANGE = "1h"
#: Height of the charts' SVG drawing area, and the width of one bar slot.
HEIGHT = 60.0
SLOT = 5.0


class ChartError(ValueError):
    """A chart was asked for with a range, queue or job type that cannot be."""


@dataclass(frozen=True)
class Bar:
    """One step of the throughput and depth charts, with its SVG geometry."""

    start: datetime
    completed: int
    failed: int
    depth: int
    x: str
    completed_y: str
    completed_height: str
    failed_y: str
    failed_height: str
    depth_y: str


@dataclass(frozen=True)
class Chart:
    """Everything the Charts page draws for one range, queue and job type."""

    range: Range
    queue: str | None
    job_type: str | None
    start: datetime
    end: datetime
    bars: list[Bar]
    completed: int
    failed: int
    peak_depth: int
    #: SVG ``points`` of the depth line.
    depth_points: str
    width: str
    types: list[rollup.TypeStats]


def window(chosen: Range, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the range ending with the step that holds ``now`` (steps
    aligned on Unix time, so a bar is the same wherever the page is opened)."""
    epoch = int(now.timestamp())
    end = datetime.fromtimestamp(epoch - epoch % chosen.step + chosen.step, UTC)
    return end - chosen.span, end


def clean(range_key: str | None, queue: str | None, job_type: str | None) -> tuple:
    """The validated (Range, queue or None, job type or None); raises ChartError."""
    key = range_key or DEFAULT_RANGE
    if key not in RANGES:
        raise ChartError(f"unknown range {key!r}: choose one of {', '.join(RANGES)}")
    limits = {"queue": (queue, 100), "job type": (job_type, 200)}
    for name, (value, longest) in limits.items():
        if value and len(value) > longest:
            raise ChartError(f"a {name} is at most {longest} characters long")
    return RANGES[key], queue or None, job_type or None


def _bars(start: datetime, chosen: Range, rows: list[tuple]) -> tuple[list[Bar], int]:
    slots = int(chosen.span.total_seconds()) // chosen.step
    found = {slot: (c, f, d) for slot, c, f, d in rows if 0 <= slot < slots}
    peak = max([c + f for c, f, _ in found.values()] + [1])
    peak_depth = max([d for _, _, d in found.values()] + [0])
    bars = []
    for slot in range(slots):
        done, bad, depth = found.get(slot, (0, 0, 0))
        bars.append(
            Bar(
                start=start + timedelta(seconds=slot * chosen.step),
                completed=done,
                failed=bad,
                depth=depth,
                x=f"{slot * SLOT:.2f}",
                depth_y=f"{HEIGHT - HEIGHT * depth / max(peak_depth, 1):.2f}",
                **metrics.stacked(done, bad, peak, HEIGHT),
            )
        )
    return bars, peak_depth


def chart(
    range_key: str | None = None,
    queue: str | None = None,
    job_type: str | None = None,
    now: datetime | None = None,
) -> Chart:
    """The charts for a range key, queue and job type (None or "": all); two queries."""
    chosen, queue, job_type = clean(range_key, queue, job_type)
    start, end = window(chosen, now or timezone.now())
    rows = get_driver().stat_series(start, end, chosen.step, queue, job_type, chosen.hourly)
    bars, peak_depth = _bars(start, chosen, rows)
    points = " ".join(f"{float(bar.x) + SLOT / 2:.2f},{bar.depth_y}" for bar in bars)
    return Chart(
        range=chosen,
        queue=queue,
        job_type=job_type,
        start=start,
        end=end,
        bars=bars,
        completed=sum(bar.completed for bar in bars),
        failed=sum(bar.failed for bar in bars),
        peak_depth=peak_depth,
        depth_points=points,
        width=f"{len(bars) * SLOT:.0f}",
        types=rollup.by_job_type(start, end, queue, hourly=chosen.hourly),
    )


def recent_queues(now: datetime | None = None) -> list[str]:
    """Queues with statistics in the last day (choices for the queue filter), from the
    per-hour rows."""
    since = (now or timezone.now()) - timedelta(days=1)
    rows = JobStatHour.objects.filter(hour__gte=since).exclude(queue="")
    return sorted(rows.order_by().values_list("queue", flat=True).distinct())


@dataclass(frozen=True)
class TimingRow:
    """One job type's percentiles with bar widths (0 to 100, of the slowest p95 shown)."""

    stats: rollup.TypeStats
    run_p50: float | None
    run_p95: float | None
    wait_p50: float | None
    wait_p95: float | None
    run_p50_width: str
    run_p95_width: str
    wait_p50_width: str
    wait_p95_width: str


def timing_rows(types: list[rollup.TypeStats]) -> list[TimingRow]:
    """The per-type percentile table, run and wait bars each scaled to their slowest p95."""
    values = [
        (t, t.run.p50, t.run.p95, t.wait.p50, t.wait.p95) for t in types if t.run.count or t.failed
    ]
    run_top = max([v[2] or 0.0 for v in values] + [1e-9])
    wait_top = max([v[4] or 0.0 for v in values] + [1e-9])

    def width(value: float | None, top: float) -> str:
        return f"{100 * (value or 0.0) / top:.1f}"

    return [
        TimingRow(
            stats=t,
            run_p50=r50,
            run_p95=r95,
            wait_p50=w50,
            wait_p95=w95,
            run_p50_width=width(r50, run_top),
            run_p95_width=width(r95, run_top),
            wait_p50_width=width(w50, wait_top),
            wait_p95_width=width(w95, wait_top),
        )
        for t, r50, r95, w50, w95 in values
    ]
