"""Hostile input to the Python API: refused with the library's own errors, never with a
database error, a RecursionError or an OverflowError, and nothing half-written.

Each case checks the error class and that the row counts of every table the call
could touch are unchanged.
"""

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from core import queue, streams
from core.drivers.rows import ClaimedJob
from core.durable import tokens
from core.durable.registry import handler
from core.exceptions import (
    InvalidJobError,
    InvalidPolicyError,
    InvalidScheduleError,
    InvalidStreamError,
    JobNotFound,
    ScheduleNotFound,
    TokenNotFound,
    TopicNotFound,
)
from core.models import (
    ChannelPolicy,
    ConsumerOffset,
    CronSchedule,
    Job,
    JobEvent,
    Message,
    Partition,
    Queue,
    TokenStatus,
    Topic,
    WaitToken,
)
from core.scheduling import cron, policies
from core.streams import eventlog
from core.validation import EARLIEST, LATEST, MAX_BIGINT, MAX_JSON_DEPTH, MAX_SECONDS, Checks
from core.worker import executor
from core.worker.retry import retry_delay
from tests.workers import run_burst

pytestmark = pytest.mark.django_db

TABLES = (
    Job,
    JobEvent,
    WaitToken,
    CronSchedule,
    Topic,
    Partition,
    Message,
    ConsumerOffset,
    Queue,
    ChannelPolicy,
)

NUL = "a\x00b"
SURROGATE = "a\ud800b"
BAD_TEXTS = pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in TABLES}


def nested(depth: int):
    """A JSON value of ``depth`` nested arrays."""
    value: list | int = 0
    for _ in range(depth):
        value = [value]
    return value


def cycle():
    value: list = []
    value.append(value)
    return value


#: JSON values no table may hold.
BAD_JSON = pytest.mark.parametrize(
    "bad",
    [
        {"text": NUL},
        {"text": SURROGATE},
        {NUL: 1},
        float("nan"),
        [float("inf")],
        {"x": -math.inf},
        nested(MAX_JSON_DEPTH + 1),
        nested(100_000),
        cycle(),
        {1, 2},
    ],
    ids=["nul", "surrogate", "nul-key", "nan", "inf", "-inf", "depth", "very-deep", "cycle", "set"],
)


def refused(error, call, *args, **kwargs):
    """Call and check it raises ``error`` and writes nothing."""
    before = counts()
    with pytest.raises(error) as raised:
        call(*args, **kwargs)
    assert counts() == before
    return raised.value


# -- the shared checks ------------------------------------------------------------------


def test_the_json_check_takes_exactly_the_documented_depth():
    check = Checks(InvalidJobError)
    assert check.json("p", nested(MAX_JSON_DEPTH)) == nested(MAX_JSON_DEPTH)
    assert check.json("p", {"a": nested(MAX_JSON_DEPTH - 1)})
    with pytest.raises(InvalidJobError, match="deeper than 200"):
        check.json("p", {"a": nested(MAX_JSON_DEPTH)})


def test_the_json_depth_check_walks_shared_parts_once():
    shared = nested(10)
    wide = [shared] * 10_000
    assert Checks(InvalidJobError).json("p", [wide, "x" * 300], as_stored=False)


def test_bounds_are_what_the_readme_says():
    assert MAX_SECONDS == 10 * 365 * 86_400
    assert (EARLIEST.year, LATEST.year, MAX_JSON_DEPTH) == (1970, 9000, 200)


# -- enqueue ------------------------------------------------------------------------------


@BAD_TEXTS
@pytest.mark.parametrize(
    "field", ["job_type", "queue", "channel", "tags", "idempotency_key", "dead_letter_job_type"]
)
def test_enqueue_refuses_unstorable_text(field, bad):
    if field == "job_type":
        refused(InvalidJobError, queue.enqueue, bad)
    else:
        value = [bad] if field == "tags" else bad
        refused(InvalidJobError, queue.enqueue, "t", **{field: value})


@BAD_JSON
def test_enqueue_refuses_payloads_no_table_holds(bad):
    refused(InvalidJobError, queue.enqueue, "t", bad)


