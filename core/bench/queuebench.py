"""queuebench: raw-SQL limits, enqueue, processing and latency on the configured database.

Every function returns numbers; ``manage.py queuebench`` prints them.

The *raw* phase (``core.bench.raw``) measures what the database itself allows: one-row
INSERT commits (in turns with the single enqueues, when both phases run), and a batched
claim + complete loop in two threads, on a narrow table and on a copy of the job table.
The queue figures are printed as ratios of those.

The processing phases run ``manage.py runworker`` as a subprocess and know it only
by its command line and the rows it writes: steady jobs/s come from the jobs'
``completed_at``, full-drain jobs/s from polling the Job table since the start of
the process.
"""

import math
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min
from django.utils import timezone

from core.bench.options import CountOption
from core.bench.raw import WARM_UP, bench_raw, inserts_in_turns
from core.drivers import get_driver
from core.models import Job, JobStatus
from core.models import Worker as WorkerRow
from core.queue import enqueue, enqueue_many

#: The queue every bench job goes to (and is deleted from).
BENCH_QUEUE = "queuebench"
#: The handler the processing phases run: it does nothing.
NOOP = "queueadmin.noop"
#: The handler the latency phase runs: it returns ``{"started": time.time()}``.
STAMP = "queueadmin.stamp"
#: The sign of the ratios, as in "0.62x raw INSERT" (a multiplication sign, not an x).
TIMES = "\N{MULTIPLICATION SIGN}"
#: Seconds between polls of the Job table.
POLL = 0.05
#: The extra runworker arguments of the *tuned* phase (``--tuned``): no per-job log lines.
TUNED = "--concurrency 8 --batch-size 2000 --processes 2 -v 0"
#: Seconds a processing run may take before it is stopped (``--timeout``).
TIMEOUT = 600.0

#: The phases, in the order they run.
PHASES = ("raw", "single", "bulk", "processing", "tuned", "channels", "latency", "call")
#: The count options of ``manage.py queuebench``.
COUNTS = (
    CountOption("single", 2000, "jobs enqueued one at a time (and raw one-row INSERT commits)"),
    CountOption("bulk", 50000, "jobs enqueued with enqueue_many"),
    CountOption("bulk-chunk", 5000, "specs per enqueue_many call"),
    CountOption(
        "jobs", 20000, "no-op jobs per runworker run (and rows the raw claim + complete drains)"
    ),
    CountOption("raw-batch", 1000, "rows per claim of the raw claim + complete loop"),
    CountOption("channels", 1000, "the channels phase spreads --jobs over N channels"),
    CountOption("latency-samples", 200, "jobs enqueued one by one to an idle worker"),
    CountOption("call-samples", 200, "core.queue.call round trips to an idle worker"),
)


@dataclass
class Processing:
    """Result of one processing run (one runworker process, maybe supervising others)."""

    #: (completed - 1) / (last completed_at - first completed_at); None with fewer than
    #: two completions or when they all carry the same time.
    steady_jobs_per_s: float | None
    #: completed / (worker start to the poll that saw the last completion).
    full_drain_jobs_per_s: float
    jobs: int
    completed: int
    left: int
    #: Worker start to the poll that saw the last completion (or the timeout).
    seconds: float
    #: Last completed_at - first completed_at.
    span: float
    exit_code: int | None
    #: The runworker command line.
    command: list[str]
    #: The concurrency of each Worker row serving BENCH_QUEUE seen during the run.
    workers: list[int]
    log: str


@dataclass
class Latency:
    """Result of the latency phase, in milliseconds: enqueue call to the handler's first line."""

    p50_ms: float
    p95_ms: float
    samples: int
    log: str
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def spread(self) -> float:
        """p95 / p50."""
        return self.p95_ms / self.p50_ms if self.p50_ms > 0 else math.inf


