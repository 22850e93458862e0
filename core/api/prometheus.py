"""/api/metrics: the queue's state in the Prometheus text exposition format 0.0.4.

Everything is read from the database at scrape time, in a number of queries
that does not depend on how many jobs there are: the dashboard's job counts
(estimates on big PostgreSQL tables), one query for the last hour's timings,
two for the workers and one per hundred queues for the oldest due jobs; for the
health series (``health_families``) one for worker deaths, three counts of scheduled
jobs (capped as the job counts are) and one per hundred queues for their next jobs.
"""

import math
import time
from datetime import datetime
from functools import reduce
from operator import or_

from django.db.models import Count as CountRows
from django.db.models import Q, Subquery
from django.utils import timezone

from core.api.histograms import run_seconds_family
from core.insights.counts import Count, Counter, queue_status_counts
from core.insights.heads import due_heads
from core.insights.metrics import SAMPLE, timings
from core.models import DeathReason, Job, JobStatus, Worker, WorkerDeath

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
    # One counting budget for the whole page, as one dashboard panel has.
    counter = Counter()
    _, table = queue_status_counts([], counter)
    times = timings(now)
    alive = list(
        Worker.objects.alive(now).values(
            "id", "running", "concurrency", "completed", "failed", "idle", "ping_ms", "stuck"
        )
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
    pending = [q for q, c in table.items() if _has_pending(c)]
    parts.extend(health_families(now, alive, pending, counter))
    # The run-time histogram per job type (issue 19, charts) is appended here.
    parts.append(run_seconds_family())
    parts.append(
        family(
            "queueadmin_scrape_duration_seconds",
            "gauge",
            "Seconds this page took to compute.",
            [({}, round(time.monotonic() - started, 6))],
        )
    )
    return "".join(parts)


def _scheduled(now: datetime, counter: Counter) -> list[Sample]:
    """Jobs not due yet: pending with run_at ahead, waiting with wait_until ahead; counted
    like queueadmin_jobs (exact while cheap, else the planner's estimate)."""
    pending = Job.objects.filter(status=JobStatus.PENDING, run_at__gt=now)
    # Apart with and without a channel, each count reads its claim index (job_claim_idx,
    # job_channel_idx) rather than the table; the range on the index's first column
    # (names are never empty) makes SQLite choose it too.
    ahead = sum(
        counter.count(
            pending.filter(**{"channel__isnull": column == "queue", f"{column}__gt": ""})
        ).value
        for column in ("queue", "channel")
    )
    waiting = Job.objects.filter(status=JobStatus.WAITING, wait_until__gt=now)
    return [
        ({"status": JobStatus.PENDING}, ahead),
        ({"status": JobStatus.WAITING}, counter.count(waiting).value),
    ]


def health_families(
    now: datetime, alive: list[dict], pending: list[str], counter: Counter
) -> list[str]:
    """The series of issue 19's health checks: worker deaths, ping times, idle and
    stuck threads, scheduled jobs, and the start lag of each queue in ``pending``
    (those with pending jobs)."""
    died = dict(WorkerDeath.objects.order_by().values_list("reason").annotate(n=CountRows("id")))
    heads = due_heads(sorted(pending), now)

    def lag(queue: str) -> float:
        head = heads.get(queue)
        return round(max((now - head[0]).total_seconds(), 0.0), 3) if head else 0.0

    def per_worker(value) -> list[Sample]:
        return [({"worker": row["id"]}, value(row)) for row in alive if value(row) is not None]

    return [
        family(
            "queueadmin_workers_died_total",
            "counter",
            "Worker processes that ended unasked, by reason: stale (heartbeat stopped; "
            "maintenance removed the row) or exited (a runworker --processes child exited; "
            "its supervisor started another). Counted from the WorkerDeath rows.",
            [({"reason": reason}, died.get(reason, 0)) for reason in DeathReason.values],
        ),
        family(
            "queueadmin_worker_ping_seconds",
            "gauge",
            "Round trip of each live worker's last heartbeat to the database.",
            per_worker(lambda row: None if row["ping_ms"] is None else row["ping_ms"] / 1000),
        ),
        family(
            "queueadmin_worker_idle_threads",
            "gauge",
            "Handler threads of each live worker waiting for work at its last heartbeat.",
            per_worker(lambda row: row["idle"]),
        ),
        family(
            "queueadmin_worker_stuck_threads",
            "gauge",
            "Handler threads of each live worker silent for longer than STUCK_SECONDS while "
            "their job has no timeout.",
            per_worker(lambda row: len(row["stuck"] or [])),
        ),
        family(
            "queueadmin_scheduled_jobs",
            "gauge",
            "Jobs waiting for their time: pending with run_at in the future, waiting with "
            "wait_until in the future (exact while cheap, else the planner's estimate).",
            _scheduled(now, counter),
        ),
        family(
            "queueadmin_start_lag_seconds",
            "gauge",
            "Seconds the job each queue will start next (claim order: priority, then run_at; "
            "jobs without a channel) is past its run_at; 0 when the queue has no due job. "
            "Queues without pending jobs are absent.",
            [({"queue": queue}, lag(queue)) for queue in sorted(pending)],
        ),
    ]
