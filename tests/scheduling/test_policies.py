"""Queue and channel policies through the Python API: pause, resume, limits, channel
policies, validation (nothing written on bad input) and the live usage figures."""

import logging
import math
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import queue
from core.exceptions import InvalidPolicyError, QueueError
from core.models import ChannelPolicy, Job, Queue
from core.scheduling import policies
from tests.records import policy_snapshot

pytestmark = pytest.mark.django_db


def processing(queue_name="default", channel=None, n=1):
    for _ in range(n):
        job = queue.enqueue("test.echo", queue=queue_name, channel=channel)
        Job.objects.filter(pk=job.pk).update(status="processing", started_at=timezone.now())


# -- the API is core.queue's -----------------------------------------------------------------


def test_functions_are_part_of_core_queue():
    for name in (
        "pause_queue",
        "resume_queue",
        "set_queue_policy",
        "get_queue_policy",
        "list_queue_policies",
        "set_channel_policy",
        "clear_channel_policy",
        "get_channel_policy",
        "queue_usage",
        "channel_usage",
    ):
        assert name in queue.__all__
        assert getattr(queue, name) is getattr(policies, name)


def test_invalid_policy_error_is_a_queue_error_and_a_value_error():
    assert issubclass(InvalidPolicyError, QueueError)
    assert issubclass(InvalidPolicyError, ValueError)


# -- pause and resume ------------------------------------------------------------------------


def test_pause_creates_the_row_and_resume_clears_the_flag():
    row = queue.pause_queue("mail", actor="ann")
    assert isinstance(row, Queue)
    assert row.paused is True
    assert Queue.objects.get(name="mail").paused is True
    row = queue.resume_queue("mail", actor="ann")
    assert row.paused is False
    assert Queue.objects.get(name="mail").paused is False


def test_resume_creates_an_unpaused_row_when_missing():
    row = queue.resume_queue("fresh")
    assert row.paused is False
    assert Queue.objects.filter(name="fresh").count() == 1


def test_pause_twice_is_harmless():
    queue.pause_queue("mail")
    queue.pause_queue("mail")
    assert Queue.objects.get(name="mail").paused is True


def test_pausing_keeps_limits_and_setting_limits_keeps_the_pause():
    queue.set_queue_policy("mail", max_concurrency=3, rate_limit=10, rate_period=60)
    queue.pause_queue("mail")
    row = Queue.objects.get(name="mail")
    assert (row.paused, row.max_concurrency, row.rate_limit, row.rate_period) == (True, 3, 10, 60)
    queue.set_queue_policy("mail", max_concurrency=5)
    row = Queue.objects.get(name="mail")
    assert (row.paused, row.max_concurrency, row.rate_limit) == (True, 5, 10)
    queue.resume_queue("mail")
    assert Queue.objects.get(name="mail").max_concurrency == 5


def test_pause_never_touches_the_claims_recent_starts():
    queue.set_queue_policy("mail", rate_limit=5)
    Queue.objects.filter(name="mail").update(recent_starts=[1.0, 2.0])
    queue.pause_queue("mail")
    queue.set_queue_policy("mail", rate_limit=6)
    assert Queue.objects.get(name="mail").recent_starts == [1.0, 2.0]


@pytest.mark.parametrize(
    "name", ["", " ", None, 42, "has space", "-leading", "x" * 101, "<script>", "ü"]
)
@pytest.mark.parametrize("action", [queue.pause_queue, queue.resume_queue])
def test_pause_and_resume_refuse_invalid_queue_names(action, name):
    with pytest.raises(InvalidPolicyError, match=r"^queue: "):
        action(name)
    assert policy_snapshot() == ([], [])


def test_queue_names_follow_the_job_rules():
    for name in ("a", "mail.high", "tenant:42/jobs@eu-1", "x" * 100):
        queue.pause_queue(name)
    assert Queue.objects.count() == 4


# -- limits ----------------------------------------------------------------------------------


def test_set_queue_policy_creates_the_row_with_the_given_fields():
    row = queue.set_queue_policy("mail", max_concurrency=2)
    assert (row.max_concurrency, row.rate_limit, row.rate_period, row.paused) == (
        2,
        None,
        1.0,
        False,
    )
    assert queue.get_queue_policy("mail") == row