def database_url() -> str:
    """A DATABASE_URL naming the database this process uses (the test one under pytest)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    if connection.vendor != "postgresql":
        raise NotImplementedError(f"queuebench supports PostgreSQL and SQLite, not {db['ENGINE']}")
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{'@' if auth else ''}{host}{port}/{quote(db['NAME'], safe='')}"


def _analyze() -> None:
    """VACUUM (ANALYZE) the job tables on PostgreSQL, as autovacuum would after this many
    changes (where it is off, plans would be made for the tables of the previous run)."""
    if connection.vendor == "postgresql":
        get_driver().analyze()


def cleanup(chunk: int = 2000) -> int:
    """Delete every job of BENCH_QUEUE (events cascade), one id range at a time; the count."""
    jobs = Job.objects.filter(queue=BENCH_QUEUE)
    deleted, last = 0, 0
    while True:
        ids = list(jobs.filter(id__gt=last).order_by("id").values_list("id", flat=True)[:chunk])
        if not ids:
            if deleted:
                _analyze()  # every phase starts from a vacuumed table
            return deleted
        jobs.filter(id__gte=ids[0], id__lte=ids[-1]).only("id").delete()
        deleted += len(ids)
        last = ids[-1]


# -- enqueue -------------------------------------------------------------------------------


def _specs(count: int, channels: int = 0, start: int = 0) -> list[dict]:
    """No-op jobs; with ``channels``, spread over that many channels in turn."""
    if not channels:
        return [{"job_type": NOOP, "queue": BENCH_QUEUE} for _ in range(count)]
    return [
        {"job_type": NOOP, "queue": BENCH_QUEUE, "channel": f"bench-{(start + i) % channels}"}
        for i in range(count)
    ]


def _not_completed() -> int:
    return Job.objects.filter(queue=BENCH_QUEUE).exclude(status=JobStatus.COMPLETED).count()


def bench_single(count: int, keep: bool = False) -> float:
    """Jobs per second enqueued one at a time, one commit each, after WARM_UP untimed
    ones (as the raw INSERTs), deleted before the timed ones."""
    for _ in range(WARM_UP):
        enqueue(NOOP, queue=BENCH_QUEUE)
    cleanup()
    started = time.perf_counter()
    for _ in range(count):
        enqueue(NOOP, queue=BENCH_QUEUE)
    elapsed = time.perf_counter() - started
    if not keep:
        cleanup()
    return count / elapsed


def bench_single_in_turns(count: int, keep: bool = False) -> tuple[float, float]:
    """(raw one-row INSERT commits per second, jobs per second enqueued one at a time),
    measured in turns (``raw.inserts_in_turns``); the warm-up's jobs are deleted before
    the timed ones."""
    rates = inserts_in_turns(count, lambda: enqueue(NOOP, queue=BENCH_QUEUE), cleanup)
    if not keep:
        cleanup()
    return rates


def bench_bulk(count: int, chunk: int, keep: bool = False) -> float:
    """Jobs per second enqueued with enqueue_many, ``chunk`` specs per call, after one
    untimed call (the connection's first plans its statement and loads the table's
    catalog entries: steady state is what an application that enqueues sees), whose
    jobs are deleted before the timed ones."""
    enqueue_many(_specs(min(chunk, count)))
    cleanup()
    started = time.perf_counter()
    for offset in range(0, count, chunk):
        enqueue_many(_specs(min(chunk, count - offset)))
    elapsed = time.perf_counter() - started
    if not keep:
        cleanup()
    return count / elapsed


# -- processing ----------------------------------------------------------------------------


def worker_command(*args: str) -> list[str]:
    """``manage.py runworker --queue BENCH_QUEUE ARGS`` as an argv list (the worker's
    default verbosity: one log line per job, written to a temporary file)."""
    manage = Path(settings.BASE_DIR) / "manage.py"
    main = [str(manage.resolve())] if manage.exists() else ["-m", "django"]
    return [sys.executable, *main, "runworker", "--queue", BENCH_QUEUE, *args]


def _start(command: list[str], log) -> subprocess.Popen:
    """Run ``command`` on this process's database, its output into ``log``."""
    env = {**os.environ, "DATABASE_URL": database_url()}
    env.setdefault("DJANGO_SETTINGS_MODULE", "queueadmin.settings")
    return subprocess.Popen(
        command, env=env, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT
    )


