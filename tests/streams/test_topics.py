"""core.streams: topics, dense offsets, consumer groups and their committed offsets."""

import threading

import pytest
from django.db import connection, connections

from core import streams
from core.exceptions import InvalidStreamError, TopicNotFound
from core.models import ConsumerOffset, Message, Partition, Topic

pytestmark = pytest.mark.django_db


def offsets(messages):
    return [m.offset for m in messages]


def test_publish_returns_dense_offsets_from_one():
    assert [streams.publish("t", {"n": n}) for n in range(3)] == [1, 2, 3]
    assert streams.end_offset("t") == 3


def test_publish_creates_the_topic_with_one_partition():
    streams.publish("new", 1)
    assert Topic.objects.get(name="new").partitions == 1
    assert Partition.objects.filter(topic_id="new").count() == 1


def test_a_key_always_goes_to_the_same_partition():
    streams.create_topic("orders", partitions=8)
    expected = streams.partition_for("customer-42", 8)
    for n in range(5):
        streams.publish("orders", n, key="customer-42")
    partitions = set(Message.objects.filter(topic_id="orders").values_list("partition", flat=True))
    assert partitions == {expected}


def test_the_key_hash_is_stable_across_processes():
    # CRC-32 of the key's UTF-8 bytes (zlib.crc32(b"customer-42") % 8), not Python's
    # hash(), which is salted per process.
    assert streams.partition_for("customer-42", 8) == 5


def test_offsets_are_per_partition():
    streams.create_topic("t", partitions=2)
    assert streams.publish("t", "a", partition=0) == 1
    assert streams.publish("t", "b", partition=1) == 1
    assert streams.publish("t", "c", partition=0) == 2


def test_publish_many_keeps_order_and_reports_each_place():
    streams.create_topic("t", partitions=2)
    placed = streams.publish_many(
        "t", [{"data": 1, "partition": 0}, {"data": 2, "partition": 1}, {"data": 3, "partition": 0}]
    )
    assert [(p.partition, p.offset) for p in placed] == [(0, 1), (1, 1), (0, 2)]
    assert [m.data for m in streams.read("t", 0)] == [1, 3]


def test_publish_many_writes_nothing_when_one_message_is_invalid():
    with pytest.raises(InvalidStreamError, match=r"messages\[1\]"):
        streams.publish_many("t", [{"data": 1}, {"data": object()}])
    assert not Message.objects.exists()
    assert not Topic.objects.filter(name="t").exists()  # nor the topic it would create


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: streams.publish("", 1), "topic"),
        (lambda: streams.publish("t", 1, key=""), "key"),
        (lambda: streams.publish("t", 1, partition=1), "partition"),
        (lambda: streams.publish("t", 1, partition=-1), "partition"),
        (lambda: streams.publish("t", float("nan")), "data"),
        (lambda: streams.publish("t", {"text": "nul\x00"}), "NUL"),
        (lambda: streams.create_topic("t", partitions=0), "partitions"),
        (lambda: streams.create_topic("t", retention_seconds=-1), "retention_seconds"),
        (lambda: streams.fetch("", "t"), "group"),
        (lambda: streams.fetch("g", "t", max_messages=0), "limit"),
        (lambda: streams.commit("g", "t", 0, 5), "past the end"),
        (lambda: streams.commit("g", "t", 0, -1), "offset"),
    ],
)
def test_bad_input_is_refused_naming_the_field(call, field):
    streams.create_topic("t")
    with pytest.raises(InvalidStreamError, match=field):
        call()
    assert not ConsumerOffset.objects.exists()


def test_an_unknown_topic_is_reported():
    with pytest.raises(TopicNotFound):
        streams.fetch("g", "nope")


def test_any_topic_name_is_safe():
    name = "x'; DROP TABLE queueadmin_message; --"
    streams.publish(name, {"ok": True})
    assert streams.read(name)[0].data == {"ok": True}
    assert Message.objects.count() == 1


def test_fetch_returns_messages_after_the_committed_offset():
    for n in range(5):
        streams.publish("t", n)
    assert offsets(streams.fetch("g", "t", 0, max_messages=2)) == [1, 2]
    streams.commit("g", "t", 0, 2)
    assert offsets(streams.fetch("g", "t", 0)) == [3, 4, 5]
    assert streams.committed("g", "t", 0) == 2


