"""The logic behind ``manage.py stream``: an event log on a stream topic.

Events are messages of one partition of a topic ("events", partition 0 by
default). The reader who wrote an event is its message key; a reader's
cursor is the committed offset of the consumer group of the same name, so
``watch`` resumes where the reader left off and never disturbs other readers.

Every function raises :class:`core.exceptions.InvalidStreamError` or
:class:`core.exceptions.TopicNotFound` on bad input, having written nothing.
"""

import json
import threading
from collections.abc import Callable, Collection
from typing import Any

from django.db import transaction

from core.exceptions import InvalidStreamError
from core.models import Message
from core.streams import topics

DEFAULT_TOPIC = "events"
DEFAULT_LIMIT = 100


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def parse_data(text: str, source: str) -> Any:
    """The JSON value in ``text``; ``source`` says where it came from in errors
    (say ``--data`` or ``stdin``)."""
    if not text.strip():
        raise InvalidStreamError(f"invalid JSON in {source}: empty input")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidStreamError(f"invalid JSON in {source}: {exc}") from None
    except ValueError as exc:
        raise InvalidStreamError(f"invalid JSON in {source}: {exc}") from None
    except RecursionError:
        raise InvalidStreamError(f"invalid JSON in {source}: nested too deeply") from None


def event(message: Message) -> dict:
    """The JSON line of an event: its offset, writer, data and creation time."""
    return {
        "offset": message.offset,
        "reader": message.key,
        "data": message.data,
        "created": message.created_at.isoformat(),
    }


def push(topic: str, partition: int, reader: str, data: Any) -> dict:
    """Publish ``data`` written by ``reader``; the topic is created on first push.

    All in one transaction, so a refused push (say, a partition the new
    topic lacks) does not leave the topic behind.
    """
    with transaction.atomic():
        offset = topics.publish(topic, data, key=reader, partition=partition)
    return {"topic": topic, "partition": partition, "offset": offset}


def events(topic: str, partition: int, since: int, limit: int = DEFAULT_LIMIT) -> list[dict]:
    """Events with offsets after ``since``, oldest first; no cursor moves."""
    return [event(m) for m in topics.read(topic, partition, after=since, limit=limit)]


def cursor(topic: str, partition: int, reader: str) -> dict:
    """The reader's cursor (the last offset it has seen, 0: none) and the end offset."""
    offset = topics.committed(reader, topic, partition)
    return {"reader": reader, "offset": offset, "end": topics.end_offset(topic, partition)}


def set_cursor(topic: str, partition: int, reader: str, offset: int) -> dict:
    """Move the reader's cursor to ``offset`` (0 to the end offset, back or forth)."""
    topics.commit(reader, topic, partition, offset)
    return cursor(topic, partition, reader)


def watch(
    topic: str,
    partition: int,
    reader: str,
    emit: Callable[[dict], Any],
    *,
    omit: Collection[str] = (),
    poll: float = 1.0,
    once: bool = False,
    batch_size: int = DEFAULT_LIMIT,
    stop: threading.Event | None = None,
) -> int:
    """Hand each event after the reader's cursor to ``emit``, moving the cursor
    after each batch; return how many events were emitted.

    Events written by a reader in ``omit`` are skipped, the cursor still
    moving past them. With ``once`` it stops when it has caught up with the
    end offset seen at the start; otherwise it polls every ``poll`` seconds
    until ``stop`` is set. If ``emit`` raises, the cursor is moved past the
    events already emitted only, so the rest come again next time.
    """
    stop = stop or threading.Event()
    position = topics.committed(reader, topic, partition)  # checks topic, partition, reader
    end = topics.end_offset(topic, partition)
    emitted = 0
    while not stop.is_set():
        batch = topics.read(topic, partition, after=position, limit=batch_size)
        done = position
        try:
            for message in batch:
                if message.key not in omit:
                    emit(event(message))
                    emitted += 1
                done = message.offset
        finally:
            if done > position:
                topics.commit(reader, topic, partition, done)
                position = done
        if once:
            if not batch or position >= end:
                break
        elif len(batch) < batch_size:
            stop.wait(poll)
    return emitted