def _stop(proc: subprocess.Popen, timeout: float = 60) -> int | None:
    """SIGTERM the worker and wait for it (killing it after ``timeout`` s); its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def _read(log) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode(errors="replace")


def _bench_workers(since: datetime) -> list[int]:
    """The concurrency of each Worker row of this host serving only BENCH_QUEUE, started
    since ``since``."""
    rows = WorkerRow.objects.filter(host=socket.gethostname(), started_at__gte=since)
    return sorted(row.concurrency for row in rows if row.queues == [BENCH_QUEUE])


def completions() -> tuple[int, datetime | None, datetime | None]:
    """The completed bench jobs: their count, first and last ``completed_at``."""
    found = Job.objects.filter(queue=BENCH_QUEUE, status=JobStatus.COMPLETED).aggregate(
        n=Count("id"), first=Min("completed_at"), last=Max("completed_at")
    )
    return found["n"], found["first"], found["last"]


def steady_rate(completed: int, first: datetime | None, last: datetime | None) -> float | None:
    """(completed - 1) / (last - first) in jobs/s: the rate between the first and the last
    completion, start-up and shutdown excluded; None when it cannot be told."""
    if completed < 2 or first is None or last is None:
        return None
    span = (last - first).total_seconds()
    return (completed - 1) / span if span > 0 else None


def bench_processing(
    count: int,
    args: Sequence[str] = (),
    keep: bool = False,
    timeout: float = TIMEOUT,
    channels: int = 0,
) -> Processing:
    """Pre-load ``count`` no-op jobs (with ``channels``, spread over that many channels),
    start ``runworker --queue BENCH_QUEUE ARGS``, wait until every job is completed
    (or ``timeout`` s), SIGTERM it and wait for its exit."""
    cleanup()
    for offset in range(0, count, 5000):
        enqueue_many(_specs(min(5000, count - offset), channels, offset))
    _analyze()
    command = worker_command(*args)
    workers: list[int] = []
    with tempfile.TemporaryFile() as log:
        since = timezone.now() - timedelta(seconds=1)
        started = time.perf_counter()
        proc = _start(command, log)
        try:
            while True:
                polled = _not_completed()
                elapsed = time.perf_counter() - started
                if not polled or proc.poll() is not None or elapsed > timeout:
                    break
                time.sleep(POLL)
            workers = _bench_workers(since)
        finally:
            code = _stop(proc)
        output = _read(log)
    completed, first, last = completions()
    left = count - completed
    if not keep:
        cleanup()
    span = (last - first).total_seconds() if first and last else 0.0
    return Processing(
        steady_jobs_per_s=steady_rate(completed, first, last),
        full_drain_jobs_per_s=(count - polled) / elapsed,
        jobs=count,
        completed=completed,
        left=left,
        seconds=elapsed,
        span=span,
        exit_code=code,
        command=command,
        workers=workers,
        log=output,
    )


# -- latency -------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile ``pct`` (0-100) of ``values``."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * pct / 100)) - 1]


def bench_latency(samples: int, gap: float, keep: bool = False, timeout: float = 60) -> Latency:
    """Latency from just before ``enqueue`` to the first line of the handler
    (``queueadmin.stamp``'s ``time.time()``), jobs enqueued one by one, ``gap`` s apart,
    to an idle runworker with its default options."""
    cleanup()
    with tempfile.TemporaryFile() as log:
        proc = _start(worker_command(), log)
        try:
            mine = WorkerRow.objects.filter(host=socket.gethostname(), pid=proc.pid)
            deadline = time.monotonic() + timeout
            while not mine.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"runworker did not start:\n{_read(log)}")
                time.sleep(POLL)
            time.sleep(0.5)
            enqueued = {}
            for _ in range(samples):
                at = time.time()
                enqueued[enqueue(STAMP, queue=BENCH_QUEUE).pk] = at
                time.sleep(gap)
            deadline = time.monotonic() + timeout
            while _not_completed():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"bench jobs not completed:\n{_read(log)}")
                time.sleep(POLL)
        finally:
            _stop(proc)
        output = _read(log)
    stamps = dict(Job.objects.filter(queue=BENCH_QUEUE).values_list("id", "output"))
    latencies = [(stamps[pk]["started"] - at) * 1000 for pk, at in enqueued.items()]
    if not keep:
        cleanup()
    return Latency(percentile(latencies, 50), percentile(latencies, 95), samples, output, latencies)


# -- the table -----------------------------------------------------------------------------


def _ratio(value: float | None, limit: float, of: str) -> str:
    return f"{value / limit:.2f}{TIMES} {of}" if value is not None and limit > 0 else ""


def _rate(value: float | None, unit: str) -> str:
    return f"{value:,.0f} {unit}" if value is not None else "n/a"


def _table(lines: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str]]:
    """(metric, value, ratio, details) lines as the table's rows, the ratios in a column
    of their own when there are any."""
    width = max((len(ratio) for _, _, ratio, _ in lines), default=0)
    rows = []
    for metric, value, ratio, details in lines:
        extra = f"{ratio:<{width}}   {details}" if width else details
        rows.append((metric, value, extra.rstrip()))
    return rows


def run(only: list[str], opts: dict, warn) -> list[tuple[str, str, str]]:
    """Run the ``only`` phases with the command's options; the table's rows. ``warn``
    gets a message when a worker left jobs behind or failed."""
    keep = opts["keep"]
    timeout = opts.get("timeout") or TIMEOUT
    lines: list[tuple[str, str, str, str]] = []
    raw = single = None
    if "raw" in only:
        # With the single phase, the INSERTs take turns with its enqueues.
        in_turns = "single" in only
        raw = bench_raw(0 if in_turns else opts["single"], opts["jobs"], opts["raw_batch"])
        turns = ""
        if in_turns:
            raw.insert_rows_per_s, single = bench_single_in_turns(opts["single"], keep)
            raw.inserts, turns = opts["single"], ", in turns with the single enqueues"
        lines.append(
            (
                "raw: single-row INSERT commits",
                _rate(raw.insert_rows_per_s, "rows/s"),
                "",
                f"({raw.inserts:,} rows, one commit each{turns})",
            )
        )
        lines.append(
            (
                f"raw: batched {raw.method} claim + complete ({raw.threads} threads)",
                _rate(raw.claim_rows_per_s, "rows/s"),
                "",
                f"({raw.rows:,} rows, {raw.batch:,} per claim, narrow table)",
            )
        )
        lines.append(
            (
                "raw: the same on a copy of the job table",
                _rate(raw.job_rows_per_s, "rows/s"),
                "",
                "(its columns and indexes, no-op job rows)",
            )
        )
    if "single" in only:
        rate = single if single is not None else bench_single(opts["single"], keep)
        ratio = _ratio(rate, raw.insert_rows_per_s, "raw INSERT") if raw else ""
        lines.append(("single enqueue", _rate(rate, "jobs/s"), ratio, ""))
    if "bulk" in only:
        rate = bench_bulk(opts["bulk"], opts["bulk_chunk"], keep)
        lines.append(("bulk enqueue", _rate(rate, "jobs/s"), "", ""))
    tuned = shlex.split(opts.get("tuned", TUNED))
    runs = (
        ("processing", "processing, runworker defaults", [], 0),
        ("tuned", "processing, tuned", tuned, 0),
        (
            "channels",
            f"processing, {opts['channels']:,} channels, runworker defaults",
            [],
            opts["channels"],
        ),
    )
    for phase, label, args, channels in runs:
        if phase not in only:
            continue
        result = bench_processing(opts["jobs"], args, keep, timeout, channels)
        if result.left or result.exit_code:
            warn(
                f"{label}: runworker exited with {result.exit_code}, "
                f"{result.left} job(s) left:\n{result.log}"
            )
        ratio = ""
        if raw and phase != "channels":
            ratio = _ratio(result.steady_jobs_per_s, raw.job_rows_per_s, "raw on job rows")
        flags = f"; runworker {shlex.join(args)}" if args else ""
        lines.append(
            (
                f"{label}: steady",
                _rate(result.steady_jobs_per_s, "jobs/s"),
                ratio,
                f"({result.completed:,} completed in {result.span:.2f} s of completed_at{flags})",
            )
        )
        lines.append(
            (
                f"{label}: full drain",
                _rate(result.full_drain_jobs_per_s, "jobs/s"),
                "",
                f"({result.jobs:,} jobs, {result.left:,} left, "
                f"{result.seconds:.2f} s from worker start)",
            )
        )
    if "latency" in only:
        result = bench_latency(opts["latency_samples"], opts["latency_gap"], keep)
        lines.append(
            (
                "latency to handler start p50 / p95",
                f"{result.p50_ms:.1f} / {result.p95_ms:.1f} ms",
                "",
                f"(p95/p50 {result.spread:.1f}{TIMES}, {result.samples:,} samples)",
            )
        )
    return _table(lines)
