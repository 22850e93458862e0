"""prune_streams: maintenance applies the topics' retention to their messages."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import maintenance, streams
from core.maintenance import prune_streams
from core.maintenance.base import TaskRun
from core.models import ConsumerOffset, Message, Partition
from tests.maintenance.conftest import run_task

pytestmark = pytest.mark.django_db


def publish(topic: str, count: int, partition: int = 0) -> None:
    streams.publish_many(topic, [{"data": i, "partition": partition} for i in range(count)])


def offsets(topic: str, partition: int = 0) -> list[int]:
    return list(
        Message.objects.filter(topic_id=topic, partition=partition)
        .order_by("offset")
        .values_list("offset", flat=True)
    )


def age(topic: str, upto: int, hours: float, partition: int = 0) -> None:
    """Make the partition's messages up to offset ``upto`` ``hours`` old."""
    Message.objects.filter(topic_id=topic, partition=partition, offset__lte=upto).update(
        created_at=timezone.now() - timedelta(hours=hours)
    )


def test_age_retention_deletes_the_messages_older_than_retention_seconds():
    streams.create_topic("clicks", retention_seconds=3600)
    publish("clicks", 5)
    age("clicks", 3, hours=2)
    ids = dict(Message.objects.filter(offset__gt=3).values_list("offset", "id"))
    result = run_task("prune_streams")
    assert result.ok
    assert result.counts == {"messages": 3}
    assert str(result).startswith("deleted 3 messages from 1 topic (")
    assert offsets("clicks") == [4, 5]
    # Offsets (and rows) of the kept messages never change, nor does the end.
    assert dict(Message.objects.values_list("offset", "id")) == ids
    assert streams.end_offset("clicks") == 5
    assert run_task("prune_streams").summary == "deleted 0 messages"


def test_count_retention_keeps_the_newest_messages_of_each_partition():
    streams.create_topic("metrics", partitions=3, retention_messages=3)
    publish("metrics", 10, partition=0)
    publish("metrics", 2, partition=1)  # under the cap: all kept
    result = run_task("prune_streams")
    assert result.counts == {"messages": 7}
    assert offsets("metrics", 0) == [8, 9, 10]
    assert offsets("metrics", 1) == [1, 2]
    assert offsets("metrics", 2) == []
    assert [streams.end_offset("metrics", n) for n in range(3)] == [10, 2, 0]


def test_both_rules_at_once_delete_what_either_says():
    streams.create_topic("both", retention_seconds=60, retention_messages=5)
    publish("both", 8)
    age("both", 2, hours=1)  # 1, 2 too old; 1..3 over the cap
    assert run_task("prune_streams").counts == {"messages": 3}
    assert offsets("both") == [4, 5, 6, 7, 8]
    age("both", 6, hours=1)
    assert run_task("prune_streams").counts == {"messages": 3}
    assert offsets("both") == [7, 8]


def test_topics_without_retention_are_untouched():
    streams.create_topic("forever")
    streams.create_topic("recent", retention_seconds=3600, retention_messages=100)
    publish("forever", 5)
    publish("recent", 5)
    age("forever", 5, hours=24 * 365)
    result = run_task("prune_streams")
    assert (result.counts, result.summary) == ({"messages": 0}, "deleted 0 messages")
    assert offsets("forever") == offsets("recent") == [1, 2, 3, 4, 5]


def test_the_next_publish_continues_the_offsets():
    streams.create_topic("log", retention_messages=2)
    publish("log", 6)
    run_task("prune_streams")
    assert offsets("log") == [5, 6]
    assert streams.publish("log", "next") == 7
    assert Partition.objects.get(topic_id="log", number=0).next_offset == 8
    run_task("prune_streams")
    assert offsets("log") == [6, 7]