def test_only_the_given_fields_change():
    queue.set_queue_policy("mail", max_concurrency=2, rate_limit=100, rate_period=10)
    queue.set_queue_policy("mail", rate_limit=50)
    row = Queue.objects.get(name="mail")
    assert (row.max_concurrency, row.rate_limit, row.rate_period) == (2, 50, 10.0)
    queue.set_queue_policy("mail", rate_period=timedelta(minutes=1))
    row = Queue.objects.get(name="mail")
    assert (row.max_concurrency, row.rate_limit, row.rate_period) == (2, 50, 60.0)


def test_none_clears_a_limit():
    queue.set_queue_policy("mail", max_concurrency=2, rate_limit=100)
    queue.set_queue_policy("mail", max_concurrency=None)
    row = Queue.objects.get(name="mail")
    assert (row.max_concurrency, row.rate_limit) == (None, 100)
    queue.set_queue_policy("mail", rate_limit=None)
    assert Queue.objects.get(name="mail").rate_limit is None
    assert not Queue.objects.get(name="mail").is_limited


def test_set_queue_policy_updates_updated_at():
    row = queue.set_queue_policy("mail", max_concurrency=1)
    before = row.updated_at
    time.sleep(0.01)
    assert queue.set_queue_policy("mail", max_concurrency=2).updated_at > before


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"max_concurrency": -1}, "max_concurrency"),
        ({"max_concurrency": True}, "max_concurrency"),
        ({"max_concurrency": 1.5}, "max_concurrency"),
        ({"max_concurrency": "3"}, "max_concurrency"),
        ({"max_concurrency": 2**31}, "max_concurrency"),
        ({"rate_limit": 0}, "rate_limit"),
        ({"rate_limit": False}, "rate_limit"),
        ({"rate_limit": "10"}, "rate_limit"),
        ({"rate_period": 0}, "rate_period"),
        ({"rate_period": -1}, "rate_period"),
        ({"rate_period": None}, "rate_period"),
        ({"rate_period": math.inf}, "rate_period"),
        ({"rate_period": math.nan}, "rate_period"),
        ({"rate_period": 86_400.5}, "rate_period"),
        ({"rate_period": timedelta(days=2)}, "rate_period"),
        ({"rate_period": True}, "rate_period"),
        ({"rate_period": "1 fortnight"}, "rate_period"),
        # One bad field spoils the good ones: nothing is written.
        ({"max_concurrency": 3, "rate_limit": 0}, "rate_limit"),
    ],
)
def test_set_queue_policy_refuses_bad_values_and_writes_nothing(options, field):
    queue.set_queue_policy("mail", max_concurrency=7)
    before = policy_snapshot()
    with pytest.raises(InvalidPolicyError, match=rf"^{field}: "):
        queue.set_queue_policy("mail", **options)
    with pytest.raises(InvalidPolicyError, match=rf"^{field}: "):
        queue.set_queue_policy("other", **options)
    assert policy_snapshot() == before


def test_set_queue_policy_needs_a_field():
    with pytest.raises(InvalidPolicyError, match="nothing to set"):
        queue.set_queue_policy("mail")
    assert policy_snapshot() == ([], [])


def test_set_queue_policy_refuses_a_bad_name():
    with pytest.raises(InvalidPolicyError, match=r"^queue: "):
        queue.set_queue_policy("bad name", max_concurrency=1)
    assert policy_snapshot() == ([], [])


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        queue.set_queue_policy("mail", 3)
    with pytest.raises(TypeError):
        queue.set_channel_policy("c", 3)


def test_limits_up_to_the_largest_column_value_and_a_one_day_period():
    row = queue.set_queue_policy(
        "mail", max_concurrency=2**31 - 1, rate_limit=1, rate_period=86_400
    )
    assert (row.max_concurrency, row.rate_period) == (2**31 - 1, 86_400.0)
    assert queue.set_queue_policy("mail", rate_period=0.001).rate_period == 0.001


def test_get_and_list_queue_policies():
    assert queue.get_queue_policy("mail") is None
    assert queue.list_queue_policies() == []
    queue.pause_queue("b")
    queue.set_queue_policy("a", rate_limit=3)
    assert [q.name for q in queue.list_queue_policies()] == ["a", "b"]
    assert queue.get_queue_policy("a").rate_limit == 3
    assert queue.get_queue_policy("no.such.queue") is None
    with pytest.raises(InvalidPolicyError):
        queue.get_queue_policy(None)


# -- channels --------------------------------------------------------------------------------


