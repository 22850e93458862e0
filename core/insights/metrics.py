"""The overview's figures for the last hour: throughput, wait and run times, workers."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncMinute
from django.utils import timezone

from core.models import Job, JobStat, JobStatus, Worker

#: Jobs sampled (the most recently completed) for the wait and run percentiles.
SAMPLE = 5_000
#: Minutes shown by the throughput chart.
MINUTES = 60


@dataclass(frozen=True)
class Bar:
    """One minute of the throughput chart, with its SVG geometry (as attribute text)."""

    minute: datetime
    completed: int
    failed: int
    x: str
    completed_y: str
    completed_height: str
    failed_y: str
    failed_height: str


def _per_minute(field: str, since: datetime) -> dict[datetime, int]:
    rows = (
        Job.objects.filter(**{f"{field}__gte": since})
        .order_by()
        .annotate(minute=TruncMinute(field))
        .values_list("minute")
        .annotate(n=Count("id"))
    )
    return dict(rows)


def stacked(done: int, bad: int, peak: int, height: float) -> dict[str, str]:
    """SVG geometry (attribute text) of a bar of ``done`` completed under ``bad`` failed
    jobs, scaled so that ``peak`` fills ``height``."""
    done_h, bad_h = height * done / peak, height * bad / peak
    return {
        "completed_y": f"{height - done_h:.2f}",
        "completed_height": f"{done_h:.2f}",
        "failed_y": f"{height - done_h - bad_h:.2f}",
        "failed_height": f"{bad_h:.2f}",
    }


def _rolled_up(start: datetime) -> tuple[dict[datetime, int], dict[datetime, int], datetime]:
    """Completed and failed jobs per minute from ``start`` up to the last minute the
    rollup wrote (JobStat), and the first minute it has not written yet."""
    last = JobStat.objects.filter(minute__gte=start).aggregate(last=Max("minute"))["last"]
    if last is None:
        return {}, {}, start
    rows = (
        JobStat.objects.filter(minute__gte=start, minute__lte=last)
        .order_by()
        .values_list("minute")
        .annotate(done=Sum("completed"), bad=Sum("failed"))
    )
    completed, failed = {}, {}
    for minute, done, bad in rows:
        completed[minute], failed[minute] = done, bad
    return completed, failed, last + timedelta(minutes=1)


def throughput(now: datetime, height: float = 60.0, width: float = 4.0) -> list[Bar]:
    """Completed and failed jobs per minute over the last hour, oldest first: the
    minutes the rollup wrote from JobStat, the newer ones (a minute or two) counted
    in the job table."""
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=MINUTES - 1)
    completed, failed, fresh = _rolled_up(start)
    completed.update(_per_minute("completed_at", fresh))
    failed.update(_per_minute("failed_at", fresh))
    minutes = [start + timedelta(minutes=i) for i in range(MINUTES)]
    peak = max([completed.get(m, 0) + failed.get(m, 0) for m in minutes] + [1])
    bars = []
    for i, minute in enumerate(minutes):
        done, bad = completed.get(minute, 0), failed.get(minute, 0)
        bars.append(
            Bar(
                minute=minute,
                completed=done,
                failed=bad,
                x=f"{i * (width + 1):.2f}",
                **stacked(done, bad, peak, height),
            )
        )
    return bars


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Timings:
    """Queue wait (due → started) and run time (started → completed) in seconds."""

    sample: int
    wait_p50: float | None
    wait_p95: float | None
    run_p50: float | None
    run_p95: float | None


def timings(now: datetime) -> Timings:
    """Percentiles over the jobs completed in the last hour (the latest SAMPLE of them)."""
    rows = list(
        Job.objects.filter(completed_at__gte=now - timedelta(hours=1), started_at__isnull=False)
        .order_by("-completed_at")
        .values_list("run_at", "started_at", "completed_at")[:SAMPLE]
    )
    waits = [max((s - r).total_seconds(), 0.0) for r, s, _ in rows]
    runs = [max((c - s).total_seconds(), 0.0) for _, s, c in rows]
    return Timings(
        sample=len(rows),
        wait_p50=_percentile(waits, 0.5),
        wait_p95=_percentile(waits, 0.95),
        run_p50=_percentile(runs, 0.5),
        run_p95=_percentile(runs, 0.95),
    )


def oldest_due(now: datetime) -> Job | None:
    """The oldest (lowest id) pending job that is due, or None.

    By id rather than by run_at: the (status, id) index finds it at once,
    where the earliest run_at would mean sorting every pending job.
    """
    return (
        Job.objects.filter(status=JobStatus.PENDING, run_at__lte=now)
        .order_by("id")
        .only("id", "run_at", "created_at", "queue")
        .first()
    )


def workers_alive(now: datetime) -> tuple[int, int]:
    """(live workers, all registered workers)."""
    alive = Worker.objects.alive(now).count()
    return alive, Worker.objects.count()


def overview(now: datetime | None = None) -> dict:
    """Everything the overview's metrics panel shows."""
    now = now or timezone.now()
    alive, registered = workers_alive(now)
    return {
        "now": now,
        "bars": throughput(now),
        "timings": timings(now),
        "oldest_due": oldest_due(now),
        "workers_alive": alive,
        "workers_registered": registered,
    }
