"""/api/metrics: the queue's state in the Prometheus text exposition format 0.0.4.

Everything is read from the database at scrape time, in a number of queries
that does not depend on how many jobs there are: the dashboard's job counts
(estimates on big PostgreSQL tables), one query for the last hour's timings,
two for the workers and one per hundred queues for the oldest due jobs.
"""

import math
import time
from datetime import datetime
from functools import reduce
from operator import or_

from django.db.models import Q, Subquery
from django.utils import timezone

from core.insights.counts import Count, queue_status_counts
from core.insights.metrics import SAMPLE, timings
from core.models import Job, JobStatus, Worker

#: Queues looked up per query for their oldest due job.
OLDEST_PER_QUERY = 100

Sample = tuple[dict[str, str], float]


def _label_value(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def family(name: str, kind: str, help_text: str, samples: list[Sample]) -> str:
    """One metric family (HELP, TYPE and its samples), or "" without samples."""
    if not samples:
        return ""
    help_text = help_text.replace("\\", "\\\\").replace("\n", "\\n")
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        pairs = ",".join(f'{key}="{_label_value(v)}"' for key, v in labels.items())
        lines.append(f"{name}{{{pairs}}} {_number(value)}" if pairs else f"{name} {_number(value)}")
    return "\n".join(lines) + "\n"


def oldest_due(queues: list[str], now: datetime) -> dict[str, datetime]:
    """run_at of each queue's oldest (lowest id) due pending job, for queues that have one.

    Like core.insights.metrics.oldest_due, by id rather than by run_at, so
    that no query sorts a queue's pending jobs: each queue is one LIMIT 1
    subquery, a hundred of them per statement.
    """
    found: dict[str, datetime] = {}
    for start in range(0, len(queues), OLDEST_PER_QUERY):
        firsts = [
            Q(
                pk=Subquery(
                    Job.objects.filter(status=JobStatus.PENDING, queue=queue, run_at__lte=now)
                    .order_by("id")
                    .values("id")[:1]
                )
            )
            for queue in queues[start : start + OLDEST_PER_QUERY]
        ]
        rows = Job.objects.filter(reduce(or_, firsts)).order_by().values_list("queue", "run_at")
        found.update(rows)
    return found


def _has_pending(cells: dict[str, Count]) -> bool:
    pending = cells[JobStatus.PENDING]
    return pending.value > 0 or not pending.exact


def render(now: datetime | None = None) -> str:
    """The metrics page: every family below, in the text format 0.0.4."""
    started = time.monotonic()
    now = now or timezone.now()
    _, table = queue_status_counts([])
    times = timings(now)
    alive = list(
        Worker.objects.alive(now).values("id", "running", "concurrency", "completed", "failed")
    )
    registered = Worker.objects.count()
    due = oldest_due([q for q, cells in table.items() if _has_pending(cells)], now)

    def per_worker(column: str) -> list[Sample]:
        return [({"worker": row["id"]}, row[column]) for row in alive]

    def quantiles(p50: float | None, p95: float | None) -> list[Sample]:
        pairs = (("0.5", p50), ("0.95", p95))
        return [({"quantile": q}, value) for q, value in pairs if value is not None]

    recent = f"of the latest {SAMPLE:,} jobs completed in the last hour, by quantile"
    parts = [
        family(
            "queueadmin_jobs",
            "gauge",
            "Jobs per queue and status. Exact on SQLite; on PostgreSQL exact while cheap, "
            "the planner's estimate past DASHBOARD_EXACT_COUNT_LIMIT (as on the dashboard).",
            [
                ({"queue": queue, "status": status}, cells[status].value)
                for queue, cells in table.items()
                for status in JobStatus.values
            ],
        ),
        family(
            "queueadmin_jobs_completed_total",
            "counter",
            "Jobs completed by each live worker process since it started.",
            per_worker("completed"),
        ),
        family(
            "queueadmin_jobs_failed_total",
            "counter",
            "Jobs failed for good (not retried) by each live worker process since it started.",
            per_worker("failed"),
        ),
        family(
            "queueadmin_queue_wait_seconds",
            "gauge",
            f"Seconds from due to started {recent} (a gauge: recomputed at each scrape).",
            quantiles(times.wait_p50, times.wait_p95),
        ),
        family(
            "queueadmin_run_seconds",
            "gauge",
            f"Seconds from started to completed {recent} (a gauge: recomputed at each scrape).",
            quantiles(times.run_p50, times.run_p95),
        ),
        family(
            "queueadmin_workers",
            "gauge",
            "Registered worker processes: alive (recent heartbeat) or stale.",
            [
                ({"state": "alive"}, len(alive)),
                ({"state": "stale"}, max(registered - len(alive), 0)),
            ],
        ),
        family(
            "queueadmin_worker_running_jobs",
            "gauge",
            "Jobs each live worker was running at its last heartbeat.",
            per_worker("running"),
        ),
        family(
            "queueadmin_worker_concurrency",
            "gauge",
            "Jobs each live worker runs at once at most.",
            per_worker("concurrency"),
        ),
        family(
            "queueadmin_oldest_pending_age_seconds",
            "gauge",
            "Seconds since the oldest (lowest id) due pending job of each queue became due; "
            "queues without a due pending job are absent.",
            [
                ({"queue": queue}, max((now - run_at).total_seconds(), 0.0))
                for queue, run_at in sorted(due.items())
            ],
        ),
    ]
    parts.append(
        family(
            "queueadmin_scrape_duration_seconds",
            "gauge",
            "Seconds this page took to compute.",
            [({}, round(time.monotonic() - started, 6))],
        )
    )
    return "".join(parts)
