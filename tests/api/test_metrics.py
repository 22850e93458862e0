"""GET /api/metrics: the Prometheus text format, its figures, its cost and who may read it."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core import queue
from core.api import prometheus
from core.drivers import get_driver
from core.models import ApiKey, Job, JobStatus, Worker
from core.worker.runner import Worker as WorkerEngine
from core.worker.runner import WorkerOptions
from tests.users import client_for, make_user
from tests.workers import BackgroundWorker, run_burst, wait_for

pytestmark = pytest.mark.django_db

#: Parser family name (counters lose _total) → type.
TYPES = {
    "queueadmin_jobs": "gauge",
    "queueadmin_jobs_completed": "counter",
    "queueadmin_jobs_failed": "counter",
    "queueadmin_queue_wait_seconds": "gauge",
    "queueadmin_run_seconds": "gauge",
    "queueadmin_workers": "gauge",
    "queueadmin_worker_running_jobs": "gauge",
    "queueadmin_worker_concurrency": "gauge",
    "queueadmin_oldest_pending_age_seconds": "gauge",
    "queueadmin_scrape_duration_seconds": "gauge",
    # The health series (tests/api/test_health_metrics.py).
    "queueadmin_workers_died": "counter",
    "queueadmin_worker_idle_threads": "gauge",
    "queueadmin_worker_stuck_threads": "gauge",
    "queueadmin_scheduled_jobs": "gauge",
    "queueadmin_start_lag_seconds": "gauge",
}


def parse(text: str) -> dict:
    """{family name: family} of a metrics page."""
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(families: dict, name: str, key: str) -> dict:
    """{value of label ``key``: sample value} of one family ({} when it is absent)."""
    family = families.get(name)
    return {} if family is None else {s.labels[key]: s.value for s in family.samples}


def scrape() -> dict:
    _, secret = ApiKey.create("prometheus")
    response = Client().get("/api/metrics", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    return parse(response.content.decode())


def add_jobs(n, status=JobStatus.PENDING, **options):
    jobs = queue.enqueue_many([{"job_type": "test.echo", **options} for _ in range(n)])
    Job.objects.filter(pk__in=[j.pk for j in jobs]).update(status=status)
    return jobs


def add_worker(name, heartbeat_age=timedelta(0), **fields):
    now = timezone.now()
    values = {"host": "h", "pid": 1, "concurrency": 4, "started_at": now, **fields}
    return Worker.objects.create(id=name, heartbeat_at=now - heartbeat_age, **values)


def test_every_family_parses_with_its_type():
    now = timezone.now()
    add_jobs(1, queue="a")
    Job.objects.create(
        job_type="x",
        status=JobStatus.COMPLETED,
        run_at=now - timedelta(seconds=3),
        started_at=now - timedelta(seconds=2),
        completed_at=now,
    )
    add_worker("w1", running=1)
    families = scrape()
    assert {name: f.type for name, f in families.items()} == TYPES
    for family in families.values():
        assert family.documentation


def test_jobs_by_queue_and_status_list_every_status_of_each_queue():
    add_jobs(3, queue="a")
    add_jobs(1, JobStatus.FAILED, queue="b")
    jobs = {
        (s.labels["queue"], s.labels["status"]): s.value
        for s in scrape()["queueadmin_jobs"].samples
    }
    expected = {(q, status): 0 for q in ("a", "b") for status in JobStatus.values}
    expected[("a", "pending")] = 3
    expected[("b", "failed")] = 1
    assert jobs == expected


def test_label_values_are_escaped():
    # enqueue refuses such names, but label values come from rows (and worker ids) as they are.
    name = 'odd "queue"\\with\na newline'
    for _ in range(2):
        Job.objects.create(job_type="x", queue=name, run_at=timezone.now())
    families = parse(prometheus.render())
    assert samples(families, "queueadmin_oldest_pending_age_seconds", "queue").keys() == {name}
    jobs = {
        (s.labels["queue"], s.labels["status"]): s.value
        for s in families["queueadmin_jobs"].samples
    }
    assert jobs[(name, "pending")] == 2


def test_family_formats_help_type_and_samples():
    text = prometheus.family(
        "x_total", "counter", "Line one\nback\\slash.", [({"a": 'q"'}, 2), ({}, 0.5)]
    )
    assert text == (
        '# HELP x_total Line one\\nback\\\\slash.\n# TYPE x_total counter\nx_total{a="q\\""} 2\n'
        "x_total 0.5\n"
    )
    assert prometheus.family("x", "gauge", "Nothing.", []) == ""


def test_oldest_pending_age_per_queue_ignores_jobs_not_yet_due():
    now = timezone.now()
    add_jobs(1, queue="a", run_at=now + timedelta(hours=1))  # lower id, but not due
    add_jobs(1, queue="a", run_at=now - timedelta(seconds=60))
    add_jobs(1, queue="a", run_at=now - timedelta(seconds=600), status=JobStatus.WAITING)
    add_jobs(1, queue="b", run_at=now + timedelta(seconds=30))
    ages = samples(parse(prometheus.render(now)), "queueadmin_oldest_pending_age_seconds", "queue")
    assert ages == {"a": pytest.approx(60.0)}
    # Through the view, "now" is a moment later.
    ages = samples(scrape(), "queueadmin_oldest_pending_age_seconds", "queue")
    assert ages.keys() == {"a"}
    assert 60.0 <= ages["a"] < 70.0


def test_wait_and_run_quantiles_need_completions():
    families = scrape()
    assert "queueadmin_queue_wait_seconds" not in families
    assert "queueadmin_run_seconds" not in families
    now = timezone.now()
    for wait, run in ((1, 10), (2, 20), (3, 30)):
        started = now - timedelta(seconds=run + 5)
        Job.objects.create(
            job_type="x",
            status=JobStatus.COMPLETED,
            run_at=started - timedelta(seconds=wait),
            started_at=started,
            completed_at=started + timedelta(seconds=run),
        )
    families = parse(prometheus.render(now))
    assert samples(families, "queueadmin_queue_wait_seconds", "quantile") == {
        "0.5": pytest.approx(2.0),
        "0.95": pytest.approx(3.0),
    }
    assert samples(families, "queueadmin_run_seconds", "quantile") == {
        "0.5": pytest.approx(20.0),
        "0.95": pytest.approx(30.0),
    }


def test_workers_alive_and_stale_and_per_worker_series_of_live_ones():
    add_worker("live", running=2, concurrency=8, completed=40, failed=3)
    add_worker("gone", heartbeat_age=timedelta(hours=1), completed=99, failed=9)
    families = scrape()
    assert samples(families, "queueadmin_workers", "state") == {"alive": 1, "stale": 1}
    assert samples(families, "queueadmin_worker_running_jobs", "worker") == {"live": 2}
    assert samples(families, "queueadmin_worker_concurrency", "worker") == {"live": 8}
    assert samples(families, "queueadmin_jobs_completed", "worker") == {"live": 40}
    assert samples(families, "queueadmin_jobs_failed", "worker") == {"live": 3}
    [sample] = families["queueadmin_jobs_completed"].samples
    assert sample.name == "queueadmin_jobs_completed_total"


def test_without_workers_the_worker_gauges_read_zero():
    families = scrape()
    assert samples(families, "queueadmin_workers", "state") == {"alive": 0, "stale": 0}
    assert "queueadmin_worker_running_jobs" not in families
    assert families["queueadmin_scrape_duration_seconds"].samples[0].value >= 0


def test_heartbeat_writes_the_completed_and_failed_counters():
    add_worker("w1")
    get_driver().heartbeat("w1", 30.0, [], processed=7, completed=5, failed=1)
    worker = Worker.objects.get(id="w1")
    assert (worker.processed, worker.completed, worker.failed) == (7, 5, 1)
    get_driver().heartbeat("w1", 30.0, [], processed=8)  # the other counters default to 0
    worker.refresh_from_db()
    assert (worker.processed, worker.completed, worker.failed) == (8, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_a_live_worker_reports_jobs_completed_and_failed_for_good():
    add_jobs(3, queue="m")
    queue.enqueue("test.fail", queue="m", max_attempts=1)
    queue.enqueue("test.fail", queue="m", max_attempts=1)
    queue.enqueue("test.fail", queue="m", max_attempts=3, retry_delay=600)  # retried: not failed
    with BackgroundWorker(worker_id="w-metrics", queues=["m"], lease=0.3) as worker:

        def counters():
            families = scrape()
            got = (
                samples(families, "queueadmin_jobs_completed", "worker").get("w-metrics"),
                samples(families, "queueadmin_jobs_failed", "worker").get("w-metrics"),
            )
            return got if got == (3, 2) else None

        assert wait_for(counters, timeout=20, message="the worker's counters") == (3, 2)
        assert worker.completer.counts["pending"] == 1
        row = Worker.objects.get(id="w-metrics")
        assert (row.processed, row.completed, row.failed) == (6, 3, 2)
    # A stopped worker removes its row: its series end with it.
    assert "queueadmin_jobs_completed" not in scrape()


@pytest.mark.django_db(transaction=True)
def test_a_burst_worker_counts_its_outcomes_and_removes_its_row():
    add_jobs(2)
    queue.enqueue("test.fail", max_attempts=1)
    worker = run_burst(worker_id="w-burst")
    assert (worker.completer.counts["completed"], worker.completer.counts["failed"]) == (2, 1)
    assert not Worker.objects.filter(id="w-burst").exists()


def test_a_worker_reusing_an_id_starts_its_counters_at_zero():
    add_worker("w-again", heartbeat_age=timedelta(hours=1), processed=55, completed=50, failed=5)
    WorkerEngine(WorkerOptions(worker_id="w-again"))._register()
    row = Worker.objects.get(id="w-again")
    assert (row.processed, row.completed, row.failed) == (0, 0, 0)
    assert not row.is_stale()


def test_query_count_does_not_grow_with_workers_queues_or_jobs(
    django_assert_max_num_queries, settings
):
    # Counted exactly whatever the machine's speed, so the queries are the same each time.
    settings.QUEUEADMIN = {**getattr(settings, "QUEUEADMIN", {}), "DASHBOARD_COUNT_SECONDS": 30}

    def measure() -> int:
        with CaptureQueriesContext(connection) as captured:
            prometheus.render()
        return len(captured)

    add_jobs(2, queue="q0")
    add_worker("w0")
    small = measure()
    for i in range(1, 12):
        add_jobs(3, queue=f"q{i}", run_at=timezone.now() - timedelta(seconds=i))
        add_jobs(2, JobStatus.COMPLETED, queue=f"q{i}")
        add_worker(f"w{i}")
        add_worker(f"old{i}", heartbeat_age=timedelta(hours=1))
    assert measure() == small
    # SQLite: 6 status counts, the queue x status GROUP BY, timings, 2 for the workers,
    # 1 for the oldest due jobs; the health series: worker deaths, 3 scheduled counts,
    # the queues' next jobs; the run-time histogram: 1. PostgreSQL adds the planner's
    # estimates and a statement timeout around each count (67 in all).
    with django_assert_max_num_queries(17 if connection.vendor == "sqlite" else 67):
        families = parse(prometheus.render())
    assert len(samples(families, "queueadmin_oldest_pending_age_seconds", "queue")) == 12
    assert samples(families, "queueadmin_workers", "state") == {"alive": 12, "stale": 11}


def test_no_credentials_is_a_json_401():
    response = Client().get("/api/metrics")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["status"] == 401


def test_a_read_only_key_may_read_the_metrics():
    _, secret = ApiKey.create("reader")
    response = Client().get("/api/metrics", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"


def test_staff_sessions_need_the_view_job_permission():
    response = client_for(make_user("viewer", "view_job")).get("/api/metrics")
    assert response.status_code == 200
    assert "queueadmin_workers" in parse(response.content.decode())
    assert client_for(make_user("nobody")).get("/api/metrics").status_code == 403
