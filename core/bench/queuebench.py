"""queuebench: enqueue, processing and latency measurements on the configured database.

Every function returns numbers; ``manage.py queuebench`` prints them.
"""

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from core.bench.options import CountOption
from core.models import Job, JobStatus
from core.models import Worker as WorkerRow
from core.queue import enqueue, enqueue_many

#: The queue every bench job goes to (and is deleted from).
BENCH_QUEUE = "queuebench"
#: The handler the bench jobs run: it does nothing.
NOOP = "queueadmin.noop"
#: Seconds between polls of the Job table.
POLL = 0.05

#: The phases, in the order they run.
PHASES = ("single", "bulk", "processing", "channels", "latency")
#: The count options of ``manage.py queuebench``.
COUNTS = (
    CountOption("single", 2000, "jobs enqueued one at a time"),
    CountOption("bulk", 50000, "jobs enqueued with enqueue_many"),
    CountOption("bulk-chunk", 5000, "specs per enqueue_many call"),
    CountOption("jobs", 20000, "no-op jobs processed by one burst runworker"),
    CountOption("concurrency", 4, "runworker --concurrency", metavar=None),
    CountOption("batch-size", 1000, "runworker --batch-size", metavar=None),
    CountOption("channels", 1000, "the channels phase spreads --jobs over N channels"),
    CountOption("latency-samples", 200, "jobs enqueued one by one to an idle worker"),
)


@dataclass
class Processing:
    """Result of the processing phase."""

    jobs_per_s: float
    jobs: int
    left: int
    seconds: float
    exit_code: int | None
    log: str


@dataclass
class Latency:
    """Result of the latency phase, in milliseconds."""

    p50_ms: float
    p95_ms: float
    samples: int
    log: str


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


def cleanup(chunk: int = 2000) -> int:
    """Delete every job of BENCH_QUEUE (events cascade), one id range at a time; the count."""
    jobs = Job.objects.filter(queue=BENCH_QUEUE)
    deleted, last = 0, 0
    while True:
        ids = list(jobs.filter(id__gt=last).order_by("id").values_list("id", flat=True)[:chunk])
        if not ids:
            return deleted
        jobs.filter(id__gte=ids[0], id__lte=ids[-1]).only("id").delete()
        deleted += len(ids)
        last = ids[-1]


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
    """Jobs per second enqueued one at a time, one commit each."""
    cleanup()
    started = time.perf_counter()
    for _ in range(count):
        enqueue(NOOP, queue=BENCH_QUEUE)
    elapsed = time.perf_counter() - started
    if not keep:
        cleanup()
    return count / elapsed


def bench_bulk(count: int, chunk: int, keep: bool = False) -> float:
    """Jobs per second enqueued with enqueue_many, ``chunk`` specs per call."""
    cleanup()
    started = time.perf_counter()
    for offset in range(0, count, chunk):
        enqueue_many(_specs(min(chunk, count - offset)))
    elapsed = time.perf_counter() - started
    if not keep:
        cleanup()
    return count / elapsed


def _worker(*args: str, log) -> subprocess.Popen:
    """Start ``manage.py runworker --queue BENCH_QUEUE -v 0 ARGS`` on this process's database."""
    manage = Path(settings.BASE_DIR) / "manage.py"
    main = [str(manage.resolve())] if manage.exists() else ["-m", "django"]
    env = {**os.environ, "DATABASE_URL": database_url()}
    env.setdefault("DJANGO_SETTINGS_MODULE", "queueadmin.settings")
    command = [sys.executable, *main, "runworker", "--queue", BENCH_QUEUE, "-v", "0", *args]
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


def bench_processing(
    count: int,
    concurrency: int,
    batch_size: int,
    keep: bool = False,
    timeout: float = 600,
    channels: int = 0,
) -> Processing:
    """Jobs per second a burst runworker completes, from its start to the last completion
    (with ``channels``, the jobs are spread over that many channels, read round-robin)."""
    cleanup()
    for offset in range(0, count, 5000):
        enqueue_many(_specs(min(5000, count - offset), channels, offset))
    args = ["--burst", "--concurrency", str(concurrency), "--batch-size", str(batch_size)]
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        proc = _worker(*args, log=log)
        try:
            while _not_completed() and proc.poll() is None:
                if time.perf_counter() - started > timeout:
                    break
                time.sleep(POLL)
            elapsed = time.perf_counter() - started
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=60)  # a burst worker exits on its own
        finally:
            code = _stop(proc)
        output = _read(log)
    left = _not_completed()
    if not keep:
        cleanup()
    return Processing((count - left) / elapsed, count, left, elapsed, code, output)


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile ``pct`` (0-100) of ``values``."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * pct / 100)) - 1]


def bench_latency(samples: int, gap: float, keep: bool = False, timeout: float = 60) -> Latency:
    """Enqueue-to-start latency of jobs enqueued one by one to an idle worker."""
    cleanup()
    with tempfile.TemporaryFile() as log:
        proc = _worker(log=log)
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
                enqueued[enqueue(NOOP, queue=BENCH_QUEUE).pk] = at
                time.sleep(gap)
            deadline = time.monotonic() + timeout
            while _not_completed():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"bench jobs not completed:\n{_read(log)}")
                time.sleep(POLL)
        finally:
            _stop(proc)
        output = _read(log)
    started = dict(Job.objects.filter(queue=BENCH_QUEUE).values_list("id", "started_at"))
    latencies = [(started[pk].timestamp() - at) * 1000 for pk, at in enqueued.items()]
    if not keep:
        cleanup()
    return Latency(percentile(latencies, 50), percentile(latencies, 95), samples, output)


def run(only: list[str], opts: dict, warn) -> list[tuple[str, str, str]]:
    """Run the ``only`` phases with the command's options; the table's rows. ``warn``
    gets a message when a worker left jobs behind or failed."""
    keep = opts["keep"]
    rows = []
    if "single" in only:
        rate = bench_single(opts["single"], keep)
        rows.append(("single enqueue", f"{rate:,.0f} jobs/s", ""))
    if "bulk" in only:
        rate = bench_bulk(opts["bulk"], opts["bulk_chunk"], keep)
        rows.append(("bulk enqueue", f"{rate:,.0f} jobs/s", ""))
    for phase, channels in (("processing", 0), ("channels", opts["channels"])):
        if phase not in only:
            continue
        result = bench_processing(
            opts["jobs"], opts["concurrency"], opts["batch_size"], keep, channels=channels
        )
        if result.left or result.exit_code:
            warn(
                f"runworker exited with {result.exit_code}, {result.left} job(s) left:\n"
                f"{result.log}"
            )
        spread = f", {channels:,} channels" if channels else ""
        rows.append(
            (
                f"processing{spread} (c={opts['concurrency']}, batch={opts['batch_size']})",
                f"{result.jobs_per_s:,.0f} jobs/s",
                f"({result.jobs:,} jobs, {result.left:,} left)",
            )
        )
    if "latency" in only:
        result = bench_latency(opts["latency_samples"], opts["latency_gap"], keep)
        rows.append(
            (
                "latency p50 / p95",
                f"{result.p50_ms:.1f} / {result.p95_ms:.1f} ms",
                f"({result.samples:,} samples)",
            )
        )
    return rows
