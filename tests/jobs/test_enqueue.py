"""enqueue and enqueue_many: defaults, options, idempotency, transactions, bulk inserts."""

import gc
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import queue
from core.drivers.rows import KIND_FIELDS
from core.exceptions import InvalidJobError
from core.jobs import enqueue as enqueue_module
from core.jobs import spec
from core.models import EventType, Job, JobEvent, JobStatus

pytestmark = pytest.mark.django_db


def test_enqueue_stores_a_pending_job_with_documented_defaults():
    before = timezone.now()
    job = queue.enqueue("email.send", {"to": "a@example.com"})
    job = Job.objects.get(pk=job.pk)
    assert job.job_type == "email.send"
    assert job.payload == {"to": "a@example.com"}
    assert job.status == JobStatus.PENDING
    assert (job.queue, job.priority, job.attempts, job.max_attempts) == ("default", 0, 0, 3)
    assert (job.retry_delay, job.retry_backoff, job.retry_delay_max) == (
        10.0,
        "exponential",
        3600.0,
    )
    assert before <= job.run_at <= timezone.now()
    assert job.tags == []
    assert job.idempotency_key is None
    assert job.timeout is None


def test_enqueue_stores_every_option():
    other = queue.enqueue("first")
    run_at = timezone.now() + timedelta(hours=1)
    job = queue.enqueue(
        "report.build",
        [1, 2, 3],
        queue="reports",
        priority=-7,
        run_at=run_at,
        max_attempts=5,
        retry_delay=2.5,
        retry_backoff="fixed",
        retry_delay_max=60,
        timeout=30,
        force_kill_on_timeout=True,
        tags=["tenant:1", "nightly"],
        idempotency_key="report-2026-11-22",
        channel="tenant-1",
        depends_on=[other.pk],
        dead_letter_job_type="report.dead",
    )
    stored = Job.objects.get(pk=job.pk)
    assert stored.payload == [1, 2, 3]
    assert (stored.queue, stored.priority, stored.run_at) == ("reports", -7, run_at)
    assert (stored.max_attempts, stored.retry_delay, stored.retry_backoff) == (5, 2.5, "fixed")
    assert (stored.retry_delay_max, stored.timeout, stored.force_kill_on_timeout) == (60, 30, True)
    assert stored.tags == ["tenant:1", "nightly"]
    assert stored.idempotency_key == "report-2026-11-22"
    assert stored.channel == "tenant-1"
    assert stored.depends_on == [other.pk]
    assert stored.dead_letter_job_type == "report.dead"


def test_enqueue_with_delay_schedules_run_at_that_far_ahead():
    before = timezone.now()
    job = queue.enqueue("later", delay=timedelta(minutes=5))
    assert before + timedelta(minutes=5) <= job.run_at <= timezone.now() + timedelta(minutes=5)
    assert queue.enqueue("later", delay=90).run_at >= before + timedelta(seconds=90)


def test_enqueue_shows_an_added_event_made_from_created_at_without_storing_a_row():
    job = queue.enqueue("x")
    (added,) = queue.job_events(job)
    assert (added.type, added.at, added.metadata) == (EventType.ADDED, job.created_at, {})
    assert not JobEvent.objects.exists()


def test_a_stored_added_event_is_not_shown_twice():
    job = queue.enqueue("x")
    JobEvent.objects.create(job=job, type=EventType.ADDED, metadata={"seeded": True})
    assert [(e.type, e.metadata) for e in queue.job_events(job)] == [
        (EventType.ADDED, {"seeded": True})
    ]


def test_a_history_cut_at_its_limit_does_not_make_an_added_event():
    job = queue.enqueue("x")
    for priority in (1, 2):
        queue.edit_job(job.pk, priority=priority)
    assert [e.type for e in queue.job_events(job, limit=2)] == ["edited", "edited"]
    assert [e.type for e in queue.job_events(job, limit=3)] == ["edited", "edited", "added"]


def test_enqueue_deduplicates_tags_keeping_their_order():
    assert queue.enqueue("x", tags=["b", "a", "b"]).tags == ["b", "a"]


