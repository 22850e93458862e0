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
import re
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
#: Longest message type.
MAX_TYPE_LENGTH = 100
#: What a message type may hold: letters, digits and ``._:-/``.
TYPE_PATTERN = re.compile(r"[A-Za-z0-9._:/-]+")
#: Data published as bytes, stored in ``Message.body``.
BYTES_TYPES = (bytes, bytearray, memoryview)

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
    ``partitions`` and its retention set). Partitions are never removed: fewer
    ``partitions`` than an existing topic has is an error that changes nothing."""
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
            if partitions < topic.partitions:
                raise InvalidStreamError(
                    f"partitions: topic {name!r} has {topic.partitions} partitions and "
                    f"partitions are never removed; give {topic.partitions} or more, "
                    f"got {partitions}"
                )
            topic.partitions = partitions
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


def _topic_for_publish(name: str, partitions: int) -> Topic:
    """The topic, created with ``partitions`` partitions on first publish (in the
    caller's transaction, so a publish that fails leaves no new topic behind). An
    existing topic is returned as it is, also one another publisher just created."""
    topic = Topic.objects.filter(name=name).first()
    if topic is None:
        try:
            with transaction.atomic():
                topic = Topic.objects.create(name=name, partitions=partitions)
                Partition.objects.bulk_create(
                    [Partition(topic=topic, number=n) for n in range(partitions)],
                    ignore_conflicts=True,
                )
        except IntegrityError:  # another publisher created it meanwhile
            topic = get_topic(name)
    return topic


def check_type(value: Any, field: str = "type") -> str:
    """A message type: 1 to MAX_TYPE_LENGTH letters, digits and ``._:-/``."""
    if not isinstance(value, str) or not value:
        raise check.fail(field, f"must be a non-empty string, got {value!r}")
    if len(value) > MAX_TYPE_LENGTH:
        raise check.fail(field, f"must be at most {MAX_TYPE_LENGTH} characters")
    if not TYPE_PATTERN.fullmatch(value):
        raise check.fail(
            field, f"may hold only letters, digits and the characters ._:-/, got {value!r}"
        )
    return value


def _types(value: Any) -> list[str] | None:
    """The types a read is filtered on: None (all), one type or a list of them."""
    if value is None:
        return None
    if isinstance(value, str):
        return [check_type(value)]
    if not isinstance(value, Iterable) or isinstance(value, (*BYTES_TYPES, Mapping)):
        raise check.fail("type", f"must be a type or a list of types, got {value!r}")
    types = [check_type(item) for item in value]
    if not types:
        raise check.fail("type", "must name at least one type")
    return types


def _payload(value: Any) -> tuple[Any, bytes | None]:
    """``(data, body)`` of a message: bytes go to ``body``, anything else is JSON."""
    if isinstance(value, BYTES_TYPES):
        return None, bytes(value)
    return check.json("data", value), None


def _loaded(messages: list[Message]) -> list[Message]:
    """Bytes messages as read back: ``body`` as bytes (PostgreSQL gives a memoryview)
    and ``data`` the same bytes, as published."""
    for message in messages:
        if message.body is not None:
            message.body = bytes(message.body)
            message.data = message.body
    return messages


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
    optional ``key``, ``partition`` and ``type``. ``data`` is JSON, or ``bytes``
    (``bytearray``, ``memoryview``), stored as they are. Returns where each went,
    in order.

    Every message is checked before anything is written; a topic that does not
    exist yet is created with the messages, not without them, with one
    partition more than the highest ``partition`` given (one without any).
    """
    name = check.text("topic", topic)
    if isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Iterable):
        raise InvalidStreamError(f"messages: must be a list of mappings, got {messages!r}")
    checked = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping) or "data" not in message:
            raise InvalidStreamError(f"messages[{index}]: must be a mapping with data")
        unknown = sorted(set(message) - {"data", "key", "partition", "type"}, key=repr)
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
            kind = message.get("type")
            if kind is not None:
                kind = check_type(kind)
            data, body = _payload(message["data"])
        except InvalidStreamError as exc:
            raise InvalidStreamError(f"messages[{index}]: {exc}") from None
        checked.append((key, number, kind, data, body))
    if not checked:
        return []
    existing = Topic.objects.filter(name=name).first()
    numbers = [number for _, number, *_ in checked if number is not None]
    if existing is not None:
        for number in numbers:
            if number >= existing.partitions:
                raise InvalidStreamError(
                    f"partition: topic {name!r} has {existing.partitions} partition"
                    f"{'s' if existing.partitions != 1 else ''} (0 to "
                    f"{existing.partitions - 1}), got {number}; grow it with create_topic"
                )
    driver = get_driver()
    with transaction.atomic():
        row = existing or _topic_for_publish(name, max(numbers, default=0) + 1)
        items = [(_partition(row, key, number), key, *rest) for key, number, *rest in checked]
        counts: dict[int, int] = {}
        for number, *_ in items:
            counts[number] = counts.get(number, 0) + 1
        # Partitions in order, so publishers to several never deadlock.
        next_offset = {
            number: driver.reserve_offsets(row.name, number, counts[number])
            for number in sorted(counts)
        }
        published, rows = [], []
        for number, key, kind, data, body in items:
            offset = next_offset[number]
            next_offset[number] += 1
            published.append(Published(number, offset))
            rows.append(
                Message(
                    topic=row,
                    partition=number,
                    offset=offset,
                    key=key,
                    type=kind,
                    data=data,
                    body=body,
                )
            )
        Message.objects.bulk_create(rows, batch_size=1000)
    return published


def publish(
    topic: str,
    data: Any,
    *,
    key: str | None = None,
    partition: int | None = None,
    type: str | None = None,
) -> int:
    """Publish one message (JSON, or bytes); return its offset. A key always goes to
    the same partition; ``type`` (letters, digits, ``._:-/``) is for readers to filter on."""
    message = {"data": data, "key": key, "partition": partition, "type": type}
    try:
        return publish_many(topic, [message])[0].offset
    except InvalidStreamError as exc:  # "messages[0]: key: …" is "key: …" here
        raise InvalidStreamError(str(exc).removeprefix("messages[0]: ")) from None


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


def read(
    topic: str,
    partition: int = 0,
    *,
    after: int = 0,
    limit: int = 100,
    type: str | Iterable[str] | None = None,
) -> list[Message]:
    """Messages of a partition with offsets after ``after``, oldest first; with
    ``type`` (one type or a list) only messages of those types. A bytes message
    has its bytes in ``data`` (and ``body``)."""
    row = get_topic(topic)
    number = _check_partition(row, partition)
    after = check.integer("after", after, 0, MAX_BIGINT)
    limit = check.integer("limit", limit, 1, MAX_FETCH)
    types = _types(type)
    rows = Message.objects.filter(topic=row, partition=number, offset__gt=after)
    if types is not None:
        rows = rows.filter(type__in=types)
    return _loaded(list(rows.order_by("offset")[:limit]))


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
