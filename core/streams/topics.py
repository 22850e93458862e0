"""Streams: publish to topics, read them as consumer groups with committed offsets.

A topic has one or more partitions; each message gets the next offset of its
partition (1, 2, 3, …, dense, also under concurrent publishers). A consumer
group reads a partition after its committed offset and commits the last
offset it processed, so a consumer that crashes before committing reads the
same messages again (at least once), and groups never disturb each other.

    from core import streams

    streams.publish("orders", {"id": 7}, key="customer-42")   # -> offset
    for message in streams.fetch("billing", "orders", 0):
        handle(message.data)
        streams.commit("billing", "orders", 0, message.offset)
    streams.poll("billing", "orders", handle_batch)          # fetch, handle, commit
"""

import random
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from core.drivers import get_driver
from core.exceptions import InvalidStreamError, TopicNotFound
from core.models import ConsumerOffset, Message, Partition, Topic
from core.validation import MAX_BIGINT, Checks, text_problem

#: Most partitions a topic may have.
MAX_PARTITIONS = 1024
#: Most messages one fetch returns.
MAX_FETCH = 10_000

check = Checks(InvalidStreamError)


@dataclass(frozen=True)
class Published:
    """Where a published message went."""

    partition: int
    offset: int


def create_topic(
    name: str,
    *,
    partitions: int = 1,
    retention_seconds: float | None = None,
    retention_messages: int | None = None,
) -> Topic:
    """Create a topic (or return the existing one, with its partitions grown to
    ``partitions`` and its retention set). Partitions are never removed."""
    name = check.text("topic", name)
    partitions = check.integer("partitions", partitions, 1, MAX_PARTITIONS)
    if retention_seconds is not None:
        retention_seconds = check.seconds("retention_seconds", retention_seconds, positive=True)
    if retention_messages is not None:
        retention_messages = check.integer("retention_messages", retention_messages, 1, MAX_BIGINT)
    with transaction.atomic():
        topic, created = Topic.objects.get_or_create(
            name=name,
            defaults={
                "partitions": partitions,
                "retention_seconds": retention_seconds,
                "retention_messages": retention_messages,
            },
        )
        if not created:
            topic.partitions = max(topic.partitions, partitions)
            topic.retention_seconds = retention_seconds
            topic.retention_messages = retention_messages
            topic.save()
        Partition.objects.bulk_create(
            [Partition(topic=topic, number=n) for n in range(topic.partitions)],
            ignore_conflicts=True,
        )
    return topic


def get_topic(name: str) -> Topic:
    """The topic with this name, or TopicNotFound (also for a name no topic can have)."""
    storable = isinstance(name, str) and not text_problem(name)
    topic = Topic.objects.filter(name=name).first() if storable else None
    if topic is None:
        raise TopicNotFound(f"no topic named {name!r}")
    return topic


def delete_topic(name: str) -> None:
    """Delete a topic with its messages, partitions, offsets and subscriptions."""
    get_topic(name).delete()


def _topic_for_publish(name: str) -> Topic:
    """The topic, created with one partition on first publish (in the caller's
    transaction, so a publish that fails leaves no new topic behind)."""
    topic = Topic.objects.filter(name=name).first()
    if topic is None:
        try:
            topic = create_topic(name)
        except IntegrityError:  # another publisher created it meanwhile
            topic = get_topic(name)
    return topic


def partition_for(key: str, partitions: int) -> int:
    """The partition a key goes to: stable across processes and restarts."""
    return zlib.crc32(key.encode()) % partitions


def _partition(topic: Topic, key: Any, partition: Any) -> int:
    if partition is not None:
        return check.integer("partition", partition, 0, topic.partitions - 1)
    if key is not None:
        return partition_for(key, topic.partitions)
    return 0 if topic.partitions == 1 else random.randrange(topic.partitions)