@pytest.mark.parametrize("field", ["retry_delay", "retry_delay_max", "timeout", "delay"])
@pytest.mark.parametrize("value", [MAX_SECONDS + 1, 1e12, 1e300, math.inf, math.nan])
def test_enqueue_refuses_seconds_beyond_ten_years(field, value):
    refused(InvalidJobError, queue.enqueue, "t", **{field: value})


def test_enqueue_refuses_a_huge_timedelta():
    refused(InvalidJobError, queue.enqueue, "t", delay=timedelta(days=999_999_999))


@pytest.mark.parametrize(
    "run_at",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, tzinfo=UTC),
        datetime(9000, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    ],
)
def test_enqueue_refuses_run_at_out_of_range(run_at):
    refused(InvalidJobError, queue.enqueue, "t", run_at=run_at)


def test_enqueue_accepts_the_bounds_and_pages_can_compute_with_them():
    job = queue.enqueue(
        "t",
        nested(MAX_JSON_DEPTH),
        retry_delay=MAX_SECONDS,
        retry_delay_max=MAX_SECONDS,
        timeout=MAX_SECONDS,
        run_at=LATEST - timedelta(seconds=1),
    )
    job = Job.objects.get(pk=job.pk)
    assert job.payload == nested(MAX_JSON_DEPTH)
    assert job.run_at + timedelta(seconds=job.retry_delay_max) < datetime.max.replace(tzinfo=UTC)
    delayed = queue.enqueue("t", delay=MAX_SECONDS, run_at=None)
    assert Job.objects.get(pk=delayed.pk).run_at > timezone.now()


def test_enqueue_refuses_a_dependency_id_no_column_holds():
    refused(InvalidJobError, queue.enqueue, "t", depends_on=[MAX_BIGINT + 1])


def test_a_nul_idempotency_key_writes_nothing():
    error = refused(InvalidJobError, queue.enqueue, "t", idempotency_key="k\x00")
    assert "idempotency_key" in str(error)


def test_enqueue_many_writes_nothing_when_one_spec_is_hostile():
    specs = [{"job_type": "ok"}, {"job_type": "t", "payload": nested(500)}]
    error = refused(InvalidJobError, queue.enqueue_many, specs)
    assert "specs[1]" in str(error)
    refused(InvalidJobError, queue.enqueue_many, [{"job_type": "ok"}, {"job_type": NUL}])
    refused(InvalidJobError, queue.enqueue_many, [{"job_type": "ok"}, {"job_type": "t", 3: 4}])
    for specs in (7, "job_type", {"job_type": "t"}, None):
        refused(InvalidJobError, queue.enqueue_many, specs)


# -- edits ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"job_type": NUL},
        {"queue": SURROGATE},
        {"tags": [NUL]},
        {"payload": nested(MAX_JSON_DEPTH + 1)},
        {"payload": {"x": math.nan}},
        {"retry_delay": 1e12},
        {"retry_delay_max": 1e300},
        {"timeout": math.inf},
        {"delay": 1e300},
        {"run_at": datetime(9999, 1, 1, tzinfo=UTC)},
    ],
    ids=lambda c: next(iter(c)),
)
def test_edit_job_and_edit_jobs_refuse_hostile_changes(changes):
    job = queue.enqueue("t", {"n": 1})
    before = Job.objects.get(pk=job.pk).__dict__.copy()
    refused(InvalidJobError, queue.edit_job, job.pk, **changes)
    refused(InvalidJobError, queue.edit_jobs, {"job_type": "t"}, **changes)
    after = Job.objects.get(pk=job.pk).__dict__
    assert {k: v for k, v in after.items() if k != "_state"} == {
        k: v for k, v in before.items() if k != "_state"
    }


@pytest.mark.parametrize("job_id", [MAX_BIGINT + 1, -(2**70), str(10**30)])
def test_one_job_calls_refuse_an_id_no_column_holds(job_id):
    queue.enqueue("t")
    for call in (queue.get_job, queue.retry_job, queue.cancel_job, queue.run_job_now):
        refused(InvalidJobError, call, job_id)
    refused(InvalidJobError, queue.edit_job, job_id, priority=1)
    refused(InvalidJobError, queue.find_jobs, cursor=job_id)


# -- filters --------------------------------------------------------------------------------