def test_set_channel_policy_creates_and_replaces():
    row = queue.set_channel_policy("customer-1", max_concurrency=2, actor="ann")
    assert isinstance(row, ChannelPolicy)
    assert (row.max_concurrency, row.release_interval) == (2, None)
    row = queue.set_channel_policy("customer-1", release_interval=timedelta(seconds=30))
    # Replace: the max concurrency not given is gone.
    assert (row.max_concurrency, row.release_interval) == (None, 30.0)
    assert ChannelPolicy.objects.count() == 1
    assert queue.get_channel_policy("customer-1").release_interval == 30.0


def test_replacing_keeps_the_claims_last_start():
    queue.set_channel_policy("c", release_interval=10)
    started = timezone.now() - timedelta(seconds=3)
    ChannelPolicy.objects.filter(name="c").update(last_started_at=started)
    queue.set_channel_policy("c", release_interval=20, max_concurrency=1)
    assert ChannelPolicy.objects.get(name="c").last_started_at == started


def test_a_channel_policy_needs_a_limit():
    with pytest.raises(InvalidPolicyError, match="clear_channel_policy"):
        queue.set_channel_policy("c")
    with pytest.raises(InvalidPolicyError, match="clear_channel_policy"):
        queue.set_channel_policy("c", max_concurrency=None, release_interval=None)
    assert policy_snapshot() == ([], [])


@pytest.mark.parametrize(
    ("name", "options", "field"),
    [
        ("", {"max_concurrency": 1}, "channel"),
        (None, {"max_concurrency": 1}, "channel"),
        ("with space", {"max_concurrency": 1}, "channel"),
        ("x" * 201, {"max_concurrency": 1}, "channel"),
        ("<b>", {"max_concurrency": 1}, "channel"),
        ("c", {"max_concurrency": 0}, "max_concurrency"),
        ("c", {"max_concurrency": True}, "max_concurrency"),
        ("c", {"max_concurrency": 2.0}, "max_concurrency"),
        ("c", {"release_interval": 0}, "release_interval"),
        ("c", {"release_interval": -5}, "release_interval"),
        ("c", {"release_interval": math.inf}, "release_interval"),
        ("c", {"release_interval": 86_401}, "release_interval"),
        ("c", {"release_interval": "5 parsecs"}, "release_interval"),
        ("c", {"max_concurrency": 2, "release_interval": -1}, "release_interval"),
    ],
)
def test_set_channel_policy_refuses_bad_values_and_writes_nothing(name, options, field):
    queue.set_channel_policy("c", max_concurrency=9)
    before = policy_snapshot()
    with pytest.raises(InvalidPolicyError, match=rf"^{field}: "):
        queue.set_channel_policy(name, **options)
    assert policy_snapshot() == before


def test_channel_names_may_be_long_and_structured():
    queue.set_channel_policy("tenant:42/eu@x-" + "y" * 185, max_concurrency=1)
    assert ChannelPolicy.objects.count() == 1


def test_clear_channel_policy_says_whether_one_existed():
    queue.set_channel_policy("c", max_concurrency=1)
    assert queue.clear_channel_policy("c", actor="ann") is True
    assert queue.get_channel_policy("c") is None
    assert queue.clear_channel_policy("c") is False
    with pytest.raises(InvalidPolicyError, match=r"^channel: "):
        queue.clear_channel_policy("")
    with pytest.raises(InvalidPolicyError, match=r"^channel: "):
        queue.clear_channel_policy(None)


def test_clear_removes_a_policy_written_around_the_api():
    ChannelPolicy.objects.create(name="<odd name>", max_concurrency=1)
    assert queue.get_channel_policy("<odd name>").max_concurrency == 1
    assert queue.clear_channel_policy("<odd name>") is True
    assert not ChannelPolicy.objects.exists()


# -- the log ---------------------------------------------------------------------------------


def test_each_change_logs_one_line_with_its_actor(caplog):
    caplog.set_level(logging.INFO, logger="queueadmin.queue")
    queue.pause_queue("mail", actor="ann")
    queue.resume_queue("mail", actor="bob")
    queue.set_queue_policy("mail", max_concurrency=3, actor="cat")
    queue.set_channel_policy("c", release_interval=2, actor="dan")
    queue.clear_channel_policy("c", actor="eve")
    lines = [r.getMessage() for r in caplog.records if r.name == "queueadmin.queue"]
    assert len(lines) == 5
    assert "mail" in lines[0]
    assert "paused" in lines[0]
    assert "by=ann" in lines[0]
    assert "resumed" in lines[1]
    assert "by=bob" in lines[1]
    assert "max_concurrency=3" in lines[2]
    assert "by=cat" in lines[2]
    assert "release_interval=2.0" in lines[3]
    assert "by=dan" in lines[3]
    assert "cleared" in lines[4]
    assert "by=eve" in lines[4]