def test_enqueue_with_existing_idempotency_key_returns_that_job_and_writes_nothing():
    first = queue.enqueue("x", {"n": 1}, idempotency_key="k1")
    second = queue.enqueue("x", {"n": 2}, idempotency_key="k1")
    assert second.pk == first.pk
    assert second.payload == {"n": 1}
    assert (first.deduplicated, second.deduplicated) == (False, True)
    assert Job.objects.count() == 1


def test_enqueue_with_a_taken_key_inside_a_transaction_keeps_the_transaction_usable():
    winner = queue.enqueue("x", idempotency_key="taken")
    with transaction.atomic():
        job = queue.enqueue("x", idempotency_key="taken")
        other = queue.enqueue("y")  # the transaction was not broken by the conflict
    assert job.pk == winner.pk
    assert job.deduplicated
    assert Job.objects.filter(pk=other.pk).exists()


def test_enqueue_returns_a_job_equal_to_what_was_stored():
    job = queue.enqueue("x", {"a": [1, 2]}, tags=["t"], priority=3, timeout=5)
    stored = Job.objects.get(pk=job.pk)
    for field in Job._meta.concrete_fields:
        assert getattr(job, field.attname) == getattr(stored, field.attname), field.name


class RollBack(Exception):
    pass


def enqueue_then_fail():
    with transaction.atomic():
        queue.enqueue("x", {"a": 1})
        queue.enqueue_many([{"job_type": "y"}, {"job_type": "z"}])
        assert Job.objects.count() == 3
        raise RollBack


def test_enqueue_inside_a_rolled_back_transaction_leaves_no_job_and_no_event():
    with pytest.raises(RollBack):
        enqueue_then_fail()
    assert Job.objects.count() == 0
    assert JobEvent.objects.count() == 0


def test_enqueue_inside_a_committed_transaction_keeps_the_job():
    with transaction.atomic():
        job = queue.enqueue("x")
    assert Job.objects.filter(pk=job.pk).exists()


def test_enqueue_rejects_unknown_dependency_ids():
    with pytest.raises(InvalidJobError, match="depends_on: no job with id 999"):
        queue.enqueue("x", depends_on=[999])
    assert Job.objects.count() == 0


def test_enqueue_many_returns_jobs_in_input_order_with_ids():
    specs = [{"job_type": f"t{i}", "payload": {"i": i}, "priority": i % 5} for i in range(50)]
    jobs = queue.enqueue_many(specs)
    assert [job.job_type for job in jobs] == [f"t{i}" for i in range(50)]
    assert all(job.pk for job in jobs)
    stored = Job.objects.in_bulk([job.pk for job in jobs])
    assert [stored[job.pk].payload for job in jobs] == [{"i": i} for i in range(50)]


def test_enqueue_many_inserts_its_jobs_in_one_statement(django_assert_max_num_queries):
    specs = [{"job_type": "bulk", "payload": i} for i in range(300)]
    # One statement (with the NOTIFY on PostgreSQL); no event rows (see job_events).
    with django_assert_max_num_queries(8) as captured:
        queue.enqueue_many(specs)
    work = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(work) == 1
    assert sum('INSERT INTO "queueadmin_job" ' in sql for sql in work) == 1
    assert Job.objects.count() == 300
    assert JobEvent.objects.count() == 0