@BAD_TEXTS
@pytest.mark.parametrize(
    "name", ["job_type", "queue", "channel", "tags", "idempotency_key", "status"]
)
def test_filters_refuse_unstorable_text(name, bad):
    queue.enqueue("t", tags=["x"])
    value = [bad] if name in ("tags", "queue") else bad
    refused(InvalidJobError, queue.find_jobs, **{name: value})
    refused(InvalidJobError, queue.cancel_jobs, **{name: value})
    refused(InvalidJobError, queue.retry_jobs, **{name: value})
    refused(InvalidJobError, queue.edit_jobs, {name: value}, priority=5)


def test_filters_take_any_aware_date_even_beyond_what_utc_holds():
    job = queue.enqueue("t")
    first = datetime(1, 1, 1, tzinfo=timezone.get_fixed_timezone(300))
    last = datetime(9999, 12, 31, 23, 59, tzinfo=timezone.get_fixed_timezone(-300))
    assert [j.pk for j in queue.find_jobs(created_after=first, run_at_before=last)] == [job.pk]
    assert queue.find_jobs(created_before=first) == []
    assert queue.find_jobs(run_at_after=last) == []
    assert queue.cancel_jobs(created_before=first) == 0
    refused(InvalidJobError, queue.find_jobs, created_after=datetime(2020, 1, 1))  # naive


def test_an_id_filter_no_column_holds_matches_nothing():
    job = queue.enqueue("t")
    assert queue.find_jobs(ids=[MAX_BIGINT + 1, -(2**64)]) == []
    assert [j.pk for j in queue.find_jobs(ids=[job.pk, 2**80])] == [job.pk]
    assert queue.cancel_jobs(ids=[2**80]) == 0


# -- the retry time -------------------------------------------------------------------------


@pytest.mark.parametrize("stored", [1e12, 1e300, math.inf])
def test_the_retry_delay_never_passes_ten_years(stored):
    for attempts in (1, 2, 50, 5000):
        delay = retry_delay(attempts, base=stored, cap=stored)
        assert 0 <= delay <= MAX_SECONDS
        assert timezone.now() + timedelta(seconds=delay)  # no OverflowError
    assert retry_delay(3, base=math.nan, cap=math.nan) == 0.0


@pytest.mark.django_db(transaction=True)
def test_a_job_stored_with_huge_retry_settings_is_retried_within_ten_years():
    job = queue.enqueue("test.fail", max_attempts=3)
    # As a row written before the bounds existed (or around the API) may hold.
    Job.objects.filter(pk=job.pk).update(retry_delay=1e300, retry_delay_max=1e300)
    run_burst()
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("pending", 1)
    assert job.run_at <= timezone.now() + timedelta(seconds=MAX_SECONDS)


@pytest.mark.django_db(transaction=True)
def test_a_huge_defer_is_capped_at_ten_years():
    job = queue.enqueue("test.defer", {"until": 2, "delay": 1e300})
    run_burst()
    job.refresh_from_db()
    assert job.status == "pending"
    assert timezone.now() < job.run_at <= timezone.now() + timedelta(seconds=MAX_SECONDS)


# -- outputs ----------------------------------------------------------------------------------

OUTPUTS = {
    "hostile.nul_output": {"text": NUL},
    "hostile.deep_output": nested(MAX_JSON_DEPTH + 1),
    "hostile.surrogate_output": [SURROGATE],
}
for _job_type, _output in OUTPUTS.items():
    handler(_job_type)(lambda payload, ctx, _output=_output: _output)


def _claimed(job_type: str) -> ClaimedJob:
    return ClaimedJob(1, job_type, "default", None, 1, 1, 1.0, "fixed", 1.0, None, False, None)


