"""manage.py seed_jobs and core.demo.seed: realistic jobs in every status, consistent and fast."""

from collections import Counter
from datetime import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Max, Min
from django.utils import timezone

from core.demo import seed
from core.demo.seed import instant, seed_jobs, timestamp_text
from core.drivers import get_driver
from core.models import Job, JobEvent, JobStatus
from core.queue import enqueue

pytestmark = pytest.mark.django_db

N = 3000


@pytest.fixture
def seeded():
    """N seeded jobs (with events), and when seeding finished."""
    result = seed_jobs(N, seed=7)
    return result, timezone.now()


def jobs_in(status):
    return list(Job.objects.filter(status=status).order_by("id"))


def test_every_status_is_present(seeded):
    assert set(Job.objects.values_list("status", flat=True)) == set(JobStatus.values)


def test_the_status_counts_sum_to_the_count_and_match_the_result(seeded):
    result, _ = seeded
    counts = Counter(Job.objects.values_list("status", flat=True))
    assert sum(counts.values()) == N == result.jobs
    assert dict(counts) == {status: n for status, n in result.statuses.items() if n}


def test_the_status_mix_is_mostly_completed(seeded):
    counts = Counter(Job.objects.values_list("status", flat=True))
    assert 0.80 < counts["completed"] / N < 0.90
    assert 0.02 < counts["failed"] / N < 0.06
    assert 0.03 < counts["pending"] / N < 0.09


def test_created_at_ascends_with_id_over_the_requested_days(seeded):
    _, now = seeded
    created = list(Job.objects.order_by("id").values_list("created_at", flat=True))
    assert created == sorted(created)
    assert now - timezone.timedelta(days=7) <= created[0] < now - timezone.timedelta(days=6)
    assert created[-1] <= now


def test_some_jobs_finished_within_the_last_hour(seeded):
    _, now = seeded
    recent = Job.objects.filter(completed_at__gte=now - timezone.timedelta(hours=1)).count()
    assert recent >= N * 0.01


def test_completed_jobs_ran_in_order_and_have_output(seeded):
    _, now = seeded
    for job in jobs_in("completed"):
        assert job.created_at <= job.run_at <= job.started_at <= job.completed_at <= now
        assert job.updated_at == job.completed_at
        assert job.failed_at is job.cancelled_at is job.locked_by is None
        assert job.output is not None
        assert job.progress == 100
        assert len(job.errors) == job.attempts - 1


def test_failed_jobs_ran_in_order(seeded):
    _, now = seeded
    for job in jobs_in("failed"):
        assert job.created_at <= job.run_at <= job.started_at <= job.failed_at <= now
        assert job.updated_at == job.failed_at
        assert job.completed_at is job.cancelled_at is job.locked_by is None


def test_failed_jobs_used_every_attempt_with_one_error_each(seeded):
    for job in jobs_in("failed"):
        assert job.attempts == len(job.errors) == job.max_attempts
        assert [e["attempt"] for e in job.errors] == list(range(1, job.attempts + 1))
        assert {e["reason"] for e in job.errors} <= {"handler_error", "timeout"}
        assert all(e["message"] and e["type"] and e["traceback"] for e in job.errors)
        assert datetime.fromisoformat(job.errors[-1]["at"]) == job.failed_at


def test_cancelled_jobs_were_cancelled_after_they_started_if_they_did(seeded):
    _, now = seeded
    for job in jobs_in("cancelled"):
        assert job.created_at <= job.run_at
        assert job.created_at <= job.cancelled_at <= now
        assert job.updated_at == job.cancelled_at
        if job.started_at is not None:
            assert job.run_at <= job.started_at <= job.cancelled_at
        assert job.completed_at is job.failed_at is job.locked_by is None


