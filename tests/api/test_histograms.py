"""queueadmin_job_run_seconds: a real Prometheus histogram per job type on /api/metrics,
cumulative over the per-minute rollup."""

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.api import prometheus
from core.api.histograms import run_seconds_family
from core.maintenance.rollup import roll_hour, roll_minute
from tests.rollups import finished

pytestmark = pytest.mark.django_db

MINUTE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def rolled(job_type: str, *runs: float, minute: datetime = MINUTE) -> None:
    for n, run in enumerate(runs):
        finished(minute + timedelta(seconds=n + 1), job_type, run=run)
    roll_minute(minute)
    roll_hour(minute)


def histogram(text: str) -> dict:
    [family] = [
        f for f in text_string_to_metric_families(text) if f.name == "queueadmin_job_run_seconds"
    ]
    assert family.type == "histogram"
    return {(s.name, s.labels["job_type"], s.labels.get("le")): s.value for s in family.samples}


def test_without_rolled_up_jobs_the_family_is_absent():
    assert run_seconds_family() == ""


def test_buckets_are_cumulative_with_sum_and_count_per_job_type():
    rolled("mail.send", 0.02, 0.3, 4.0)
    rolled("report.build", 100.0)
    values = histogram(run_seconds_family())
    name = "queueadmin_job_run_seconds"
    assert values[(f"{name}_bucket", "mail.send", "0.025")] == 1
    assert values[(f"{name}_bucket", "mail.send", "0.5")] == 2
    assert values[(f"{name}_bucket", "mail.send", "5.0")] == 3
    assert values[(f"{name}_bucket", "mail.send", "+Inf")] == 3
    assert values[(f"{name}_count", "mail.send", None)] == 3
    assert values[(f"{name}_sum", "mail.send", None)] == pytest.approx(4.32, abs=1e-2)
    assert values[(f"{name}_bucket", "report.build", "60.0")] == 0
    assert values[(f"{name}_bucket", "report.build", "120.0")] == 1


def test_the_counts_add_up_over_the_minutes_kept():
    rolled("mail.send", 0.1)
    rolled("mail.send", 0.1, 0.1, minute=MINUTE + timedelta(minutes=5))
    values = histogram(run_seconds_family())
    assert values[("queueadmin_job_run_seconds_count", "mail.send", None)] == 3


def test_the_metrics_page_includes_the_histogram():
    rolled("mail.send", 0.2)
    text = prometheus.render()
    assert "# TYPE queueadmin_job_run_seconds histogram" in text
    assert 'queueadmin_job_run_seconds_bucket{job_type="mail.send",le="+Inf"} 1' in text
