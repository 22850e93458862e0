"""manage.py queuebench: every phase on tiny numbers, with real runworker subprocesses."""

import re
import time
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from core.bench import queuebench, raw, rawjobs
from core.bench.queuebench import (
    BENCH_QUEUE,
    NOOP,
    STAMP,
    bench_latency,
    bench_processing,
    completions,
    percentile,
    steady_rate,
)
from core.durable.builtin import stamp
from core.management.commands.runworker import Command as RunWorker
from core.models import Job, JobEvent, JobStatus
from core.queue import enqueue_many

SCRATCH = raw.SCRATCH
bench_raw = raw.bench_raw

#: The ratios' sign.
X = queuebench.TIMES
RATE = r"([\d,]+) (?:jobs|rows)/s"
STEADY = r"\(2,000 completed in [\d.]+ s of completed_at"
CLAIM = rf"([\d.]+){X} raw on job rows"
DRAIN = r"\(2,000 jobs, 0 left, [\d.]+ s from worker start\)"
TUNED = "--concurrency 2 --batch-size 20 --processes 2"
ROWS = {
    "raw: single-row INSERT commits": (
        rf"{RATE}\s+\(50 rows, one commit each, in turns with the single enqueues\)"
    ),
    r"raw: batched (?:SKIP LOCKED|BEGIN IMMEDIATE) claim \+ complete \(2 threads\)": (
        rf"{RATE}\s+\(2,000 rows, 20 per claim, narrow table\)"
    ),
    "raw: the same on a copy of the job table": (
        rf"{RATE}\s+\(its columns and indexes, no-op job rows\)"
    ),
    "single enqueue": rf"{RATE}\s+([\d.]+){X} raw INSERT",
    "bulk enqueue": RATE,
    "processing, runworker defaults: steady": rf"{RATE}\s+{CLAIM}\s+{STEADY}\)",
    "processing, runworker defaults: full drain": rf"{RATE}\s+{DRAIN}",
    "processing, tuned: steady": rf"{RATE}\s+{CLAIM}\s+{STEADY}; runworker {TUNED}\)",
    "processing, tuned: full drain": rf"{RATE}\s+{DRAIN}",
    "processing, 5 channels, runworker defaults: steady": rf"{RATE}\s+{STEADY}\)",
    "processing, 5 channels, runworker defaults: full drain": rf"{RATE}\s+{DRAIN}",
    "latency to handler start p50 / p95": (
        rf"([\d.]+) / ([\d.]+) ms\s+\(p95/p50 ([\d.]+){X}, 10 samples\)"
    ),
    "call round trip p50 / p95": (
        r"([\d.]+) / ([\d.]+) ms\s+\(10 calls of a no-op job, 10 ms apart, idle runworker\)"
    ),
}


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _tables() -> list[str]:
    with connection.cursor() as cursor:
        return connection.introspection.table_names(cursor)


@pytest.mark.django_db(transaction=True)
def test_queuebench_prints_every_row_with_its_ratio_and_cleans_up():
    out = StringIO()
    call_command(
        "queuebench",
        *("--single", "50", "--bulk", "50", "--bulk-chunk", "20", "--jobs", "2000"),
        *("--raw-batch", "20", "--tuned", TUNED, "--channels", "5"),
        *("--latency-samples", "10", "--latency-gap", "0.01", "--call-samples", "10"),
        stdout=out,
    )
    table = out.getvalue()
    assert re.match(r"queuebench on (sqlite|postgresql) \(.+\) — \d+ cores\n", table), table
    assert len(table.splitlines()) == 2 + len(ROWS), table
    for metric, value in ROWS.items():
        match = re.search(rf"^{metric}\s+{value}$", table, re.MULTILINE)
        assert match, f"no {metric!r} row in:\n{table}"
        assert _number(match.group(1)) > 0, table
        if X in value:
            assert _number(match.group(2)) > 0, table
        if metric.startswith("latency"):
            p50, p95, spread = (float(group) for group in match.groups())
            assert p95 >= p50 > 0, table
            # Each figure is printed rounded to 0.1 (half a unit either way).
            low, high = (p95 - 0.05) / (p50 + 0.05), (p95 + 0.05) / max(p50 - 0.05, 1e-9)
            assert low - 0.05 <= spread <= high + 0.05, table
    # The ratios line up in a column of their own.
    ratios = {line.index(X) for line in table.splitlines() if X in line and "p95/p50" not in line}
    assert len(ratios) == 1, table
    assert not Job.objects.filter(queue=BENCH_QUEUE).exists()
    assert not JobEvent.objects.filter(job__queue=BENCH_QUEUE).exists()
    assert SCRATCH not in _tables()
    assert rawjobs.COPY not in _tables()