def test_enqueue_many_stores_each_jobs_own_options_when_their_sets_alternate():
    other = queue.enqueue("first")
    plain = {"job_type": "a"}
    every = {
        "job_type": "b",
        "queue": "reports",
        "channel": "tenant-1",
        "priority": -7,
        "max_attempts": 5,
        "retry_delay": 2.5,
        "retry_backoff": "fixed",
        "retry_delay_max": 60.0,
        "timeout": 30.0,
        "force_kill_on_timeout": True,
        "dead_letter_job_type": "b.dead",
        "lock_timeout": 90.0,
        "tags": ["t"],
        "depends_on": [other.pk],
    }
    later = timezone.now() + timedelta(hours=1)
    specs = [
        {**(every if n % 2 else plain), "payload": {"n": n}, "idempotency_key": f"k{n}"}
        for n in range(6)
    ]
    specs[4]["run_at"] = later
    jobs = queue.enqueue_many(specs)
    stored = Job.objects.in_bulk([job.pk for job in jobs])
    for n, job in enumerate(jobs):
        row = stored[job.pk]
        expected = every if n % 2 else {**spec.job_defaults(), **plain}
        assert {c: getattr(row, c) for c in KIND_FIELDS} == {c: expected[c] for c in KIND_FIELDS}
        assert (row.payload, row.idempotency_key) == ({"n": n}, f"k{n}")
    assert stored[jobs[4].pk].run_at == later
    assert stored[jobs[2].pk].run_at < later


@pytest.mark.parametrize("many", [False, True])
def test_only_jobs_with_an_idempotency_key_are_inserted_with_on_conflict(
    many, django_assert_max_num_queries
):
    def insert_sql(**options):
        with django_assert_max_num_queries(8) as captured:
            if many:
                queue.enqueue_many([{"job_type": "x", **options}] * 2)
            else:
                queue.enqueue("x", **options)
        (sql,) = [q["sql"] for q in captured.captured_queries if "INSERT INTO" in q["sql"]]
        return sql

    assert "ON CONFLICT" not in insert_sql()
    assert "ON CONFLICT" in insert_sql(idempotency_key="k")
    assert Job.objects.filter(idempotency_key="k").count() == 1


def test_enqueue_many_splits_very_large_lists_into_a_few_inserts(
    django_assert_max_num_queries, monkeypatch
):
    monkeypatch.setattr(enqueue_module, "INSERT_CHUNK", 1000)
    specs = [{"job_type": "bulk"} for _ in range(2500)]
    with django_assert_max_num_queries(20) as captured:
        jobs = queue.enqueue_many(specs)
    inserts = [
        q["sql"] for q in captured.captured_queries if 'INSERT INTO "queueadmin_job" ' in q["sql"]
    ]
    assert len(inserts) == 3
    assert len({job.pk for job in jobs}) == 2500
    assert [job.pk for job in jobs] == sorted(job.pk for job in jobs)


def test_enqueue_many_returns_jobs_equal_to_what_was_stored():
    later = timezone.now() + timedelta(hours=1)
    jobs = queue.enqueue_many([{"job_type": "a"}, {"job_type": "b", "run_at": later}])
    for job in jobs:
        stored = Job.objects.get(pk=job.pk)
        assert (job.run_at, job.created_at, job.updated_at) == (
            stored.run_at,
            stored.created_at,
            stored.updated_at,
        )
        assert job.created_at.utcoffset() == timedelta(0)
    assert jobs[1].run_at == later


def test_jobs_of_one_enqueue_many_do_not_share_their_lists():
    first, second = queue.enqueue_many([{"job_type": "a"}, {"job_type": "b"}])
    first.tags.append("mine")
    first.depends_on.append(1)
    assert (second.tags, second.depends_on) == ([], [])


@pytest.mark.parametrize("enabled", [True, False])
def test_enqueue_many_leaves_the_cycle_collector_as_it_found_it(enabled):
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        queue.enqueue_many([{"job_type": "a"}])
        with pytest.raises(InvalidJobError):
            queue.enqueue_many([{"job_type": "a", "priority": 500}])
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_deleting_a_job_through_the_orm_deletes_its_events():
    job = queue.enqueue("x")
    other = queue.enqueue("x")
    JobEvent.objects.create(job=job, type=EventType.PROGRESS)
    JobEvent.objects.create(job=other, type=EventType.PROGRESS)
    Job.objects.get(pk=job.pk).delete()
    assert not JobEvent.objects.filter(job_id=job.pk).exists()
    assert JobEvent.objects.filter(job_id=other.pk).count() == 1


