"""Message types, bytes messages and partitions on first publish (issue 20 point 7),
through the Python API and the pusher's body."""

import base64
import json
from datetime import UTC, datetime

import pytest

from core import streams
from core.exceptions import InvalidStreamError
from core.models import Message, Partition, Topic
from core.streams import delivery

pytestmark = pytest.mark.django_db


# --- types ----------------------------------------------------------------------


def test_publish_stores_the_type_and_read_filters_on_it():
    streams.publish("orders", {"id": 1}, type="order.placed")
    streams.publish("orders", {"id": 2}, type="order.paid")
    streams.publish("orders", {"id": 3})
    streams.publish("orders", {"id": 4}, type="order.placed")
    assert [m.type for m in streams.read("orders")] == [
        "order.placed",
        "order.paid",
        None,
        "order.placed",
    ]
    assert [m.offset for m in streams.read("orders", type="order.placed")] == [1, 4]
    assert [m.offset for m in streams.read("orders", type=["order.paid", "order.placed"])] == [
        1,
        2,
        4,
    ]


def test_read_with_a_type_pages_by_offset_among_that_type():
    for n in range(6):
        streams.publish("t", n, type="even" if n % 2 == 0 else "odd")
    page = streams.read("t", type="even", limit=2)
    assert [m.data for m in page] == [0, 2]
    assert [m.data for m in streams.read("t", type="even", after=page[-1].offset)] == [4]


def test_publish_many_takes_a_type_per_message():
    placed = streams.publish_many("t", [{"data": 1, "type": "a:b/c-d_e"}, {"data": 2}])
    assert [p.offset for p in placed] == [1, 2]
    assert list(Message.objects.order_by("offset").values_list("type", flat=True)) == [
        "a:b/c-d_e",
        None,
    ]


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("", "must be a non-empty string"),
        ("x" * 101, "must be at most 100 characters"),
        ("has space", "may hold only letters, digits"),
        ("é", "may hold only letters, digits"),
        ("nul\x00", "may hold only letters, digits"),
        (7, "must be a non-empty string"),
    ],
)
def test_a_bad_type_is_refused_naming_the_field_and_writes_nothing(kind, problem):
    with pytest.raises(InvalidStreamError, match=f"^type: {problem}"):
        streams.publish("t", 1, type=kind)
    with pytest.raises(InvalidStreamError, match=rf"^messages\[1\]: type: {problem}"):
        streams.publish_many("t", [{"data": 1}, {"data": 2, "type": kind}])
    assert not Topic.objects.exists()
    assert not Message.objects.exists()


def test_a_type_of_100_characters_is_accepted():
    streams.publish("t", 1, type="x" * 100)
    assert streams.read("t")[0].type == "x" * 100


@pytest.mark.parametrize("kind", ["", "a b", [], ["ok", "no way"], b"bytes"])
def test_read_refuses_a_bad_type_filter(kind):
    streams.create_topic("t")
    with pytest.raises(InvalidStreamError, match=r"^type: "):
        streams.read("t", type=kind)


# --- bytes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", [b"\x00\x01\xff", bytearray(b"\x00\x01\xff"), memoryview(b"\x00\x01\xff")]
)
def test_bytes_are_stored_in_body_and_read_back_as_bytes(raw):
    streams.publish("blobs", raw, type="image/png")
    stored = Message.objects.get()
    assert stored.data is None
    assert bytes(stored.body) == b"\x00\x01\xff"
    (message,) = streams.read("blobs")
    assert type(message.data) is bytes
    assert type(message.body) is bytes
    assert message.data == message.body == b"\x00\x01\xff"
    assert message.type == "image/png"


def test_empty_bytes_and_json_messages_sit_side_by_side():
    streams.publish_many("t", [{"data": b""}, {"data": {"json": True}}, {"data": None}])
    assert [(m.data, m.body) for m in streams.read("t")] == [
        (b"", b""),
        ({"json": True}, None),
        (None, None),
    ]


def test_fetch_returns_bytes_too():
    streams.publish("t", b"\xde\xad")
    assert streams.fetch("g", "t")[0].data == b"\xde\xad"


def test_the_push_body_gives_bytes_in_base64_with_a_marker():
    streams.publish("t", b"\xde\xad\xbe\xef", key="k", type="blob")
    streams.publish("t", {"n": 1})
    sent = json.loads(delivery.body("t", 0, streams.read("t")))
    first, second = sent["messages"]
    assert first["encoding"] == "base64"
    assert base64.b64decode(first["data"]) == b"\xde\xad\xbe\xef"
    assert (first["key"], first["type"]) == ("k", "blob")
    assert "encoding" not in second
    assert (second["data"], second["type"]) == ({"n": 1}, None)


def test_the_push_body_takes_a_memoryview_body_as_postgresql_gives_it():
    message = Message(
        offset=1,
        key=None,
        type=None,
        data=None,
        body=memoryview(b"ab"),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert json.loads(delivery.body("t", 0, [message]))["messages"][0]["data"] == "YWI="


# --- partitions on first publish, and create_topic --------------------------------


def test_publishing_to_partition_n_of_a_new_topic_creates_n_plus_one_partitions():
    assert streams.publish("fresh", 1, partition=3) == 1
    assert Topic.objects.get(name="fresh").partitions == 4
    assert list(
        Partition.objects.filter(topic="fresh").order_by("number").values_list("number", flat=True)
    ) == [0, 1, 2, 3]
    assert [m.data for m in streams.read("fresh", 3)] == [1]


def test_publish_many_to_a_new_topic_takes_the_highest_partition_given():
    streams.publish_many("fresh", [{"data": 1, "partition": 1}, {"data": 2, "partition": 5}])
    assert Topic.objects.get(name="fresh").partitions == 6


def test_publishing_past_the_partitions_of_an_existing_topic_is_refused():
    streams.create_topic("t", partitions=2)
    with pytest.raises(InvalidStreamError, match=r"^partition: topic 't' has 2 partitions .*got 2"):
        streams.publish("t", 1, partition=2)
    assert Topic.objects.get(name="t").partitions == 2
    assert not Message.objects.exists()


def test_a_refused_publish_to_a_new_topic_leaves_no_topic():
    with pytest.raises(InvalidStreamError, match="partition"):
        streams.publish("fresh", 1, partition=streams.MAX_PARTITIONS)
    with pytest.raises(InvalidStreamError, match="data"):
        streams.publish("fresh", float("nan"), partition=2)
    assert not Topic.objects.exists()
    assert not Partition.objects.exists()


def test_create_topic_with_fewer_partitions_is_refused_and_changes_nothing():
    streams.create_topic("t", partitions=4, retention_seconds=60)
    with pytest.raises(InvalidStreamError, match=r"^partitions: topic 't' has 4 partitions"):
        streams.create_topic("t", partitions=2, retention_seconds=3600)
    topic = Topic.objects.get(name="t")
    assert (topic.partitions, topic.retention_seconds) == (4, 60)
    assert Partition.objects.filter(topic="t").count() == 4


def test_create_topic_with_as_many_or_more_partitions_keeps_or_grows_them():
    streams.create_topic("t", partitions=2)
    streams.create_topic("t", partitions=2, retention_messages=5)
    assert Topic.objects.get(name="t").retention_messages == 5
    streams.create_topic("t", partitions=3)
    assert Partition.objects.filter(topic="t").count() == 3
