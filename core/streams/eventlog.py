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
from core.streams.delivery import message_json

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
    """The JSON line of an event: its offset, writer, type, data and creation time;
    bytes data is given in base64, with ``"encoding": "base64"``."""
    line = message_json(message)  # the push body's shape, its key being the writer
    return {"offset": line.pop("offset"), "reader": line.pop("key"), **line}


def push(topic: str, partition: int, reader: str, data: Any, type: str | None = None) -> dict:
    """Publish ``data`` (JSON, or bytes) written by ``reader``, of type ``type``; a
    topic that does not exist yet is created with ``partition + 1`` partitions.

    All in one transaction, so a refused push leaves no topic behind.
    """
    with transaction.atomic():
        offset = topics.publish(topic, data, key=reader, partition=partition, type=type)
    return {"topic": topic, "partition": partition, "offset": offset}


def _wanted(message: Message, omit: Collection[str], types: Collection[str] | None) -> bool:
    return message.key not in omit and (types is None or message.type in types)


def events(
    topic: str,
    partition: int,
    since: int,
    limit: int = DEFAULT_LIMIT,
    *,
    omit: Collection[str] = (),
    types: Collection[str] | None = None,
) -> list[dict]:
    """Up to ``limit`` events with offsets after ``since``, oldest first, leaving out
    those written by a reader in ``omit`` and (with ``types``) those of other types;
    no cursor moves."""
    found: list[dict] = []
    after = since
    while len(found) < limit:
        batch = topics.read(topic, partition, after=after, limit=limit, type=types)
        found += [event(m) for m in batch if _wanted(m, omit, types)]
        if len(batch) < limit:
            break
        after = batch[-1].offset
    return found[:limit]


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
    types: Collection[str] | None = None,
    poll: float = 1.0,
    once: bool = False,
    batch_size: int = DEFAULT_LIMIT,
    stop: threading.Event | None = None,
) -> int:
    """Hand each event after the reader's cursor to ``emit``, moving the cursor
    after each batch; return how many events were emitted.

    Events written by a reader in ``omit``, and (with ``types``) events of
    other types, are skipped, the cursor still moving past them. With
    ``once`` it stops when it has caught up with the end offset seen at the
    start; otherwise it polls every ``poll`` seconds until ``stop`` is set.
    If ``emit`` raises, the cursor is moved past the events already emitted
    only, so the rest come again next time.
    """
    stop = stop or threading.Event()
    if types is not None:
        types = {topics.check_type(kind) for kind in types}
    position = topics.committed(reader, topic, partition)  # checks topic, partition, reader
    end = topics.end_offset(topic, partition)
    emitted = 0
    while not stop.is_set():
        batch = topics.read(topic, partition, after=position, limit=batch_size)
        done = position
        try:
            for message in batch:
                if _wanted(message, omit, types):
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