def _small_raw_run(only: str, *args: str) -> str:
    """The table of ``queuebench --only ONLY`` with 20 single enqueues and a small raw
    phase (50 rows, 10 per claim)."""
    out = StringIO()
    call_command(
        "queuebench",
        *("--only", only, "--single", "20", "--jobs", "50", "--raw-batch", "10", *args),
        stdout=out,
    )
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_without_the_raw_phase_there_is_no_ratio_column():
    out = StringIO()
    call_command("queuebench", "--only", "single", "--single", "20", stdout=out)
    assert re.search(r"^single enqueue\s+[\d,]+ jobs/s$", out.getvalue(), re.MULTILINE)
    assert X not in out.getvalue()
    assert "raw:" not in out.getvalue()

    table = _small_raw_run("raw,single")
    assert re.search(
        rf"^single enqueue\s+[\d,]+ jobs/s\s+\d+\.\d\d{X} raw INSERT$", table, re.MULTILINE
    ), table


@pytest.mark.django_db(transaction=True)
def test_without_the_single_phase_the_raw_inserts_run_by_themselves():
    table = _small_raw_run("raw")
    assert re.search(
        rf"^raw: single-row INSERT commits\s+{RATE}\s+\(20 rows, one commit each\)$",
        table,
        re.MULTILINE,
    ), table


@pytest.mark.django_db(transaction=True)
def test_the_single_phase_in_turns_keeps_only_its_timed_jobs():
    _small_raw_run("raw,single", "--keep")
    assert Job.objects.filter(queue=BENCH_QUEUE).count() == 20
    assert SCRATCH not in _tables()


@pytest.mark.django_db(transaction=True)
def test_inserts_and_calls_take_turns_after_their_warm_ups():
    seen = []  # the rows in SCRATCH at each call

    def call():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {SCRATCH}")
            seen.append(cursor.fetchone()[0])

    warmed_up = []
    count = 2 * raw.TURN + 7
    rates = raw.inserts_in_turns(count, call, lambda: warmed_up.append(len(seen)))
    assert all(rate > 0 for rate in rates)
    assert warmed_up == [raw.WARM_UP]
    assert seen[: raw.WARM_UP] == [raw.WARM_UP] * raw.WARM_UP
    turns = [raw.WARM_UP + raw.TURN] * raw.TURN + [raw.WARM_UP + 2 * raw.TURN] * raw.TURN
    assert seen[raw.WARM_UP :] == turns + [raw.WARM_UP + count] * 7
    assert SCRATCH not in _tables()


@pytest.mark.django_db(transaction=True)
def test_queuebench_keep_leaves_the_jobs_and_only_runs_the_subset():
    out = StringIO()
    call_command("queuebench", "--only", "bulk", "--bulk", "30", "--keep", stdout=out)
    assert "bulk enqueue" in out.getvalue()
    assert "single enqueue" not in out.getvalue()
    assert Job.objects.filter(queue=BENCH_QUEUE).count() == 30


def test_tuned_arguments_must_split_and_the_old_options_are_gone():
    with pytest.raises(CommandError, match="--tuned"):
        call_command("queuebench", "--tuned", "--concurrency '8")
    for gone in ("--concurrency", "--batch-size"):
        with pytest.raises(CommandError):
            call_command("queuebench", gone, "8")


@pytest.mark.django_db(transaction=True)
def test_the_headline_run_passes_runworker_no_flags_and_steady_comes_from_completed_at():
    result = bench_processing(2000, keep=True)
    assert result.command[-3:] == ["runworker", "--queue", BENCH_QUEUE]
    # One worker process with runworker's own default concurrency: any flag that
    # changed the process count or the threads would show here.
    default = RunWorker().create_parser("manage.py", "runworker").get_default("concurrency")
    assert result.workers == [default]
    assert (result.completed, result.left, result.exit_code) == (2000, 0, 0)
    assert result.full_drain_jobs_per_s == pytest.approx(2000 / result.seconds)
    done = Job.objects.filter(queue=BENCH_QUEUE, status=JobStatus.COMPLETED)
    stamps = sorted(done.values_list("completed_at", flat=True))
    span = (stamps[-1] - stamps[0]).total_seconds()
    assert result.span == pytest.approx(span)
    if span == 0:  # every completion written at once: no steady rate to tell
        assert result.steady_jobs_per_s is None
    else:
        assert result.steady_jobs_per_s == pytest.approx(1999 / span)
        # Start-up is in the full drain, not in the steady figure.
        assert result.full_drain_jobs_per_s < result.steady_jobs_per_s


@pytest.mark.django_db(transaction=True)
def test_a_tuned_run_passes_its_arguments():
    result = bench_processing(40, ["--concurrency", "3"])
    assert result.command[-5:] == ["runworker", "--queue", BENCH_QUEUE, "--concurrency", "3"]
    assert result.workers == [3]
    assert (result.completed, result.left, result.exit_code) == (40, 0, 0)
    assert not Job.objects.filter(queue=BENCH_QUEUE).exists()


