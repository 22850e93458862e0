"""manage.py queuebench: every phase on tiny numbers, with a real runworker subprocess."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from core.bench.queuebench import BENCH_QUEUE, percentile
from core.models import Job, JobEvent

ROWS = {
    "single enqueue": r"([\d,]+) jobs/s",
    "bulk enqueue": r"([\d,]+) jobs/s",
    r"processing \(c=2, batch=20\)": r"([\d,]+) jobs/s\s+\(50 jobs, (\d+) left\)",
    r"processing, 5 channels \(c=2, batch=20\)": r"([\d,]+) jobs/s\s+\(50 jobs, (\d+) left\)",
    "latency p50 / p95": r"([\d.]+) / ([\d.]+) ms\s+\(10 samples\)",
}


@pytest.mark.django_db(transaction=True)
def test_queuebench_prints_every_row_and_cleans_up():
    out = StringIO()
    call_command(
        "queuebench",
        *("--single", "50", "--bulk", "50", "--bulk-chunk", "20", "--jobs", "50"),
        *("--concurrency", "2", "--batch-size", "20", "--channels", "5"),
        *("--latency-samples", "10", "--latency-gap", "0.01"),
        stdout=out,
    )
    table = out.getvalue()
    assert re.match(r"queuebench on (sqlite|postgresql) \(.+\) — \d+ cores\n", table), table
    for metric, value in ROWS.items():
        match = re.search(rf"^{metric}\s+{value}$", table, re.MULTILINE)
        assert match, f"no {metric!r} row in:\n{table}"
        assert float(match.group(1).replace(",", "")) > 0, table
        if metric.startswith("processing"):
            assert match.group(2) == "0", table
        if metric.startswith("latency"):
            assert float(match.group(2)) >= float(match.group(1)) > 0, table
    assert not Job.objects.filter(queue=BENCH_QUEUE).exists()
    assert not JobEvent.objects.filter(job__queue=BENCH_QUEUE).exists()


@pytest.mark.django_db(transaction=True)
def test_queuebench_keep_leaves_the_jobs_and_only_runs_the_subset():
    out = StringIO()
    call_command("queuebench", "--only", "bulk", "--bulk", "30", "--keep", stdout=out)
    assert "bulk enqueue" in out.getvalue()
    assert "single enqueue" not in out.getvalue()
    assert Job.objects.filter(queue=BENCH_QUEUE).count() == 30


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile([7.0], 95) == 7.0