def test_pending_jobs_are_due_scheduled_or_in_retry_backoff(seeded):
    _, now = seeded
    kinds = Counter()
    for job in jobs_in("pending"):
        assert job.created_at <= job.run_at
        assert job.created_at <= job.updated_at <= now
        assert job.locked_by is job.completed_at is job.failed_at is job.cancelled_at is None
        assert len(job.errors) == job.attempts < job.max_attempts
        if job.attempts:
            assert job.started_at <= job.updated_at <= job.run_at
            kinds["retry"] += 1
        else:
            assert job.started_at is None
            kinds["due" if job.run_at <= now else "scheduled"] += 1
    assert set(kinds) == {"due", "scheduled", "retry"}


def test_processing_jobs_hold_a_live_lease_of_a_worker(seeded):
    _, now = seeded
    for job in jobs_in("processing"):
        assert job.created_at <= job.run_at <= job.started_at == job.updated_at <= now
        assert job.locked_until > now
        assert job.locked_by.startswith("seed-host-")
        assert 0 <= job.progress <= 100
        assert job.attempts >= 1


def test_waiting_jobs_wait_until_a_future_time(seeded):
    _, now = seeded
    for job in jobs_in("waiting"):
        assert job.created_at <= job.run_at <= job.started_at <= job.updated_at <= now
        assert job.wait_until > now
        assert job.locked_by is None


def test_a_tenth_of_the_jobs_have_a_unique_idempotency_key(seeded):
    keys = list(Job.objects.exclude(idempotency_key=None).values_list("idempotency_key", flat=True))
    assert 0.05 * N < len(keys) < 0.15 * N
    assert len(set(keys)) == len(keys)


def test_every_job_has_its_added_event_and_finished_ones_their_final_event(seeded):
    result, _ = seeded
    events = Counter(JobEvent.objects.values_list("job_id", "type"))
    assert result.events == JobEvent.objects.count()
    for job in Job.objects.all():
        assert events[job.id, "added"] == 1
        assert events[job.id, "processing"] == job.attempts
        if job.status in ("completed", "failed", "cancelled", "waiting"):
            assert events[job.id, job.status] == 1


def test_events_happen_when_the_job_says(seeded):
    events = JobEvent.objects.filter(type__in=["added", "completed", "failed"]).select_related(
        "job"
    )
    for event in events:
        job = event.job
        expected = {"added": job.created_at, "completed": job.completed_at, "failed": job.failed_at}
        assert event.at == expected[event.type]


def test_no_events_writes_jobs_only():
    result = seed_jobs(500, events=False, seed=1)
    assert result.events == 0
    assert Job.objects.count() == 500
    assert not JobEvent.objects.exists()


def test_an_enqueue_after_seeding_gets_a_larger_id(seeded):
    result, _ = seeded
    job = enqueue("emails.send_welcome", {"user_id": 1})
    assert job.id > Job.objects.exclude(id=job.id).aggregate(Max("id"))["id__max"]
    assert job.id > result.last_id


def test_seeded_ids_never_reuse_those_of_deleted_jobs():
    gone = enqueue("emails.send_welcome", {"user_id": 1}).id
    Job.objects.filter(id=gone).delete()
    assert seed_jobs(10, seed=1).first_id > gone


def test_a_failed_seeding_writes_nothing(monkeypatch):
    driver = type(get_driver())
    copy_rows = driver.copy_rows

    def fail_on_events(self, table, columns, rows):
        if table == JobEvent._meta.db_table:
            raise RuntimeError("disk full")
        return copy_rows(self, table, columns, rows)

    monkeypatch.setattr(driver, "copy_rows", fail_on_events)
    with pytest.raises(RuntimeError, match="disk full"):
        seed_jobs(200, seed=1)
    assert not Job.objects.exists()
    assert not JobEvent.objects.exists()


def test_the_event_foreign_key_is_back_and_checked_after_seeding(postgres_only):
    def foreign_keys():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint"
                " WHERE conrelid = 'queueadmin_jobevent'::regclass AND contype = 'f'"
            )
            return cursor.fetchall()

    before = foreign_keys()
    seed_jobs(100, seed=1)
    assert foreign_keys() == before
    assert all(validated for _, _, validated in before)