@pytest.mark.django_db(transaction=True)
def test_steady_rate_is_completions_minus_one_over_the_completed_at_span():
    start = datetime(2030, 1, 1, tzinfo=UTC)
    jobs = enqueue_many([{"job_type": NOOP, "queue": BENCH_QUEUE}] * 7)
    for n, job in enumerate(jobs[:5]):
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.COMPLETED, completed_at=start + timedelta(seconds=n / 2)
        )
    # Not completed: not counted, whatever their completed_at.
    Job.objects.filter(pk=jobs[5].pk).update(status=JobStatus.FAILED)
    Job.objects.filter(pk=jobs[6].pk).update(completed_at=start + timedelta(hours=1))
    completed, first, last = completions()
    assert (completed, first, last) == (5, start, start + timedelta(seconds=2))
    assert steady_rate(completed, first, last) == 2.0
    assert steady_rate(1, start, start) is None
    assert steady_rate(3, start, start) is None
    assert steady_rate(0, None, None) is None


@pytest.mark.django_db(transaction=True)
def test_the_raw_phase_creates_and_drops_its_scratch_table():
    with connection.cursor() as cursor:  # a leftover of a killed run is replaced
        cursor.execute(f"CREATE TABLE {SCRATCH} (x integer)")
    result = bench_raw(30, 200, 25)
    assert result.insert_rows_per_s > 0
    assert result.claim_rows_per_s > 0
    assert result.job_rows_per_s > 0
    assert (result.inserts, result.rows, result.batch, result.threads) == (30, 200, 25, 2)
    assert result.method == (
        "SKIP LOCKED" if connection.vendor == "postgresql" else "BEGIN IMMEDIATE"
    )
    assert SCRATCH not in _tables()
    assert rawjobs.COPY not in _tables()


def _indexes(cursor, table: str) -> list[str]:
    """The table's index definitions, its name taken out."""
    constraints = connection.introspection.get_constraints(cursor, table)
    return sorted(
        f"{c['columns']} {c['type']} {c['unique']}" for c in constraints.values() if c["index"]
    )


@pytest.mark.django_db(transaction=True)
def test_the_job_copy_has_the_job_tables_indexes():
    copy = rawjobs.job_copy(connection.vendor)
    with raw.scratch_table(raw._dialect()) as conn:
        copy.prepare(conn)
        try:
            for statement in copy.create:
                conn.execute(statement)
            conn.execute(copy.fill, (3,))
            with connection.cursor() as cursor:
                assert _indexes(cursor, rawjobs.COPY) == _indexes(cursor, rawjobs.TABLE)
            (count,) = conn.execute(f"SELECT count(*) FROM {rawjobs.COPY}").fetchone()
            assert count == 3
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {rawjobs.COPY}")


@pytest.mark.django_db(transaction=True)
def test_the_raw_phase_drops_its_scratch_table_on_error(monkeypatch):
    seen = []

    def broken(dialect, name, batch, errors, ready, table=None):
        conn = dialect.connect()
        try:
            seen.append(conn.execute(f"SELECT count(*) FROM {SCRATCH}").fetchone()[0])
        finally:
            conn.close()
        errors.append(RuntimeError(f"{name} broke"))
        ready.abort()

    monkeypatch.setattr(raw, "_claim_and_complete", broken)
    with pytest.raises(RuntimeError, match="broke"):
        bench_raw(5, 40, 10)
    assert seen == [40, 40]  # the threads saw the filled table
    assert SCRATCH not in _tables()


@pytest.mark.django_db(transaction=True)
def test_the_raw_phase_drops_its_scratch_table_when_a_claim_fails(monkeypatch):
    dialect = raw._dialect()
    dialect.claim = dialect.claim.replace("locked_by", "no_such_column")
    monkeypatch.setattr(raw, "_dialect", lambda: dialect)
    with pytest.raises(Exception, match="no_such_column"):
        bench_raw(5, 40, 10)
    assert SCRATCH not in _tables()


@pytest.mark.django_db(transaction=True)
def test_latency_is_measured_to_the_handlers_own_stamp():
    before = time.time()
    result = bench_latency(5, 0.01, keep=True)
    jobs = list(Job.objects.filter(queue=BENCH_QUEUE).order_by("id"))
    assert [job.job_type for job in jobs] == [STAMP] * 5
    assert all(job.status == JobStatus.COMPLETED for job in jobs)
    for job in jobs:
        started = job.output["started"]
        assert before < job.created_at.timestamp() <= started + 0.001
        assert started <= job.completed_at.timestamp() + 0.05
    assert len(result.latencies_ms) == 5
    assert all(value > 0 for value in result.latencies_ms)
    assert result.p50_ms == percentile(result.latencies_ms, 50)
    assert result.p95_ms == max(result.latencies_ms)
    assert result.spread == result.p95_ms / result.p50_ms


def test_the_stamp_handler_returns_the_time_it_started():
    before = time.time()
    output = stamp(None, None)
    assert before <= output["started"] <= time.time()


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile([7.0], 95) == 7.0