def test_a_consumer_that_crashes_before_committing_gets_the_same_messages_again():
    for n in range(3):
        streams.publish("t", n)
    first = streams.fetch("g", "t")
    # ... the consumer dies here, before commit ...
    again = streams.fetch("g", "t")
    assert offsets(again) == offsets(first) == [1, 2, 3]


def test_two_groups_read_independently():
    for n in range(4):
        streams.publish("t", n)
    streams.commit("billing", "t", 0, 3)
    assert offsets(streams.fetch("billing", "t")) == [4]
    assert offsets(streams.fetch("audit", "t")) == [1, 2, 3, 4]


def test_a_group_can_be_moved_back_to_replay():
    for n in range(3):
        streams.publish("t", n)
    streams.commit("g", "t", 0, 3)
    streams.commit("g", "t", 0, 0)
    assert offsets(streams.fetch("g", "t")) == [1, 2, 3]


def test_poll_commits_only_after_the_handler_returns():
    for n in range(3):
        streams.publish("t", n)
    seen = []
    assert streams.poll("g", "t", lambda batch: seen.extend(m.data for m in batch)) == 3
    assert (seen, streams.committed("g", "t")) == ([0, 1, 2], 3)
    streams.publish("t", 3)

    def crash(batch):
        raise RuntimeError("handler died")

    with pytest.raises(RuntimeError):
        streams.poll("g", "t", crash)
    assert streams.committed("g", "t") == 3
    assert offsets(streams.fetch("g", "t")) == [4]


def test_poll_reads_every_partition():
    streams.create_topic("t", partitions=3)
    for number in range(3):
        streams.publish("t", number, partition=number)
    seen = []
    assert streams.poll("g", "t", lambda batch: seen.extend(m.data for m in batch)) == 3
    assert sorted(seen) == [0, 1, 2]


def test_growing_a_topic_adds_partitions_and_keeps_offsets():
    streams.publish("t", 1)
    streams.create_topic("t", partitions=3)
    assert Partition.objects.filter(topic_id="t").count() == 3
    assert streams.publish("t", 2, partition=0) == 2


@pytest.mark.django_db(transaction=True)
def test_offsets_stay_dense_under_concurrent_publishers():
    if connection.vendor != "postgresql":
        pytest.skip("threads racing for one partition: PostgreSQL (SQLite serialises writers)")
    streams.create_topic("race")
    threads, per_thread, errors = 6, 40, []

    def publisher(worker):
        try:
            for n in range(per_thread):
                streams.publish("race", {"worker": worker, "n": n})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    running = [threading.Thread(target=publisher, args=(w,)) for w in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    assert errors == []
    got = sorted(Message.objects.filter(topic_id="race").values_list("offset", flat=True))
    assert got == list(range(1, threads * per_thread + 1))
    assert streams.end_offset("race") == threads * per_thread


@pytest.mark.django_db(transaction=True)
def test_concurrent_publish_many_batches_stay_dense_and_contiguous():
    if connection.vendor != "postgresql":
        pytest.skip("threads racing for one partition: PostgreSQL (SQLite serialises writers)")
    streams.create_topic("race")
    errors = []

    def publisher(worker):
        try:
            for batch in range(10):
                streams.publish_many(
                    "race", [{"data": {"w": worker, "b": batch, "i": i}} for i in range(5)]
                )
        except Exception as exc:  # pragma: no cover
            errors.append(exc)
        finally:
            connections.close_all()

    running = [threading.Thread(target=publisher, args=(w,)) for w in range(4)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    assert errors == []
    rows = list(Message.objects.filter(topic_id="race").order_by("offset").values("offset", "data"))
    assert [r["offset"] for r in rows] == list(range(1, 201))
    # Each batch got five consecutive offsets, in its own order.
    for start in range(0, 200, 5):
        batch = [r["data"] for r in rows[start : start + 5]]
        assert {(d["w"], d["b"]) for d in batch} == {(batch[0]["w"], batch[0]["b"])}
        assert [d["i"] for d in batch] == [0, 1, 2, 3, 4]
