"""The rollup maintenance task: per-minute job statistics from the finished jobs of
closed minutes, idempotent, catching up after downtime, depth sampled, old rows pruned."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction

from core import maintenance, queue
from core.drivers.stats import PostgresStats, SQLiteStats, rollup_statement
from core.maintenance import rollup
from core.models import Job, JobStat, JobStatHour
from core.models.stats import BOUNDS, bucket_columns
from tests.rollups import finished, run_rollup

pytestmark = pytest.mark.django_db

#: A minute in the past, and a moment when it (and only it) has closed.
MINUTE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
AFTER = MINUTE + timedelta(minutes=1, seconds=30)


def at(seconds: float) -> datetime:
    return MINUTE + timedelta(seconds=seconds)


def row(queue_name="default", job_type="test.echo", minute=MINUTE) -> JobStat:
    return JobStat.objects.get(minute=minute, queue=queue_name, job_type=job_type)


def buckets(stat: JobStat, timing: str) -> dict[float, int]:
    return {b: getattr(stat, c) for b, c in zip(BOUNDS, bucket_columns(timing), strict=True)}


def test_a_minute_counts_its_completed_and_failed_jobs_per_queue_and_type():
    for second in (1, 20, 59.9):
        finished(at(second), "mail.send", "mail")
    finished(at(30), "mail.send", "mail", status="failed")
    finished(at(10), "report.build", "default")
    rollup.roll_minute(MINUTE)
    mail = row("mail", "mail.send")
    assert (mail.completed, mail.failed) == (3, 1)
    report = row("default", "report.build")
    assert (report.completed, report.failed) == (1, 0)


def test_jobs_finished_outside_the_minute_are_left_out():
    finished(at(-0.001))
    finished(at(60))
    finished(at(0))
    rollup.roll_minute(MINUTE)
    assert row().completed == 1


def test_run_times_fill_cumulative_buckets_with_their_sum():
    for seconds in (0.004, 0.3, 0.3, 7.0):
        finished(at(30), run=seconds)
    rollup.roll_minute(MINUTE)
    stat = row()
    counts = buckets(stat, "run")
    assert (counts[0.005], counts[0.25], counts[0.5], counts[5.0], counts[10.0]) == (1, 1, 3, 3, 4)
    assert counts[3600.0] == 4
    assert stat.run_count == 4
    assert stat.run_sum == pytest.approx(7.604, abs=1e-3)


def test_wait_time_runs_from_run_at_to_started_at():
    finished(at(30), run=1.0, wait=45.0)
    rollup.roll_minute(MINUTE)
    stat = row()
    assert stat.wait_sum == pytest.approx(45.0, abs=1e-3)
    assert buckets(stat, "wait")[30.0] == 0
    assert buckets(stat, "wait")[60.0] == 1


def test_failed_jobs_are_counted_but_not_timed():
    finished(at(30), run=2.0, status="failed")
    rollup.roll_minute(MINUTE)
    stat = row()
    assert (stat.failed, stat.run_count, stat.wait_count) == (1, 0, 0)


def test_rolling_a_minute_again_gives_the_same_rows():
    finished(at(5), run=0.2)
    finished(at(6), status="failed")
    rollup.roll_minute(MINUTE)
    first = list(JobStat.objects.filter(minute=MINUTE).order_by("job_type").values())
    rollup.roll_minute(MINUTE)
    again = list(JobStat.objects.filter(minute=MINUTE).order_by("job_type").values())
    strip = [{k: v for k, v in r.items() if k != "id"} for r in first]
    assert [{k: v for k, v in r.items() if k != "id"} for r in again] == strip


def test_rolling_a_minute_again_replaces_counts_of_jobs_now_gone():
    job = finished(at(5))
    finished(at(6), "other.type")
    rollup.roll_minute(MINUTE)
    Job.objects.filter(pk=job.pk).delete()
    rollup.roll_minute(MINUTE)
    assert row().completed == 0
    assert row(job_type="other.type").completed == 1


def test_a_run_rolls_up_each_closed_minute_and_not_the_open_one():
    finished(at(30))
    finished(at(70))  # the next minute, still open at AFTER
    result = run_rollup(AFTER)
    assert result.ok
    assert result.counts["minutes"] >= 1
    assert row().completed == 1
    assert not JobStat.objects.filter(minute=MINUTE + timedelta(minutes=1)).exists()
    assert run_rollup(AFTER).counts["minutes"] == 0


def test_a_minute_waits_for_the_grace_period_after_it_ends():
    finished(at(30))
    run_rollup(MINUTE + timedelta(minutes=1, seconds=5))
    assert not JobStat.objects.filter(minute=MINUTE).exists()
    run_rollup(MINUTE + timedelta(minutes=1, seconds=11))
    assert row().completed == 1


def test_after_downtime_the_missed_minutes_are_caught_up():
    rollup.roll_minute(MINUTE)
    later = [finished(at(60 * n + 5)) for n in (3, 17)]
    run_rollup(MINUTE + timedelta(minutes=20, seconds=30))
    assert row(minute=MINUTE + timedelta(minutes=3)).completed == 1
    assert row(minute=MINUTE + timedelta(minutes=17)).completed == 1
    assert len(later) == 2
    markers = JobStat.objects.filter(queue="", job_type="")
    assert markers.count() == 20  # minutes 12:00 to 12:19, each marked rolled up


def test_catching_up_stops_at_the_window(settings):
    settings.QUEUEADMIN = {**settings.QUEUEADMIN, "STATS_CATCHUP_SECONDS": 600}
    finished(at(5))  # 12:00, 30 minutes before the run: outside the window
    finished(at(25 * 60 + 5))
    run_rollup(MINUTE + timedelta(minutes=30, seconds=30))
    assert not JobStat.objects.filter(minute=MINUTE).exists()
    assert row(minute=MINUTE + timedelta(minutes=25)).completed == 1
    assert JobStat.objects.filter(queue="", job_type="").count() == 10


def test_out_of_time_leaves_the_rest_to_the_next_run(settings):
    settings.QUEUEADMIN = {**settings.QUEUEADMIN, "STATS_CATCHUP_SECONDS": 600}
    now = MINUTE + timedelta(minutes=10, seconds=30)
    first = run_rollup(now, deadline=0.0)  # a deadline long past: one minute per run
    assert first.counts["minutes"] == 1
    assert "time limit" in first.summary
    assert run_rollup(now).counts["minutes"] == 9


def test_depth_counts_pending_jobs_per_queue_and_type_on_the_latest_minute():
    queue.enqueue("mail.send", queue="mail")
    queue.enqueue("mail.send", queue="mail")
    queue.enqueue("report.build")
    finished(at(30))  # completed: not pending
    run_rollup(AFTER)
    assert row("mail", "mail.send").depth == 2
    assert row("default", "report.build").depth == 1
    assert row().depth == 0


def test_depth_is_sampled_on_the_latest_minute_only():
    queue.enqueue("mail.send", queue="mail")
    rollup.roll_minute(MINUTE - timedelta(minutes=1))
    run_rollup(MINUTE + timedelta(minutes=5, seconds=30))
    depths = dict(
        JobStat.objects.filter(queue="mail").values_list("minute", "depth").order_by("minute")
    )
    assert depths == {MINUTE + timedelta(minutes=4): 1}


def test_rolling_a_sampled_minute_again_keeps_its_depth():
    queue.enqueue("mail.send", queue="mail")
    run_rollup(AFTER)
    rollup.roll_minute(MINUTE)
    assert row("mail", "mail.send").depth == 1


def test_rows_past_the_retention_are_pruned(settings):
    settings.QUEUEADMIN = {**settings.QUEUEADMIN, "STATS_RETENTION_SECONDS": 3600}
    old = JobStat.objects.create(minute=MINUTE - timedelta(hours=2), queue="q", job_type="t")
    kept = JobStat.objects.create(minute=MINUTE - timedelta(minutes=30), queue="q", job_type="t")
    result = run_rollup(AFTER)
    assert result.counts["pruned"] == 1
    assert list(JobStat.objects.filter(queue="q").values_list("id", flat=True)) == [kept.id]
    assert old.id not in JobStat.objects.values_list("id", flat=True)


def test_the_rollup_is_a_maintenance_task_workers_run():
    finished(datetime.now(UTC) - timedelta(minutes=2))
    results = maintenance.run_all("tester", ["rollup"])
    assert results["rollup"].ok
    assert JobStat.objects.filter(job_type="test.echo", completed=1).exists()


def test_an_hour_sums_its_minutes_and_keeps_the_highest_depth():
    for minute, depth in ((0, 4), (1, 9)):
        JobStat.objects.create(
            minute=at(60 * minute), queue="q", job_type="t", completed=2, run_le_1=2, depth=depth
        )
    JobStat.objects.create(minute=at(3600), queue="q", job_type="t", completed=50)
    rollup.roll_hour(MINUTE)
    hour = JobStatHour.objects.get(hour=MINUTE, queue="q", job_type="t")
    assert (hour.completed, hour.run_le_1, hour.depth) == (4, 4, 9)


def test_rolling_an_hour_again_replaces_it():
    JobStat.objects.create(minute=MINUTE, queue="q", job_type="t", completed=2)
    rollup.roll_hour(MINUTE)
    JobStat.objects.filter(minute=MINUTE).update(completed=3)
    rollup.roll_hour(MINUTE)
    assert list(JobStatHour.objects.values_list("completed", flat=True)) == [3]


def test_a_run_rolls_up_the_hours_of_the_minutes_it_rolled():
    finished(at(30))
    finished(at(90))
    run_rollup(MINUTE + timedelta(minutes=2, seconds=30))
    assert JobStatHour.objects.get(hour=MINUTE, job_type="test.echo").completed == 2


def test_hours_past_the_retention_are_pruned(settings):
    settings.QUEUEADMIN = {
        **settings.QUEUEADMIN,
        "STATS_RETENTION_SECONDS": 3600,
        "STATS_CATCHUP_SECONDS": 60,  # the run re-sums 12:00 only
    }
    JobStatHour.objects.create(hour=MINUTE - timedelta(hours=3), queue="q", job_type="t")
    kept = JobStatHour.objects.create(hour=MINUTE - timedelta(hours=1), queue="q", job_type="t")
    run_rollup(AFTER)
    assert list(JobStatHour.objects.values_list("id", flat=True)) == [kept.id]


def test_a_minute_is_read_through_the_finished_time_indexes_only():
    end = MINUTE + timedelta(minutes=1)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Tiny test tables are cheaper to scan: ask whether the indexes can serve it.
            cursor.execute("SET LOCAL enable_seqscan = off")
            sql = "EXPLAIN " + rollup_statement(PostgresStats.SECONDS)
        else:
            sql = "EXPLAIN QUERY PLAN " + rollup_statement(SQLiteStats.SECONDS)
        params = {"minute": MINUTE, "start": MINUTE, "end": end}
        if connection.vendor == "sqlite":
            params = {k: connection.ops.adapt_datetimefield_value(v) for k, v in params.items()}
        cursor.execute(sql, params)
        plan = " ".join(str(part) for row in cursor.fetchall() for part in row)
    assert "job_completed_idx" in plan
    assert "job_failed_idx" in plan