def test_a_group_behind_the_kept_range_reads_from_the_oldest_kept_message():
    streams.create_topic("orders", retention_messages=3)
    publish("orders", 8)
    streams.commit("slow", "orders", 0, 2)
    streams.commit("fast", "orders", 0, 7)
    run_task("prune_streams")
    assert offsets("orders") == [6, 7, 8]
    # Committed offsets are not touched.
    assert dict(ConsumerOffset.objects.values_list("group", "offset")) == {"slow": 2, "fast": 7}
    assert [m.offset for m in streams.fetch("slow", "orders", 0)] == [6, 7, 8]
    assert [m.offset for m in streams.fetch("fast", "orders", 0)] == [8]
    handled = []
    assert streams.poll("slow", "orders", lambda batch: handled.extend(batch)) == 3
    assert [m.data for m in handled] == [5, 6, 7]
    assert streams.committed("slow", "orders") == 8


def test_deletes_a_chunk_of_offsets_per_statement_without_loading_messages(chunk_of_3):
    streams.create_topic("big", retention_messages=1)
    publish("big", 11)
    with CaptureQueriesContext(connection) as ctx:
        result = run_task("prune_streams")
    assert result.counts == {"messages": 10}
    statements = [q["sql"] for q in ctx.captured_queries]
    deletes = [sql for sql in statements if sql.startswith('DELETE FROM "queueadmin_message" ')]
    assert len(deletes) == 4  # 3 + 3 + 3 + 1
    assert not any('"queueadmin_message"."data"' in sql for sql in statements)
    assert offsets("big") == [11]


def test_stops_at_the_time_limit_and_the_next_run_goes_on(chunk_of_3):
    streams.create_topic("big", retention_seconds=60)
    publish("big", 10)
    age("big", 10, hours=1)
    now = timezone.now()
    results = maintenance.run_due("tester", now, time_limit=0)
    assert results["prune_streams"].counts == {"messages": 3}  # one chunk, then out of time
    assert results["prune_streams"].summary == (
        "deleted 3 messages from 1 topic; stopped at the time limit, the next run goes on"
    )
    results = maintenance.run_due("tester", now + timedelta(seconds=60), time_limit=60)
    assert results["prune_streams"].counts == {"messages": 7}
    assert "time limit" not in results["prune_streams"].summary
    assert not Message.objects.exists()


def test_partitions_take_turns_so_one_backlog_does_not_hold_up_the_others(chunk_of_3):
    streams.create_topic("a-busy", partitions=2, retention_messages=1)
    streams.create_topic("b-quiet", retention_messages=1)
    publish("a-busy", 20, partition=0)
    publish("a-busy", 4, partition=1)
    publish("b-quiet", 4)
    run = TaskRun(name="prune_streams", worker_id="tester", now=timezone.now())
    checks = []
    run.out_of_time = lambda: checks.append(1) or len(checks) >= 3  # three chunks' time
    result = prune_streams.run(run)
    assert result.counts == {"messages": 9}
    assert "time limit" in result.summary
    assert offsets("a-busy", 0)[0] == 4  # one chunk each
    assert offsets("a-busy", 1) == offsets("b-quiet") == [4]


def test_the_task_is_listed_and_run_by_queue_maintenance():
    assert maintenance.TASKS["prune_streams"].interval == 60.0
    streams.create_topic("events", retention_messages=2)
    publish("events", 5)
    out = StringIO()
    call_command("queue_maintenance", stdout=out)
    lines = out.getvalue().splitlines()
    line = next(line for line in lines if line.startswith("prune_streams:"))
    assert line.startswith("prune_streams: deleted 3 messages from 1 topic (")
    assert offsets("events") == [4, 5]


def test_the_interval_follows_its_setting(settings):
    settings.QUEUEADMIN = {**settings.QUEUEADMIN, "STREAM_RETENTION_INTERVAL": 300}
    t0 = timezone.now()
    assert "prune_streams" in maintenance.run_due("w", t0)
    assert "prune_streams" not in maintenance.run_due("w", t0 + timedelta(seconds=299))
    assert "prune_streams" in maintenance.run_due("w", t0 + timedelta(seconds=300))