def test_timestamps_are_written_as_django_stores_them():
    adapt = connection.ops.adapt_datetimefield_value
    text = timestamp_text(adapt)
    for t in (0.0, 1.5, 1_700_000_000.0, 1_764_000_123.000001, 1_764_000_123.987654):
        stored = adapt(instant(t))
        if isinstance(stored, str):  # SQLite: Django's naive UTC text, exactly
            assert text(t) == stored
        else:  # PostgreSQL: the same instant, as COPY text
            assert datetime.fromisoformat(text(t)) == stored


def test_seeding_twice_appends_after_the_existing_jobs():
    before = enqueue("emails.send_welcome", {"user_id": 1})
    first = seed_jobs(1000, seed=3)
    second = seed_jobs(1000, seed=3)
    assert before.id < first.first_id
    assert first.last_id < second.first_id
    assert Job.objects.count() == 2001
    ids = Job.objects.exclude(id=before.id).aggregate(Min("id"), Max("id"))
    assert (ids["id__min"], ids["id__max"]) == (first.first_id, second.last_id)


def test_the_same_seed_gives_the_same_jobs():
    seed_jobs(300, seed=11, events=False)
    seed_jobs(300, seed=11, events=False)
    rows = list(Job.objects.order_by("id").values_list("job_type", "status", "priority", "tags"))
    assert rows[:300] == rows[300:]


def test_the_command_prints_a_one_line_summary():
    out = StringIO()
    call_command("seed_jobs", "--count", "1200", "--seed", "5", stdout=out)
    line = out.getvalue().strip()
    assert line.startswith("seeded 1,200 jobs (completed ")
    assert "failed" in line
    assert "waiting" in line
    assert line.endswith(" s")
    assert f"and {JobEvent.objects.count():,} events in " in line
    assert Job.objects.count() == 1200


def test_the_command_spreads_over_the_given_days():
    call_command("seed_jobs", "--count", "500", "--days", "1", "--no-events", stdout=StringIO())
    oldest = Job.objects.aggregate(Min("created_at"))["created_at__min"]
    assert oldest >= timezone.now() - timezone.timedelta(days=1)
    assert not JobEvent.objects.exists()


@pytest.mark.parametrize("count", ["0", "-5"])
def test_a_count_that_is_not_positive_is_rejected(count):
    with pytest.raises(CommandError, match=r"--count: invalid positive int value"):
        call_command("seed_jobs", "--count", count)
    assert not Job.objects.exists()


def test_a_spread_of_zero_days_is_rejected():
    with pytest.raises(CommandError, match=r"--days: invalid positive float value"):
        call_command("seed_jobs", "--count", "10", "--days", "0")


@pytest.mark.parametrize("days", ["nan", "inf", "5000"])
def test_a_spread_beyond_ten_years_is_rejected(days):
    with pytest.raises(CommandError, match="days must be more than 0 and at most 3650"):
        call_command("seed_jobs", "--count", "10", "--days", days)


def test_seed_jobs_rejects_a_count_of_zero():
    with pytest.raises(ValueError, match="count must be a positive number of jobs"):
        seed_jobs(0)


def test_every_payload_carries_a_customer_number_skewed_towards_the_first(seeded):
    customers = Counter(p["customer"] for p in Job.objects.values_list("payload", flat=True))
    assert sum(customers.values()) == N
    assert all(1 <= c < seed.CUSTOMERS for c in customers)
    assert customers[1] > N * 0.05  # log-uniform: customer 1 on 7.5% of the jobs
    assert len(customers) > N / 10  # and a long tail of rare ones


def test_each_rare_tenant_tag_is_on_about_a_thousandth_of_the_jobs():
    seed_jobs(30_000, events=False, seed=3)
    tagged = Counter(t for tags in Job.objects.values_list("tags", flat=True) for t in tags)
    for tag in seed.RARE_TAGS:
        assert 5 <= tagged[tag] <= 80, (tag, tagged[tag])  # 30 expected