@pytest.mark.parametrize("job_type", sorted(OUTPUTS))
def test_an_output_no_table_holds_fails_the_attempt(job_type):
    outcome = executor.completed(_claimed(job_type), OUTPUTS[job_type])
    assert (outcome.status, outcome.output) == ("failed", None)
    assert "not JSON-serialisable or storable" in outcome.error["message"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_fails_a_handler_whose_output_no_table_holds():
    jobs = [queue.enqueue(job_type, max_attempts=1) for job_type in sorted(OUTPUTS)]
    run_burst()
    for job in jobs:
        job.refresh_from_db()
        assert (job.status, job.output) == ("failed", None)


# -- wait tokens ------------------------------------------------------------------------------


def test_create_token_for_a_missing_job_raises_job_not_found():
    refused(JobNotFound, tokens.create_token, 987_654)
    refused(JobNotFound, queue.create_token, 987_654, timeout=60)


@pytest.mark.parametrize(
    "job_id", [MAX_BIGINT + 1, "1", None, 1.5, True], ids=["huge", "str", "none", "float", "bool"]
)
def test_create_token_refuses_a_bad_job_id(job_id):
    refused(InvalidJobError, tokens.create_token, job_id)


@pytest.mark.parametrize(
    "options",
    [{"tags": [NUL]}, {"tags": [SURROGATE]}, {"timeout": 1e12}, {"timeout": math.inf}],
    ids=["nul-tag", "surrogate-tag", "huge-timeout", "inf-timeout"],
)
def test_create_token_refuses_hostile_options(options):
    job = queue.enqueue("t")
    refused(InvalidJobError, tokens.create_token, job.pk, **options)


@BAD_JSON
def test_complete_token_refuses_data_no_table_holds(bad):
    token = tokens.create_token(queue.enqueue("t").pk, timeout=60)
    refused(InvalidJobError, queue.complete_token, token.pk, bad)
    token.refresh_from_db()
    assert (token.status, token.output) == (TokenStatus.WAITING, None)


@BAD_TEXTS
def test_token_ids_no_table_holds_are_not_found(bad):
    tokens.create_token(queue.enqueue("t").pk)
    refused(TokenNotFound, queue.complete_token, bad, {"ok": True})
    refused(TokenNotFound, queue.expire_token, bad)
    refused(TokenNotFound, queue.get_token, bad)


# -- streams ----------------------------------------------------------------------------------


@BAD_JSON
def test_publish_to_a_missing_topic_with_bad_data_leaves_no_topic(bad):
    error = refused(InvalidStreamError, streams.publish, "new", bad)
    assert "data" in str(error)
    assert not Topic.objects.filter(name="new").exists()


def test_publish_many_with_one_bad_message_leaves_no_topic():
    messages = [{"data": 1}, {"data": 2, "key": NUL}]
    refused(InvalidStreamError, streams.publish_many, "new", messages)
    refused(InvalidStreamError, streams.publish_many, "new", [{"data": 1, "partition": 1024}])
    refused(InvalidStreamError, streams.publish_many, "new", [{"data": 1, "partition": 2**70}])
    refused(InvalidStreamError, streams.publish_many, "new", "not a list")
    assert streams.publish_many("new", []) == []
    assert not Topic.objects.exists()


@BAD_TEXTS
def test_publish_refuses_unstorable_topic_names_and_keys(bad):
    refused(InvalidStreamError, streams.publish, bad, 1)
    refused(InvalidStreamError, streams.publish, "t", 1, key=bad)
    refused(InvalidStreamError, streams.create_topic, bad)
    streams.create_topic("t")
    refused(InvalidStreamError, streams.publish, "t", 1, key=bad)


@BAD_TEXTS
def test_reading_calls_refuse_unstorable_text(bad):
    streams.create_topic("t")
    streams.publish("t", 1)
    refused(TopicNotFound, streams.read, bad)
    refused(TopicNotFound, streams.delete_topic, bad)
    refused(TopicNotFound, streams.get_topic, bad)
    refused(InvalidStreamError, streams.fetch, bad, "t")
    refused(InvalidStreamError, streams.commit, bad, "t", 0, 1)
    refused(InvalidStreamError, streams.committed, bad, "t")


def test_numbers_no_column_holds_are_refused():
    streams.create_topic("t")
    refused(InvalidStreamError, streams.read, "t", after=2**63)
    refused(InvalidStreamError, streams.commit, "g", "t", 0, 2**64)
    refused(InvalidStreamError, streams.create_topic, "u", retention_messages=2**63)
    refused(InvalidStreamError, streams.create_topic, "u", retention_seconds=1e300)
    refused(InvalidStreamError, streams.create_topic, "u", retention_seconds=math.inf)


@BAD_TEXTS
def test_the_event_log_refuses_unstorable_readers_and_data(bad):
    refused(InvalidStreamError, eventlog.push, "events", 0, bad, {"ok": True})
    refused(InvalidStreamError, eventlog.push, "events", 0, "me", {"text": bad})
    refused(InvalidStreamError, eventlog.push, "events", 0, "me", nested(MAX_JSON_DEPTH + 1))
    refused(InvalidStreamError, eventlog.push, "events", streams.MAX_PARTITIONS, "me", {"ok": True})
    assert not Topic.objects.exists()


def test_event_log_json_nested_too_deeply_is_refused():
    with pytest.raises(InvalidStreamError):
        eventlog.parse_data("[" * 100_000 + "]" * 100_000, "stdin")


# -- cron schedules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "options"),
    [
        ((NUL, "* * * * *", "t"), {}),
        ((SURROGATE, "* * * * *", "t"), {}),
        (("n", "* * * * *\x00", "t"), {}),
        (("n", "* * * * " + ",".join(["1"] * 200), "t"), {}),
        (("n", "* * * * *", NUL), {}),
        (("n", "* * * * *", "t"), {"timezone": "UTC\x00"}),
        (("n", "* * * * *", "t"), {"timezone": SURROGATE}),
        (("n", "* * * * *", "t"), {"timezone": "Europe/" + "x" * 300}),
        (("n", "* * * * *", "t", {"x": NUL}), {}),
        (("n", "* * * * *", "t", nested(MAX_JSON_DEPTH + 1)), {}),
        (("n", "* * * * *", "t", {"x": math.nan}), {}),
        (("n", "* * * * *", "t"), {"tags": [NUL]}),
        (("n", "* * * * *", "t"), {"queue": SURROGATE}),
        (("n", "* * * * *", "t"), {"retry_delay": 1e12}),
        (("n", "* * * * *", "t"), {"timeout": timedelta(days=99_999)}),
    ],
)
def test_add_cron_refuses_hostile_input(args, options):
    refused(InvalidScheduleError, queue.add_cron, *args, **options)