def publish_many(topic: str, messages: Iterable[Mapping[str, Any]]) -> list[Published]:
    """Publish several messages in one transaction; each a mapping with ``data`` and
    optional ``key`` and ``partition``. Returns where each went, in order.

    Every message is checked before anything is written; a topic that does not
    exist yet is created (one partition) with the messages, not without them.
    """
    name = check.text("topic", topic)
    if isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Iterable):
        raise InvalidStreamError(f"messages: must be a list of mappings, got {messages!r}")
    checked = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping) or "data" not in message:
            raise InvalidStreamError(f"messages[{index}]: must be a mapping with data")
        unknown = sorted(set(message) - {"data", "key", "partition"}, key=repr)
        if unknown:
            raise InvalidStreamError(
                f"messages[{index}]: unknown field {', '.join(map(str, unknown))}"
            )
        try:
            key = message.get("key")
            if key is not None:
                key = check.text("key", key, 255)
            number = message.get("partition")
            if number is not None:
                number = check.integer("partition", number, 0, MAX_PARTITIONS - 1)
            data = check.json("data", message["data"])
        except InvalidStreamError as exc:
            raise InvalidStreamError(f"messages[{index}]: {exc}") from None
        checked.append((key, number, data))
    if not checked:
        return []
    existing = Topic.objects.filter(name=name).first()
    partitions = 1 if existing is None else existing.partitions
    for _, number, _ in checked:  # a missing topic gets one partition
        if number is not None:
            check.integer("partition", number, 0, partitions - 1)
    driver = get_driver()
    with transaction.atomic():
        row = existing or _topic_for_publish(name)
        items = [(_partition(row, key, number), key, data) for key, number, data in checked]
        counts: dict[int, int] = {}
        for number, _, _ in items:
            counts[number] = counts.get(number, 0) + 1
        # Partitions in order, so publishers to several never deadlock.
        next_offset = {
            number: driver.reserve_offsets(row.name, number, counts[number])
            for number in sorted(counts)
        }
        published, rows = [], []
        for number, key, data in items:
            offset = next_offset[number]
            next_offset[number] += 1
            published.append(Published(number, offset))
            rows.append(Message(topic=row, partition=number, offset=offset, key=key, data=data))
        Message.objects.bulk_create(rows, batch_size=1000)
    return published


def publish(topic: str, data: Any, *, key: str | None = None, partition: int | None = None) -> int:
    """Publish one message; return its offset. A key always goes to the same partition."""
    message = {"data": data, "key": key, "partition": partition}
    return publish_many(topic, [message])[0].offset


def _check_partition(topic: Topic, partition: Any) -> int:
    return check.integer("partition", partition, 0, topic.partitions - 1)


def committed(group: str, topic: str, partition: int = 0) -> int:
    """The group's committed offset in the partition (0: nothing committed)."""
    row = get_topic(topic)
    value = (
        ConsumerOffset.objects.filter(
            group=check.text("group", group), topic=row, partition=_check_partition(row, partition)
        )
        .values_list("offset", flat=True)
        .first()
    )
    return value or 0


def end_offset(topic: str, partition: int = 0) -> int:
    """The offset of the partition's last message (0 when empty)."""
    row = get_topic(topic)
    return Partition.objects.get(topic=row, number=_check_partition(row, partition)).next_offset - 1


def read(topic: str, partition: int = 0, *, after: int = 0, limit: int = 100) -> list[Message]:
    """Messages of a partition with offsets after ``after``, oldest first."""
    row = get_topic(topic)
    number = _check_partition(row, partition)
    after = check.integer("after", after, 0, MAX_BIGINT)
    limit = check.integer("limit", limit, 1, MAX_FETCH)
    return list(
        Message.objects.filter(topic=row, partition=number, offset__gt=after).order_by("offset")[
            :limit
        ]
    )


def fetch(group: str, topic: str, partition: int = 0, max_messages: int = 100) -> list[Message]:
    """The next messages for the group: those after its committed offset."""
    return read(topic, partition, after=committed(group, topic, partition), limit=max_messages)


def commit(group: str, topic: str, partition: int, offset: int) -> None:
    """Record that the group processed the partition up to ``offset`` (inclusive).

    Any offset from 0 (read everything again) to the partition's end is
    accepted, so a group can also be moved back.
    """
    group = check.text("group", group)
    row = get_topic(topic)
    number = _check_partition(row, partition)
    end = end_offset(topic, number)
    offset = check.integer("offset", offset, 0)
    if offset > end:
        raise InvalidStreamError(
            f"offset: {offset} is past the end of {row.name}[{number}] (last offset {end})"
        )
    ConsumerOffset.objects.update_or_create(
        group=group, topic=row, partition=number, defaults={"offset": offset}
    )


def poll(
    group: str,
    topic: str,
    handler: Callable[[list[Message]], Any],
    *,
    partition: int | None = None,
    max_messages: int = 100,
) -> int:
    """Fetch the group's next messages, hand them to ``handler``, then commit them.

    For at-least-once consumers: the commit happens only after the handler
    returns, so if it raises (or the process dies) the same messages come
    again. With ``partition`` None every partition is polled in turn.
    Returns how many messages were handled.
    """
    row = get_topic(topic)
    numbers = range(row.partitions) if partition is None else [_check_partition(row, partition)]
    handled = 0
    for number in numbers:
        messages = fetch(group, row.name, number, max_messages)
        if not messages:
            continue
        handler(messages)
        commit(group, row.name, number, messages[-1].offset)
        handled += len(messages)
    return handled