def test_refused_changes_log_nothing(caplog):
    caplog.set_level(logging.INFO, logger="queueadmin.queue")
    with pytest.raises(InvalidPolicyError):
        queue.set_queue_policy("mail", max_concurrency=0, actor="ann")
    assert not [r for r in caplog.records if r.name == "queueadmin.queue"]


# -- usage -----------------------------------------------------------------------------------


def test_queue_usage_counts_running_jobs_per_queue():
    processing("mail", n=3)
    processing("reports")
    queue.enqueue("test.echo", queue="mail")  # pending: not running
    queue.set_queue_policy("mail", max_concurrency=3)
    usage = queue.queue_usage(["mail", "reports", "idle"])
    assert usage["mail"].running == 3
    assert usage["mail"].full
    assert usage["mail"].max_concurrency == 3
    assert usage["reports"].running == 1
    assert usage["reports"].policy is None
    assert not usage["reports"].full
    assert usage["idle"].running == 0
    assert queue.queue_usage([]) == {}


def test_queue_usage_counts_starts_within_the_current_window():
    queue.set_queue_policy("mail", rate_limit=3, rate_period=10)
    now = time.time()
    Queue.objects.filter(name="mail").update(recent_starts=[now - 60, now - 20, now - 4, now - 1])
    usage = queue.queue_usage(["mail"])["mail"]
    assert usage.starts == 2
    assert not usage.rate_reached
    assert usage.next_start_in == 0
    Queue.objects.filter(name="mail").update(recent_starts=[now - 9, now - 4, now - 1])
    usage = queue.queue_usage(["mail"])["mail"]
    assert usage.starts == 3
    assert usage.rate_reached
    # The oldest start leaves the window about a second from now.
    assert 0 < usage.next_start_in <= 1.5


def test_queue_usage_ignores_junk_in_recent_starts():
    queue.set_queue_policy("mail", rate_limit=3)
    Queue.objects.filter(name="mail").update(recent_starts=["x", None, True, time.time()])
    assert queue.queue_usage(["mail"])["mail"].starts == 1


def test_a_paused_queue_says_so_in_its_usage():
    queue.pause_queue("mail")
    assert queue.queue_usage(["mail"])["mail"].paused
    assert not queue.queue_usage(["other"])["other"].paused


def test_channel_usage_counts_running_jobs_and_the_release_wait():
    processing("default", channel="c1", n=2)
    processing("other", channel="c2")
    queue.set_channel_policy("c1", max_concurrency=2, release_interval=30)
    ChannelPolicy.objects.filter(name="c1").update(
        last_started_at=timezone.now() - timedelta(seconds=10)
    )
    usage = queue.channel_usage(["c1", "c2", "c3"])
    assert usage["c1"].running == 2
    assert usage["c1"].full
    assert 15 < usage["c1"].next_start_in <= 20.5
    assert usage["c2"].running == 1
    assert usage["c2"].policy is None
    assert usage["c2"].next_start_in == 0
    assert usage["c3"].running == 0


def test_channel_usage_release_over_means_no_wait():
    queue.set_channel_policy("c1", release_interval=5)
    ChannelPolicy.objects.filter(name="c1").update(
        last_started_at=timezone.now() - timedelta(seconds=60)
    )
    assert queue.channel_usage(["c1"])["c1"].next_start_in == 0


@pytest.mark.parametrize("usage", [queue.queue_usage, queue.channel_usage])
def test_usage_takes_two_queries_whatever_the_number_of_names(usage):
    for i in range(20):
        queue.set_queue_policy(f"q{i}", max_concurrency=1)
        queue.set_channel_policy(f"q{i}", max_concurrency=1)
        processing(f"q{i}", channel=f"q{i}")
    with CaptureQueriesContext(connection) as one:
        usage(["q0"])
    with CaptureQueriesContext(connection) as many:
        result = usage([f"q{i}" for i in range(20)] + ["none"])
    assert len(one) == len(many) == 2
    assert all(result[f"q{i}"].running == 1 for i in range(20))


def test_a_rate_limit_above_the_kept_history_is_refused():
    with pytest.raises(InvalidPolicyError, match="rate_limit: must be between 1 and 1000"):
        policies.set_queue_policy("mail", rate_limit=1_001)
    assert not Queue.objects.exists()