def test_enqueue_many_resolves_existing_and_repeated_idempotency_keys():
    existing = queue.enqueue("x", idempotency_key="old")
    jobs = queue.enqueue_many(
        [
            {"job_type": "x", "idempotency_key": "old"},
            {"job_type": "x", "idempotency_key": "new"},
            {"job_type": "x", "idempotency_key": "new"},
            {"job_type": "x"},
        ]
    )
    assert jobs[0].pk == existing.pk
    assert jobs[0].deduplicated
    assert jobs[1].pk == jobs[2].pk
    assert not jobs[1].deduplicated
    assert Job.objects.count() == 3


def test_enqueue_many_validates_every_spec_before_writing_anything():
    with pytest.raises(InvalidJobError, match=r"specs\[1\]: priority"):
        queue.enqueue_many([{"job_type": "ok"}, {"job_type": "bad", "priority": 500}])
    assert Job.objects.count() == 0


def test_enqueue_many_rejects_a_spec_without_job_type():
    with pytest.raises(InvalidJobError, match=r"specs\[0\]: must be a mapping with a job_type"):
        queue.enqueue_many([{"payload": 1}])


def test_enqueue_many_of_nothing_returns_an_empty_list():
    assert queue.enqueue_many([]) == []


def test_database_refuses_a_priority_out_of_range_written_around_the_api():
    with pytest.raises(IntegrityError):
        Job.objects.create(job_type="x", run_at=timezone.now(), priority=1000)


@pytest.mark.parametrize("text", ["nul\x00", "lone \ud800 surrogate"])
def test_a_payload_string_postgresql_cannot_store_is_refused_on_every_database(text):
    with pytest.raises(InvalidJobError, match="payload: strings may not contain NUL"):
        queue.enqueue("t", {"note": [text]})
    assert not Job.objects.exists()


def test_characters_beyond_the_basic_plane_are_kept():
    job = queue.enqueue("t", {"note": "😀 ok"})
    assert Job.objects.get(pk=job.pk).payload == {"note": "😀 ok"}


@pytest.fixture
def clean_job_calls(monkeypatch) -> list[dict]:
    """The keyword arguments of each spec.clean_job call from here on."""
    calls = []
    checked = spec.clean_job
    monkeypatch.setattr(spec, "clean_job", lambda *a, **kw: calls.append(kw) or checked(*a, **kw))
    return calls


def test_enqueue_many_checks_the_options_its_specs_share_once(clean_job_calls):
    specs = [{"job_type": "x", "queue": "q", "payload": {"n": n}} for n in range(50)]
    specs += [{"job_type": "x", "queue": "other", "idempotency_key": f"k{n}"} for n in range(50)]
    jobs = queue.enqueue_many(specs)
    assert len(clean_job_calls) == 2
    assert [job.payload for job in jobs[:50]] == [{"n": n} for n in range(50)]
    assert [job.idempotency_key for job in jobs[50:]] == [f"k{n}" for n in range(50)]
    assert {job.queue for job in jobs[:50]} == {"q"}
    assert {job.queue for job in jobs[50:]} == {"other"}
    assert Job.objects.get(payload__n=7).queue == "q"
    assert Job.objects.get(idempotency_key="k7").queue == "other"


def test_enqueue_many_checks_a_spec_with_a_list_option_by_itself(clean_job_calls):
    jobs = queue.enqueue_many([{"job_type": "x", "tags": ["a"]}, {"job_type": "x", "tags": ["b"]}])
    assert len(clean_job_calls) == 2
    assert [job.tags for job in jobs] == [["a"], ["b"]]
    with pytest.raises(InvalidJobError, match=r"specs\[1\]: tags"):
        queue.enqueue_many([{"job_type": "x", "tags": ["a"]}, {"job_type": "x", "tags": [""]}])


def test_enqueue_many_refuses_a_bad_payload_after_the_same_options():
    specs = [{"job_type": "x", "queue": "q", "payload": 1}] * 3
    specs.append({"job_type": "x", "queue": "q", "payload": float("nan")})
    with pytest.raises(InvalidJobError, match=r"specs\[3\]: payload: must be JSON"):
        queue.enqueue_many(specs)
    assert Job.objects.count() == 0