@pytest.mark.parametrize(
    "changes",
    [
        {"expression": NUL},
        {"timezone": NUL},
        {"job_type": SURROGATE},
        {"payload": {"x": NUL}},
        {"payload": nested(MAX_JSON_DEPTH + 1)},
        {"tags": [SURROGATE]},
        {"retry_delay_max": 1e300},
    ],
    ids=lambda c: next(iter(c)),
)
def test_edit_cron_refuses_hostile_changes_and_keeps_the_schedule(changes):
    queue.add_cron("n", "0 * * * *", "t", {"a": 1})
    before = CronSchedule.objects.values().get(name="n")
    refused(InvalidScheduleError, queue.edit_cron, "n", **changes)
    assert CronSchedule.objects.values().get(name="n") == before


@BAD_TEXTS
def test_schedule_names_no_table_holds_are_not_found(bad):
    queue.add_cron("n", "0 * * * *", "t")
    for call in (
        queue.get_cron,
        queue.pause_cron,
        queue.resume_cron,
        queue.remove_cron,
        queue.run_cron_now,
    ):
        refused(ScheduleNotFound, call, bad)
    refused(ScheduleNotFound, queue.edit_cron, bad, priority=3)
    refused(ScheduleNotFound, cron.get_cron, bad)


# -- queue and channel policies ---------------------------------------------------------------


@BAD_TEXTS
def test_policies_refuse_unstorable_names(bad):
    refused(InvalidPolicyError, policies.pause_queue, bad)
    refused(InvalidPolicyError, policies.set_queue_policy, bad, max_concurrency=1)
    refused(InvalidPolicyError, policies.set_channel_policy, bad, max_concurrency=1)
    refused(InvalidPolicyError, policies.get_queue_policy, bad)
    refused(InvalidPolicyError, policies.get_channel_policy, bad)
    refused(InvalidPolicyError, policies.clear_channel_policy, bad)


def test_usage_of_unstorable_names_is_empty():
    policies.pause_queue("q")
    assert list(policies.queue_usage([NUL, SURROGATE, "q"])) == ["q"]
    assert policies.channel_usage([NUL]) == {}
